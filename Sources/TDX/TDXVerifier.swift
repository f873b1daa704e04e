import Crypto
import EvidenceCore
import Foundation
import X509

/// Checks that a ``TDXQuote`` was produced by a genuine Intel TDX platform, offline, following the
/// verification flow of Intel's TDX Quote Verification Library (QVL `QuoteVerifier::verify`,
/// steps 4.1.2.4.x, and the Intel TDX DCAP Quoting Library API, Appendix A.3):
///
/// 1. the PCK chain of certification data type 5 reaches the trust anchor (byte-identical root),
///    every certificate valid at the verification time, none revoked by the CRLs supplied;
/// 2. the QE report is signed by the PCK key;
/// 3. QE REPORTDATA[0..<32] = SHA-256(attestation key ‖ QE authentication data), the rest zero;
/// 4. the quote (header and body) is signed by the attestation key;
/// 5. with collateral: TCB Info and QE Identity are signed by a TCB signing certificate under the
///    same root and current at the verification time, and the TCB status is evaluated.
///
/// Only Intel's root is trusted unless the caller passes another anchor. Whether the TD is
/// acceptable is a separate question for ``TDXPolicy``.
public struct TDXVerifier: Sendable {
    /// The root chains must end at.
    public let trustAnchor: TDXTrustAnchor

    /// Creates a verifier trusting `trustAnchor`, by default Intel SGX Root CA only.
    public init(trustAnchor: TDXTrustAnchor = .intel) {
        self.trustAnchor = trustAnchor
    }

    /// Verifies a quote and, if given, evaluates its TCB against `collateral`, with every
    /// certificate, CRL and collateral date checked at `time`.
    public func verify(_ quote: TDXQuote, collateral: TDXCollateral = TDXCollateral(), at time: Date) throws(TDXError) -> VerifiedTDXQuote {
        let checkedCollateral = try self.check(collateral)
        let chain = try self.checkChain(of: quote, collateral: checkedCollateral)
        return try self.verify(quote, chain: chain, collateral: checkedCollateral, at: time)
    }

    /// The time-independent checks of collateral: the TCB signing certificate under the anchor,
    /// the TCB Info and QE Identity signatures under it, and the root CA CRL under the anchor.
    func check(_ collateral: TDXCollateral) throws(TDXError) -> CheckedCollateral {
        let root = self.trustAnchor.root
        if let list = collateral.rootCACRL {
            try list.requireSigned(by: root)
        }
        guard collateral.tcbInfo != nil || collateral.qeIdentity != nil else {
            return CheckedCollateral(collateral: collateral, signer: nil)
        }
        guard let chain = collateral.tcbSigningChain else { throw .missingCertificate(role: "TCB signing") }
        if let presented = chain.root, chain.rootDER != self.trustAnchor.rootDER {
            throw .untrustedRoot(subject: CertificateChecks.commonName(presented))
        }
        try CertificateChecks.requireIssued(chain.signer, by: root)
        try collateral.rootCACRL?.requireNotRevoked(chain.signer)
        let key = try SigningKey(chain.signer, role: "TCB signing certificate key")
        for signed in [collateral.tcbInfo?.signed, collateral.qeIdentity?.signed].compactMap({ $0 })
        where !key.isValid(signature: signed.signature, over: signed.body) {
            throw .collateralSignatureInvalid(document: signed.document)
        }
        return CheckedCollateral(collateral: collateral, signer: chain.signer)
    }

    /// The time-independent checks of a quote's PCK chain: decoding, the root against the anchor,
    /// both certificate signatures, and the CRLs of `collateral`.
    func checkChain(of quote: TDXQuote, collateral: CheckedCollateral) throws(TDXError) -> CheckedChain {
        let certification = quote.signatureData.qeReportCertificationData.certificationData
        guard certification.type == .pckCertificateChain else {
            throw .missingCertificate(role: "PCK chain (certification data type 5, found type \(certification.type.rawValue))")
        }
        let chain = try PCKCertificateChain(pem: certification.data)
        guard chain.rootDER == self.trustAnchor.rootDER else { throw .untrustedRoot(subject: CertificateChecks.commonName(chain.root)) }
        try CertificateChecks.requireIssued(chain.intermediate, by: self.trustAnchor.root)
        try CertificateChecks.requireIssued(chain.pck.certificate, by: chain.intermediate)
        var applied: [String] = []
        if let list = collateral.collateral.rootCACRL {
            try list.requireNotRevoked(chain.intermediate)
            applied.append(list.issuerName)
        }
        if let list = collateral.collateral.pckCRL {
            guard list.issuer == chain.intermediate.subject else {
                throw .collateralMismatch(
                    document: "PCK CRL", field: "issuer", expected: list.issuerName, actual: CertificateChecks.commonName(chain.intermediate))
            }
            try list.requireSigned(by: chain.intermediate)
            try list.requireNotRevoked(chain.pck.certificate)
            applied.append(list.issuerName)
        }
        return CheckedChain(chain: chain, pckKey: try SigningKey(chain.pck.certificate, role: "PCK certificate key"), revocationLists: applied)
    }

    /// The per-quote checks under a checked chain and collateral: validity at `time`, the QE
    /// report signature and binding, the quote signature and the TCB evaluation.
    func verify(_ quote: TDXQuote, chain: CheckedChain, collateral: CheckedCollateral, at time: Date) throws(TDXError) -> VerifiedTDXQuote {
        for certificate in chain.chain.certificates + [collateral.signer].compactMap({ $0 }) {
            try CertificateChecks.requireValid(certificate, at: time)
        }
        for list in [collateral.collateral.rootCACRL, collateral.collateral.pckCRL].compactMap({ $0 }) {
            try list.requireCurrent(at: time)
        }
        let certification = quote.signatureData.qeReportCertificationData
        guard chain.pckKey.isValid(signature: certification.qeReportSignature, over: certification.qeReportBytes) else {
            throw .qeReportSignatureInvalid
        }
        let attestationKey = quote.signatureData.attestationKey
        let binding = Array(SHA256.hash(data: attestationKey + certification.qeAuthenticationData))
        let reportData = certification.qeReport.reportData
        guard Array(reportData[..<32]) == binding else { throw .qeReportDataMismatch(expected: binding, actual: Array(reportData[..<32])) }
        if let index = reportData[32...].firstIndex(where: { $0 != 0 }) { throw .qeReportDataNotZeroPadded(offset: index) }
        guard let key = try? P256.Signing.PublicKey(rawRepresentation: attestationKey) else { throw .keyInvalid(role: "attestation key") }
        guard SigningKey(key).isValid(signature: quote.signatureData.quoteSignature, over: quote.signedBytes) else {
            throw .quoteSignatureInvalid
        }
        var evaluation: TDXTCBEvaluation?
        if let tcbInfo = collateral.collateral.tcbInfo {
            try Self.requireCurrent(TCBInfo.document, issued: tcbInfo.issueDate, next: tcbInfo.nextUpdate, at: time)
            let qeIdentity = collateral.collateral.qeIdentity
            if let qeIdentity {
                try Self.requireCurrent(QEIdentity.document, issued: qeIdentity.issueDate, next: qeIdentity.nextUpdate, at: time)
            }
            evaluation = try TDXTCBEvaluation.evaluate(
                body: quote.body, qeReport: certification.qeReport, pck: chain.chain.pck.extensions, tcbInfo: tcbInfo, qeIdentity: qeIdentity)
        }
        return VerifiedTDXQuote(
            quote: quote, root: self.trustAnchor.name, pckChain: chain.chain, tcb: evaluation,
            revocationListsApplied: chain.revocationLists, verificationTime: time)
    }

    private static func requireCurrent(_ document: String, issued: Date, next: Date, at time: Date) throws(TDXError) {
        guard issued <= time, time <= next else {
            throw .collateralNotValidAtTime(document: document, time: time, issueDate: issued, nextUpdate: next)
        }
    }
}

/// Collateral whose signatures ``TDXVerifier`` has checked; dates still depend on the time of
/// each verification.
struct CheckedCollateral: Sendable {
    let collateral: TDXCollateral
    /// The TCB signing certificate, when TCB Info or QE Identity is present.
    let signer: Certificate?
}

/// A PCK chain whose signatures and revocation ``TDXVerifier`` has checked; validity periods still
/// depend on the time of each verification.
struct CheckedChain: Sendable {
    let chain: PCKCertificateChain
    let pckKey: SigningKey
    /// Issuers of the CRLs that were applied.
    let revocationLists: [String]
}

/// An ECDSA P-256 public key checking raw r ‖ s signatures over SHA-256 of a message, the
/// signature form of quotes, QE reports and collateral (Intel TDX DCAP Quoting Library API,
/// Appendix A.3.4: "ECDSA signature, r ‖ s, big-endian").
struct SigningKey: Sendable {
    private let key: P256.Signing.PublicKey

    init(_ key: P256.Signing.PublicKey) {
        self.key = key
    }

    init(_ certificate: Certificate, role: String) throws(TDXError) {
        guard let key = P256.Signing.PublicKey(certificate.publicKey) else { throw .keyInvalid(role: role) }
        self.key = key
    }

    func isValid(signature: [UInt8], over message: [UInt8]) -> Bool {
        guard let signature = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
        return self.key.isValidSignature(signature, for: message)
    }
}

/// A quote that ``TDXVerifier`` has verified: signed by an attestation key that Intel's QE bound
/// to a PCK certificate chaining to ``root``. Only the verifier can create one.
public struct VerifiedTDXQuote: Sendable {
    /// The verified quote.
    public let quote: TDXQuote
    /// The trust anchor the PCK chain reached, e.g. "Intel SGX Root CA".
    public let root: String
    /// The PCK chain that vouched for the quote.
    public let pckChain: PCKCertificateChain
    /// The TCB evaluation, when TCB Info was given.
    public let tcb: TDXTCBEvaluation?
    /// The issuers of the CRLs that were checked.
    public let revocationListsApplied: [String]
    /// The time at which certificates, CRLs and collateral were checked.
    public let verificationTime: Date

    fileprivate init(
        quote: TDXQuote, root: String, pckChain: PCKCertificateChain, tcb: TDXTCBEvaluation?, revocationListsApplied: [String],
        verificationTime: Date
    ) {
        self.quote = quote
        self.root = root
        self.pckChain = pckChain
        self.tcb = tcb
        self.revocationListsApplied = revocationListsApplied
        self.verificationTime = verificationTime
    }

    /// The TD report body, vouched for.
    public var body: TDReportBody { self.quote.body }
}
