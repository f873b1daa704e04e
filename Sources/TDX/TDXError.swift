import EvidenceCore
import Foundation

/// Every way parsing, verifying or evaluating Intel TDX evidence can fail. Each case names the
/// field, offset, certificate or collateral document concerned, so that ``description`` is a
/// sentence a person can act on.
public enum TDXError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A structure ended before the named field could be read.
    case truncated(field: String, offset: Int, needed: Int, available: Int)
    /// A length field declares more bytes than remain.
    case sizeExceedsData(field: String, offset: Int, declared: Int, available: Int)
    /// A length field disagrees with the size the format fixes for its content.
    case sizeMismatch(field: String, offset: Int, declared: Int, expected: Int)
    /// Bytes that are neither part of the quote nor zero padding follow it.
    case trailingData(quoteEnd: Int, nonZeroOffset: Int)
    /// The quote header's VERSION is not 4 or 5.
    case unsupportedVersion(UInt16)
    /// The attestation key type is not 2 (ECDSA-256-with-P-256), the only one defined for TDX.
    case unsupportedAttestationKeyType(UInt16)
    /// The TEE type is not 0x81 (TDX); SGX quotes are out of scope.
    case unsupportedTEEType(UInt32)
    /// The QE vendor ID is not Intel's Quoting Enclave.
    case unknownQEVendor([UInt8])
    /// A version 5 quote body type is not 2 (TD report 1.0) or 3 (TD report 1.5).
    case unsupportedBodyType(UInt16, offset: Int)
    /// A certification data type is not the one this position of the quote requires.
    case unexpectedCertificationDataType(UInt16, offset: Int, expected: UInt16)
    /// A field the specification reserves holds a non-zero byte.
    case reservedFieldNotZero(field: String, offset: Int)
    /// A certificate or PEM text could not be decoded.
    case certificateMalformed(role: String, reason: String)
    /// A certificate of the chain is missing.
    case missingCertificate(role: String)
    /// A certificate is not the kind its position in the chain requires.
    case unexpectedCertificate(role: String, subject: String)
    /// A certificate's signature does not verify under its issuer's key.
    case certificateSignatureInvalid(subject: String, issuer: String)
    /// A certificate that issues others is not marked as a CA.
    case certificateNotCA(subject: String)
    /// A certificate is outside its validity period at the verification time.
    case certificateNotValidAtTime(subject: String, time: Date, notBefore: Date, notAfter: Date)
    /// The chain ends at a root that is not the trusted one.
    case untrustedRoot(subject: String)
    /// The PCK certificate's SGX extensions are missing or malformed.
    case pckExtensionInvalid(oid: String, reason: String)
    /// A public key is not an uncompressed ECDSA P-256 point.
    case keyInvalid(role: String)
    /// The quote's signature over header and body does not verify under the attestation key.
    case quoteSignatureInvalid
    /// The QE report's signature does not verify under the PCK certificate's key.
    case qeReportSignatureInvalid
    /// QE report REPORTDATA[0..<32] is not SHA-256(attestation key ‖ QE authentication data).
    case qeReportDataMismatch(expected: [UInt8], actual: [UInt8])
    /// QE report REPORTDATA[32..<64] holds a non-zero byte at this offset of REPORTDATA.
    case qeReportDataNotZeroPadded(offset: Int)
    /// A CRL could not be decoded as DER or PEM X.509 v2.
    case revocationListMalformed(reason: String)
    /// A CRL does not verify under the key of the CA it must come from.
    case revocationListSignatureInvalid(issuer: String, signer: String)
    /// A CRL is not current at the verification time.
    case revocationListNotValidAtTime(issuer: String, time: Date, thisUpdate: Date, nextUpdate: Date?)
    /// A certificate is listed by its issuer's CRL.
    case revoked(subject: String, serialNumber: String, issuer: String)
    /// A collateral document (TCB Info, QE Identity) is not valid JSON of the expected shape.
    case collateralMalformed(document: String, reason: String)
    /// A collateral document's signature does not verify under the TCB signing key.
    case collateralSignatureInvalid(document: String)
    /// A collateral document is not current at the verification time.
    case collateralNotValidAtTime(document: String, time: Date, issueDate: Date, nextUpdate: Date)
    /// A collateral document does not describe this quote's platform or enclave.
    case collateralMismatch(document: String, field: String, expected: String, actual: String)
    /// The TD report's TDX module does not match the TCB Info's TDX module identity.
    case tdxModuleMismatch(field: String, expected: String, actual: String)
    /// No TCB level of a collateral document applies to the quote's TCB.
    case tcbLevelNotFound(document: String, tcb: String)
    /// The QE report does not match the QE Identity's masks, signer or product.
    case qeIdentityMismatch(field: String, expected: String, actual: String)

    public var description: String {
        switch self {
        case .truncated(let field, let offset, let needed, let available):
            return "The quote ends at offset \(offset) (0x\(hex(offset))) before the end of \(field), which needs \(needed) bytes; \(available) remain."
        case .sizeExceedsData(let field, let offset, let declared, let available):
            return "The \(field) at offset \(offset) (0x\(hex(offset))) declares \(declared) bytes, more than the \(available) that remain."
        case .sizeMismatch(let field, let offset, let declared, let expected):
            return "The \(field) at offset \(offset) (0x\(hex(offset))) declares \(declared) bytes; the format requires \(expected)."
        case .trailingData(let quoteEnd, let nonZeroOffset):
            return "The quote ends at offset \(quoteEnd) (0x\(hex(quoteEnd))); the byte at offset \(nonZeroOffset) after it is not zero padding."
        case .unsupportedVersion(let version):
            return "The quote has version \(version); only TDX quote versions 4 and 5 are supported."
        case .unsupportedAttestationKeyType(let type):
            return "The attestation key type is \(type); only 2 (ECDSA-256-with-P-256) is defined."
        case .unsupportedTEEType(let type):
            return "The TEE type is 0x\(hex(type)); only 0x81 (TDX) is supported."
        case .unknownQEVendor(let vendor):
            return "The QE vendor ID \(hexString(vendor)) is not Intel's (939a7233f79c4ca9940a0db3957f0607)."
        case .unsupportedBodyType(let type, let offset):
            return "The quote body type at offset \(offset) is \(type); only 2 (TD report 1.0) and 3 (TD report 1.5) are TDX bodies."
        case .unexpectedCertificationDataType(let type, let offset, let expected):
            return "The certification data type at offset \(offset) (0x\(hex(offset))) is \(type); \(expected) is required here."
        case .reservedFieldNotZero(let field, let offset):
            return "The reserved field \(field) holds a non-zero byte at offset \(offset) (0x\(hex(offset)))."
        case .certificateMalformed(let role, let reason):
            return "The \(role) certificate cannot be decoded: \(reason)."
        case .missingCertificate(let role):
            return "The \(role) certificate is missing."
        case .unexpectedCertificate(let role, let subject):
            return "The certificate \"\(subject)\" is where the \(role) certificate must be."
        case .certificateSignatureInvalid(let subject, let issuer):
            return "The signature on certificate \"\(subject)\" does not verify under the key of \"\(issuer)\"."
        case .certificateNotCA(let subject):
            return "The certificate \"\(subject)\" issues others but its basic constraints do not make it a CA."
        case .certificateNotValidAtTime(let subject, let time, let notBefore, let notAfter):
            return "The certificate \"\(subject)\" is valid from \(iso(notBefore)) to \(iso(notAfter)), not at \(iso(time))."
        case .untrustedRoot(let subject):
            return "The chain ends at \"\(subject)\", which is not the trusted root."
        case .pckExtensionInvalid(let oid, let reason):
            return "The PCK certificate's SGX extension \(oid) is invalid: \(reason)."
        case .keyInvalid(let role):
            return "The \(role) is not a valid ECDSA P-256 public key."
        case .quoteSignatureInvalid:
            return "The quote signature over the header and TD report body does not verify under the attestation key."
        case .qeReportSignatureInvalid:
            return "The QE report signature does not verify under the PCK certificate's key."
        case .qeReportDataMismatch(let expected, let actual):
            return "The QE report binds \(hexString(actual)), not SHA-256(attestation key ‖ QE authentication data) = \(hexString(expected))."
        case .qeReportDataNotZeroPadded(let offset):
            return "QE report REPORTDATA byte \(offset) is not zero; bytes 32–63 must be zero."
        case .revocationListMalformed(let reason):
            return "The certificate revocation list cannot be decoded: \(reason)."
        case .revocationListSignatureInvalid(let issuer, let signer):
            return "The CRL issued by \"\(issuer)\" does not verify under the key of \"\(signer)\"."
        case .revocationListNotValidAtTime(let issuer, let time, let thisUpdate, let nextUpdate):
            let until = nextUpdate.map { " until \(iso($0))" } ?? ""
            return "The CRL of \"\(issuer)\" applies from \(iso(thisUpdate))\(until), not at \(iso(time))."
        case .revoked(let subject, let serialNumber, let issuer):
            return "The certificate \"\(subject)\" (serial \(serialNumber)) is revoked by the CRL of \"\(issuer)\"."
        case .collateralMalformed(let document, let reason):
            return "The \(document) is malformed: \(reason)."
        case .collateralSignatureInvalid(let document):
            return "The \(document) signature does not verify under the TCB signing certificate's key."
        case .collateralNotValidAtTime(let document, let time, let issueDate, let nextUpdate):
            return "The \(document) was issued \(iso(issueDate)) with next update \(iso(nextUpdate)); it does not apply at \(iso(time))."
        case .collateralMismatch(let document, let field, let expected, let actual):
            return "The \(document) \(field) is \(expected) but the quote's is \(actual)."
        case .tdxModuleMismatch(let field, let expected, let actual):
            return "The TDX module \(field) is \(actual); the TCB Info expects \(expected)."
        case .tcbLevelNotFound(let document, let tcb):
            return "No TCB level of the \(document) applies to \(tcb)."
        case .qeIdentityMismatch(let field, let expected, let actual):
            return "The QE report \(field) is \(actual); the QE Identity requires \(expected)."
        }
    }
}

private func iso(_ date: Date) -> String {
    date.formatted(.iso8601)
}
