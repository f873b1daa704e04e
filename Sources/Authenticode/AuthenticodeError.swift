/// Why a PE/COFF image could not be hashed, or its Authenticode signature could not be verified.
///
/// The cases separate three kinds of failure: the file is malformed (`truncated`, `invalidField`,
/// `invalidCertificateTable`, `malformedSignature`, `unsupportedAlgorithm`), the signed digests do
/// not match the data (`imageDigestMismatch`, `messageDigestMismatch`), or the cryptography or trust
/// does not hold (`signatureInvalid`, `signerCertificateMissing`, `untrusted`).
public enum AuthenticodeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A field runs past the end of the file.
    case truncated(field: String, offset: Int, needed: Int, available: Int)
    /// A header field has a value the PE/COFF specification does not allow.
    case invalidField(field: String, offset: Int, reason: String)
    /// The image has no attribute certificate table (Certificate Table data directory entry is empty).
    case notSigned
    /// The attribute certificate table or one of its WIN_CERTIFICATE entries is malformed.
    case invalidCertificateTable(offset: Int, reason: String)
    /// The PKCS#7 SignedData (RFC 5652 §5) of WIN_CERTIFICATE `signature` does not decode as Authenticode requires.
    case malformedSignature(signature: Int, reason: String)
    /// A digest or signature algorithm this library does not implement.
    case unsupportedAlgorithm(signature: Int, oid: String)
    /// The digest in SpcIndirectDataContent is not the Authenticode digest of the image.
    case imageDigestMismatch(signature: Int, algorithm: AuthenticodeHashAlgorithm, signed: [UInt8], computed: [UInt8])
    /// The messageDigest authenticated attribute (RFC 5652 §11.2) is not the hash of SpcIndirectDataContent.
    case messageDigestMismatch(signature: Int, signed: [UInt8], computed: [UInt8])
    /// The signer's signature over the authenticated attributes (RFC 5652 §5.4) does not verify.
    case signatureInvalid(signature: Int, signer: String)
    /// No certificate in the SignedData matches the SignerInfo's signer identifier (RFC 5652 §5.3).
    case signerCertificateMissing(signature: Int)
    /// No signature chains to any of the trust anchors, and no anchor is the image's hash.
    case untrusted(signature: Int, signer: String)

    public var description: String {
        switch self {
        case let .truncated(field, offset, needed, available):
            return "\(field) at byte offset \(offset) needs \(needed) bytes but only \(available) remain."
        case let .invalidField(field, offset, reason):
            return "\(field) at byte offset \(offset) is invalid: \(reason)."
        case .notSigned:
            return "The image has no attribute certificate table."
        case let .invalidCertificateTable(offset, reason):
            return "The attribute certificate table is invalid at byte offset \(offset): \(reason)."
        case let .malformedSignature(signature, reason):
            return "Signature \(signature) is malformed: \(reason)."
        case let .unsupportedAlgorithm(signature, oid):
            return "Signature \(signature) uses the unsupported algorithm \(oid)."
        case let .imageDigestMismatch(signature, algorithm, signed, computed):
            return "Signature \(signature) signs the \(algorithm) image digest \(hex(signed)), but the image hashes to \(hex(computed))."
        case let .messageDigestMismatch(signature, signed, computed):
            return "Signature \(signature): messageDigest \(hex(signed)) is not the hash of SpcIndirectDataContent \(hex(computed))."
        case let .signatureInvalid(signature, signer):
            return "Signature \(signature) by \(signer) does not verify."
        case let .signerCertificateMissing(signature):
            return "Signature \(signature) does not include its signer's certificate."
        case let .untrusted(signature, signer):
            return "Signature \(signature) by \(signer) does not chain to a trust anchor."
        }
    }
}

func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { byte in
        let digits = String(byte, radix: 16)
        return byte < 0x10 ? "0" + digits : digits
    }.joined()
}
