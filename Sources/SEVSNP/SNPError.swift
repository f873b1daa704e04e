import EvidenceCore
import Foundation

/// Every way parsing, verifying or decoding SEV-SNP evidence can fail, each with the field,
/// offset or certificate it concerns so the sentence in ``description`` is actionable.
public enum SNPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The attestation report is not exactly 1184 (0x4A0) bytes.
    case wrongReportSize(actual: Int)
    /// The report's VERSION field is not one this library understands (2, 3 or 5).
    case unsupportedVersion(UInt32)
    /// A field the ABI specification reserves as must-be-zero holds a set bit.
    case reservedFieldNotZero(field: String, offset: Int)
    /// A bit the ABI specification reserves as must-be-one is clear.
    case reservedBitNotOne(field: String, offset: Int)
    /// A field holds a value the ABI specification reserves (for example SIGNING_KEY 2–6).
    case reservedValue(field: String, value: UInt64)
    /// SIGNATURE_ALGO is not 1 (ECDSA P-384 with SHA-384), the only algorithm defined.
    case unsupportedSignatureAlgorithm(UInt32)
    /// A structure ended before the named field could be read.
    case truncated(field: String, offset: Int)
    /// CPUID family/model in a v3+ report names no SEV-SNP product this library knows.
    case unknownProduct(family: UInt8, model: UInt8)
    /// The product needed to decode a TCB_VERSION is unknown: a v2 report carries no CPUID and
    /// no product was given.
    case productRequired
    /// Two sources disagree about which AMD product produced the report.
    case productMismatch(expected: SNPProduct, actual: SNPProduct)
    /// The extended-report certificate table is malformed.
    case certificateTableMalformed(reason: String)
    /// A certificate could not be decoded as DER X.509.
    case certificateMalformed(role: String, reason: String)
    /// A certificate is signed with an algorithm other than the one AMD uses for this role.
    case certificateAlgorithmUnsupported(subject: String, reason: String)
    /// A certificate's signature does not verify under its issuer's public key.
    case certificateSignatureInvalid(subject: String, issuer: String)
    /// A certificate is outside its validity period at the verification time.
    case certificateNotValidAtTime(subject: String, time: Date, notBefore: Date, notAfter: Date)
    /// The chain ends at, or presents, a root that is not among the trusted roots.
    case untrustedRoot(subject: String)
    /// No certificate with the subject the chain needs was provided or embedded.
    case missingCertificate(role: String)
    /// The report names a signing key that cannot be verified (SIGNING_KEY = none).
    case noSigningKey
    /// The endorsement certificate is not the kind (VCEK or VLEK) the report's SIGNING_KEY names.
    case signingKeyMismatch(report: SNPSigningKey, certificate: String)
    /// A required AMD extension is absent from, or malformed in, the VCEK/VLEK certificate.
    case endorsementExtensionInvalid(oid: String, reason: String)
    /// A TCB component in the VCEK/VLEK certificate differs from the report's REPORTED_TCB.
    case endorsementTCBMismatch(component: String, certificate: UInt8, report: UInt8)
    /// The VCEK's hwID extension differs from the report's CHIP_ID.
    case chipIDMismatch
    /// The ECDSA P-384 signature over bytes 0x000–0x29F does not verify.
    case reportSignatureInvalid
    /// The VCEK/VLEK public key is not an ECDSA P-384 key.
    case endorsementKeyNotP384(subject: String)
    /// A certificate revocation list could not be decoded as DER X.509 v2 CRL.
    case revocationListMalformed(reason: String)
    /// A certificate revocation list is not signed by the root it must come from.
    case revocationListSignatureInvalid(issuer: String, signer: String)
    /// A certificate of the chain is listed as revoked by its issuer's CRL.
    case revoked(subject: String, serialNumber: String, issuer: String)
    /// A Key Distribution Service request cannot be formed from the given values.
    case kdsRequestInvalid(reason: String)
    /// A Key Distribution Service request failed or was answered with an error.
    case kdsFetchFailed(url: String, reason: String)
    /// An emulated chain or report could not be generated.
    case emulationFailed(reason: String)
    /// A saved emulated chain (``EmulatedSNPChain/pemRepresentation``) is not three certificates
    /// and three private keys in the order it is written, or a block does not decode.
    case emulatedChainMalformed(reason: String)
    /// A private key of a saved emulated chain does not belong to the certificate of its role.
    case emulatedChainKeyMismatch(role: String)

    public var description: String {
        switch self {
        case .wrongReportSize(let actual):
            return "The SEV-SNP attestation report is \(actual) bytes; it must be exactly 1184 (0x4A0) bytes."
        case .unsupportedVersion(let version):
            return "The SEV-SNP attestation report has version \(version); only versions 2, 3 and 5 are supported."
        case .reservedFieldNotZero(let field, let offset):
            return "The reserved field \(field) holds a non-zero byte at offset 0x\(hex(offset)); it must be zero."
        case .reservedBitNotOne(let field, let offset):
            return "The reserved bit \(field) at offset 0x\(hex(offset)) is clear; it must be one."
        case .reservedValue(let field, let value):
            return "The field \(field) holds the reserved value \(value)."
        case .unsupportedSignatureAlgorithm(let algorithm):
            return "The report's signature algorithm is \(algorithm); only 1 (ECDSA P-384 with SHA-384) is defined."
        case .truncated(let field, let offset):
            return "The data ends at offset 0x\(hex(offset)) before the field \(field)."
        case .unknownProduct(let family, let model):
            return "CPUID family 0x\(hex(family)) model 0x\(hex(model)) is not a known SEV-SNP product (Milan, Genoa, Turin)."
        case .productRequired:
            return "The report is version 2 and carries no CPUID; name the product (Milan, Genoa or Turin) to decode its TCB."
        case .productMismatch(let expected, let actual):
            return "The evidence names product \(actual.rawValue) where \(expected.rawValue) was expected."
        case .certificateTableMalformed(let reason):
            return "The extended-report certificate table is malformed: \(reason)."
        case .certificateMalformed(let role, let reason):
            return "The \(role) certificate is not valid DER X.509: \(reason)."
        case .certificateAlgorithmUnsupported(let subject, let reason):
            return "The certificate \(subject) uses an unsupported signature algorithm: \(reason)."
        case .certificateSignatureInvalid(let subject, let issuer):
            return "The signature on certificate \(subject) does not verify under the key of \(issuer)."
        case .certificateNotValidAtTime(let subject, let time, let notBefore, let notAfter):
            return "The certificate \(subject) is valid from \(iso(notBefore)) to \(iso(notAfter)), not at \(iso(time))."
        case .untrustedRoot(let subject):
            return "The root \(subject) is not among the trusted roots."
        case .missingCertificate(let role):
            return "No \(role) certificate was provided or embedded."
        case .noSigningKey:
            return "The report's SIGNING_KEY is 'none': no key signed it, so it cannot be verified."
        case .signingKeyMismatch(let report, let certificate):
            return "The report is signed with the \(report.name) but the endorsement certificate is \(certificate)."
        case .endorsementExtensionInvalid(let oid, let reason):
            return "The endorsement certificate's extension \(oid) is invalid: \(reason)."
        case .endorsementTCBMismatch(let component, let certificate, let report):
            return "The endorsement certificate certifies \(component) SPL \(certificate) but the report's REPORTED_TCB has \(report)."
        case .chipIDMismatch:
            return "The VCEK's hwID does not match the report's CHIP_ID."
        case .reportSignatureInvalid:
            return "The report's ECDSA P-384 signature over bytes 0x000–0x29F does not verify under the endorsement key."
        case .endorsementKeyNotP384(let subject):
            return "The endorsement certificate \(subject) does not carry an ECDSA P-384 public key."
        case .revocationListMalformed(let reason):
            return "The certificate revocation list is not a valid DER X.509 v2 CRL: \(reason)."
        case .revocationListSignatureInvalid(let issuer, let signer):
            return "The certificate revocation list issued by \(issuer) does not verify under the key of \(signer)."
        case .revoked(let subject, let serialNumber, let issuer):
            return "The certificate \(subject) (serial \(serialNumber)) is revoked by the CRL of \(issuer)."
        case .kdsRequestInvalid(let reason):
            return "The AMD KDS request cannot be formed: \(reason)."
        case .kdsFetchFailed(let url, let reason):
            return "Fetching \(url) from AMD KDS failed: \(reason)."
        case .emulationFailed(let reason):
            return "The emulated SEV-SNP chain or report could not be generated: \(reason)."
        case .emulatedChainMalformed(let reason):
            return "The saved emulated SEV-SNP chain is malformed: \(reason)."
        case .emulatedChainKeyMismatch(let role):
            return "The saved emulated SEV-SNP chain's \(role) private key does not belong to its \(role) certificate."
        }
    }
}

extension SNPError: LittleEndianReadFailure {
    /// What ``LittleEndianReader`` reports as truncation: this library's sentence names the field
    /// and offset only.
    package static func truncated(field: String, offset: Int, needed: Int, available: Int) -> SNPError {
        .truncated(field: field, offset: offset)
    }
}

private func iso(_ date: Date) -> String {
    date.formatted(.iso8601)
}
