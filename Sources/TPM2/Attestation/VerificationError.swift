/// Why a TPM signature, attestation or certificate chain did not verify (TPM 2.0 Part 2
/// §10.12 TPMS_ATTEST, §11.3.4 TPMT_SIGNATURE; Part 3 §18 Attestation Commands). Each case says
/// which check failed and carries the values that disagreed.
public enum TPMVerificationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A structure did not unmarshal (strict parsing, Part 2 wire format).
    case malformed(TPMMarshalError)
    /// TPMS_ATTEST.magic was not TPM_GENERATED_VALUE (Part 2 §6.2), so the TPM did not produce it.
    case badMagic(UInt32)
    /// The attestation is of another kind than the check expects (Part 2 §10.12.12 type).
    case wrongAttestationType(expected: TPMStructureTag, actual: TPMStructureTag)
    /// A signature scheme this library does not verify (ECDAA, SM2, ECSCHNORR, HMAC, NULL...).
    case unsupportedScheme(TPMAlgorithmID)
    /// A hash this library does not compute.
    case unsupportedHash(TPMAlgorithmID)
    /// An ECC curve swift-crypto has no verifier for.
    case unsupportedCurve(TPMECCCurve)
    /// An object type that cannot sign (keyed-hash, symmetric cipher).
    case unsupportedKeyType(TPMAlgorithmID)
    /// The signature's scheme needs another kind of key (an RSA scheme with an ECC key...).
    case wrongKeyType(scheme: TPMAlgorithmID, keyType: TPMAlgorithmID)
    /// The key's public area fixes a scheme and the signature used another (Part 2 §11.2.1.5).
    case schemeNotAllowedByKey(keyScheme: TPMAlgorithmID, keyHash: TPMAlgorithmID, scheme: TPMAlgorithmID, hash: TPMAlgorithmID)
    /// The key is not a restricted signing key (Part 2 §8.3.3.1), so it may have signed a forged
    /// TPMS_ATTEST.
    case notRestrictedSigningKey(attributes: UInt32)
    /// The public key bytes could not be turned into a key.
    case invalidPublicKey(String)
    /// A signature's components have the wrong size for the key.
    case malformedSignature(String)
    /// The signature does not verify over the message with the key.
    case signatureInvalid(scheme: TPMAlgorithmID, hash: TPMAlgorithmID)
    /// extraData is not the nonce the verifier issued.
    case nonceMismatch(expected: [UInt8], actual: [UInt8])
    /// No value was supplied for a PCR the quote selects.
    case missingPCRValue(bank: TPMAlgorithmID, index: Int)
    /// A supplied PCR value does not have the bank's digest size.
    case pcrValueSize(bank: TPMAlgorithmID, index: Int, size: Int, expected: Int)
    /// The quote's pcrDigest differs from the hash of the supplied PCR values.
    case pcrDigestMismatch(quoted: [UInt8], computed: [UInt8])
    /// A quoted PCR differs from the reference value the appraisal expects.
    case pcrValueMismatch(bank: TPMAlgorithmID, index: Int, expected: [UInt8], actual: [UInt8])
    /// The certified or created object's Name is not the Name of the public area given.
    case objectNameMismatch(expected: [UInt8], actual: [UInt8])
    /// creationHash is not H_nameAlg(TPMS_CREATION_DATA) (Part 3 §18.3).
    case creationHashMismatch(expected: [UInt8], actual: [UInt8])
    /// A certificate did not parse.
    case certificateMalformed(String)
    /// No certificate among the roots and intermediates issued and signed `subject`.
    case certificateIssuerNotFound(subject: String, issuer: String)
    /// A certificate is outside its validity period at the checked time.
    case certificateNotValidAtTime(subject: String)
    /// The chain grew past the length limit without reaching a root.
    case certificateChainTooLong(Int)

    public var description: String {
        switch self {
        case let .malformed(error):
            return "the structure is malformed: \(error)"
        case let .badMagic(magic):
            return "TPMS_ATTEST.magic is 0x\(String(magic, radix: 16)), not TPM_GENERATED_VALUE 0xff544347"
        case let .wrongAttestationType(expected, actual):
            return "the attestation has type \(actual) but \(expected) was expected"
        case let .unsupportedScheme(scheme):
            return "the signature scheme \(scheme) is not supported"
        case let .unsupportedHash(hash):
            return "the hash algorithm \(hash) is not supported"
        case let .unsupportedCurve(curve):
            return "the ECC curve \(curve) is not supported"
        case let .unsupportedKeyType(type):
            return "a \(type) object cannot verify signatures"
        case let .wrongKeyType(scheme, keyType):
            return "a \(scheme) signature cannot be verified with a \(keyType) key"
        case let .schemeNotAllowedByKey(keyScheme, keyHash, scheme, hash):
            return "the key only signs with \(keyScheme)/\(keyHash) but the signature uses \(scheme)/\(hash)"
        case let .notRestrictedSigningKey(attributes):
            return "the key (attributes 0x\(String(attributes, radix: 16))) is not a restricted signing key"
        case let .invalidPublicKey(reason):
            return "the public key is invalid: \(reason)"
        case let .malformedSignature(reason):
            return "the signature is malformed: \(reason)"
        case let .signatureInvalid(scheme, hash):
            return "the \(scheme)/\(hash) signature does not verify with the key"
        case let .nonceMismatch(expected, actual):
            return "extraData is \(hexDescription(actual)) but the nonce \(hexDescription(expected)) was expected"
        case let .missingPCRValue(bank, index):
            return "no value was supplied for PCR \(index) of the \(bank) bank"
        case let .pcrValueSize(bank, index, size, expected):
            return "PCR \(index) of the \(bank) bank has \(size) bytes; \(expected) were expected"
        case let .pcrDigestMismatch(quoted, computed):
            return "the quote's pcrDigest is \(hexDescription(quoted)) but the PCR values hash to \(hexDescription(computed))"
        case let .pcrValueMismatch(bank, index, expected, actual):
            return "PCR \(index) of the \(bank) bank is \(hexDescription(actual)) but \(hexDescription(expected)) was expected"
        case let .objectNameMismatch(expected, actual):
            return "the attested object Name is \(hexDescription(actual)) but the key's Name is \(hexDescription(expected))"
        case let .creationHashMismatch(expected, actual):
            return "creationHash is \(hexDescription(actual)) but the creation data hashes to \(hexDescription(expected))"
        case let .certificateMalformed(reason):
            return "the certificate is malformed: \(reason)"
        case let .certificateIssuerNotFound(subject, issuer):
            return "no trusted certificate named \"\(issuer)\" signed the certificate of \"\(subject)\""
        case let .certificateNotValidAtTime(subject):
            return "the certificate of \"\(subject)\" is not valid at the checked time"
        case let .certificateChainTooLong(limit):
            return "the certificate chain reached no root within \(limit) certificates"
        }
    }
}

/// Lower-case hex, "(empty)" for no bytes, for error messages.
func hexDescription(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    return bytes.isEmpty ? "(empty)" : String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] })
}
