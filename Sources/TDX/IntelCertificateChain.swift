import EvidenceCore
import Foundation
import SwiftASN1
import X509

/// The PCK certificate chain a quote carries as certification data type 5: the PCK leaf, the
/// Intel SGX PCK Platform CA or Processor CA that issued it, and the Intel SGX Root CA (Intel SGX
/// PCK Certificate and CRL Profile Specification, §2 "Certificate Hierarchy").
public struct PCKCertificateChain: Sendable, Hashable {
    /// The PCK leaf certificate with its SGX extensions.
    public let pck: PCKCertificate
    /// The PCK Platform CA or PCK Processor CA.
    public let intermediate: Certificate
    /// The root certificate as presented.
    public let root: Certificate
    /// The DER of the presented root, compared byte for byte with the trust anchor.
    public let rootDER: [UInt8]

    /// Decodes the PEM text of certification data type 5: exactly three `CERTIFICATE` blocks,
    /// leaf first. Intel's quoting library ends the text with a NUL, which is allowed.
    public init(pem data: some Collection<UInt8>) throws(TDXError) {
        let documents = try CertificateChecks.pemDocuments(data, role: "PCK certificate chain")
        guard documents.count >= 1 else { throw .missingCertificate(role: "PCK") }
        guard documents.count >= 2 else { throw .missingCertificate(role: "PCK Platform/Processor CA") }
        guard documents.count >= 3 else { throw .missingCertificate(role: "root CA") }
        guard documents.count == 3 else {
            throw .certificateMalformed(role: "PCK certificate chain", reason: "it holds \(documents.count) certificates, not 3")
        }
        let leaf = try CertificateChecks.decode(documents[0].derBytes, role: "PCK")
        try CertificateChecks.requireCommonName(leaf, containing: ["SGX PCK Certificate"], role: "PCK")
        self.pck = try PCKCertificate(leaf)
        self.intermediate = try CertificateChecks.decode(documents[1].derBytes, role: "PCK Platform/Processor CA")
        try CertificateChecks.requireCommonName(
            self.intermediate, containing: ["SGX PCK Platform CA", "SGX PCK Processor CA"], role: "PCK Platform/Processor CA")
        self.rootDER = documents[2].derBytes
        self.root = try CertificateChecks.decode(self.rootDER, role: "root CA")
    }

    /// The certificates, leaf first.
    public var certificates: [Certificate] { [self.pck.certificate, self.intermediate, self.root] }
}

/// The Intel SGX TCB Signing certificate that signs TCB Info and QE Identity, as the
/// `TCB-Info-Issuer-Chain` / `SGX-Enclave-Identity-Issuer-Chain` headers of Intel's PCS deliver
/// it: the signing certificate, optionally followed by the root (PCK Certificate and CRL Profile,
/// §3.4 "TCB Signing Certificate").
public struct TCBSigningChain: Sendable, Hashable {
    /// The TCB signing certificate.
    public let signer: Certificate
    /// The root as presented, if the chain includes it.
    public let root: Certificate?
    /// The DER of the presented root, compared byte for byte with the trust anchor.
    public let rootDER: [UInt8]?

    /// Decodes PEM (one or two `CERTIFICATE` blocks) or a single DER certificate.
    public init(derOrPEM data: some Collection<UInt8>) throws(TDXError) {
        let bytes = Array(data)
        let ders = bytes.first == 0x30 ? [bytes] : try CertificateChecks.pemDocuments(bytes, role: "TCB signing chain").map(\.derBytes)
        guard let first = ders.first else { throw .missingCertificate(role: "TCB signing") }
        guard ders.count <= 2 else {
            throw .certificateMalformed(role: "TCB signing chain", reason: "it holds \(ders.count) certificates, not 1 or 2")
        }
        self.signer = try CertificateChecks.decode(first, role: "TCB signing")
        try CertificateChecks.requireCommonName(self.signer, containing: ["SGX TCB Signing"], role: "TCB signing")
        self.rootDER = ders.count == 2 ? ders[1] : nil
        self.root = try self.rootDER.map { der throws(TDXError) in try CertificateChecks.decode(der, role: "root CA") }
    }
}

/// The X.509 checks PCK and TCB signing chains share (RFC 5280 §6 path validation, reduced to
/// the fixed shapes of Intel's hierarchy).
enum CertificateChecks {
    static func decode(_ der: [UInt8], role: String) throws(TDXError) -> Certificate {
        do {
            return try Certificate(derEncoded: der)
        } catch {
            throw .certificateMalformed(role: role, reason: String(describing: error))
        }
    }

    /// The PEM `CERTIFICATE` blocks of `data`, which may end with NUL bytes.
    static func pemDocuments(_ data: some Collection<UInt8>, role: String) throws(TDXError) -> [PEMDocument] {
        var bytes = Array(data)
        while bytes.last == 0 { bytes.removeLast() }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .certificateMalformed(role: role, reason: "the PEM text is not UTF-8")
        }
        do {
            let documents = try PEMDocument.parseMultiple(pemString: text)
            if let other = documents.first(where: { $0.discriminator != "CERTIFICATE" }) {
                throw TDXError.certificateMalformed(role: role, reason: "it holds a \(other.discriminator) block")
            }
            return documents
        } catch let error as TDXError {
            throw error
        } catch {
            throw .certificateMalformed(role: role, reason: String(describing: error))
        }
    }

    /// Checks that `certificate` names `issuer`, that `issuer` is a CA, and that its key verifies
    /// the certificate's signature.
    static func requireIssued(_ certificate: Certificate, by issuer: Certificate) throws(TDXError) {
        guard certificate.issuer == issuer.subject, issuer.publicKey.isValidSignature(certificate.signature, for: certificate) else {
            throw .certificateSignatureInvalid(subject: commonName(certificate), issuer: commonName(issuer))
        }
        guard case .isCertificateAuthority = try? issuer.extensions.basicConstraints else {
            throw .certificateNotCA(subject: commonName(issuer))
        }
    }

    static func requireValid(_ certificate: Certificate, at time: Date) throws(TDXError) {
        guard certificate.notValidBefore <= time, time <= certificate.notValidAfter else {
            throw .certificateNotValidAtTime(
                subject: commonName(certificate), time: time, notBefore: certificate.notValidBefore, notAfter: certificate.notValidAfter)
        }
    }

    /// Checks the subject's common name contains one of `phrases`, as Intel's QVL identifies the
    /// certificates of a chain.
    static func requireCommonName(_ certificate: Certificate, containing phrases: [String], role: String) throws(TDXError) {
        let name = commonName(certificate)
        guard phrases.contains(where: name.contains) else { throw .unexpectedCertificate(role: role, subject: name) }
    }

    /// The subject's common name, or its whole name when it has none.
    static func commonName(_ certificate: Certificate) -> String {
        certificate.subject.commonName
    }
}
