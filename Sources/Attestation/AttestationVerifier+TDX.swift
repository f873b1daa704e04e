import Foundation
import TDX

extension AttestationVerifier {
    /// The `tdx` pipeline: the quote verified by the TDX library's ``TDXVerifier`` under the
    /// anchor its PCK chain ends at (PCK chain, QE report and its binding of the attestation key,
    /// the quote signature, and with collateral the TCB evaluation); then whether that anchor may
    /// be trusted; then REPORTDATA against the nonce and runtime key (the same 64-byte value as
    /// SEV-SNP REPORT_DATA, ``EvidenceBinding/reportData(nonce:runtimeKey:)``); then the CC event
    /// log replayed against the RTMRs (``EventLogVerification/verifyCCEL(_:against:)``).
    ///
    /// Collateral: the verifier's own when configured, else the bundle's, else none (the quote
    /// is verified but its TCB status is not evaluated). The claims say which.
    func verifyTDX(_ evidence: TDXEvidence, bundle: EvidenceBundle, binding: ExpectedBinding, at time: Date) throws(AttestationError) -> VerifiedEvidence {
        let anchor = try self.tdxVerifier(for: evidence.quote)
        let verified: VerifiedTDXQuote
        let source: TDXClaims.CollateralSource
        do {
            let verifier = try anchor.verifier.get()
            if self.configuration.tdxCollateral == nil, let collateral = evidence.collateral {
                verified = try verifier.verifier.verify(evidence.quote, collateral: collateral.collateral, at: time)
                source = .bundle
            } else {
                verified = try verifier.verify(evidence.quote, at: time)
                source = self.configuration.tdxCollateral == nil ? .none : .verifier
            }
        } catch {
            throw .tdxVerificationFailed(error)
        }
        if anchor.emulated, !self.configuration.allowEmulatedRoots { throw .emulatedRootNotAllowed(root: verified.root) }
        let root = VerifiedRoot(name: verified.root, role: .tdxRootCA, emulated: anchor.emulated)
        let expected = try Self.expected(.reportData, of: bundle, binding: binding)
        try Self.requireBinding("REPORTDATA", expected: expected, actual: verified.body.reportData)
        let eventLog = try EventLogVerification.verifyCCEL(evidence.eventLog, against: verified.body)
        return VerifiedEvidence(
            type: .tdx, roots: [root], nonce: bundle.nonce, binding: binding, runtimeKey: bundle.runtimeKey,
            snp: nil, tpm: nil, tdx: TDXClaims(verifiedQuote: verified, collateral: source, eventLog: eventLog), verificationTime: time)
    }

    /// The verifier of the anchor the quote's PCK chain ends at. With one anchor configured that
    /// is the one, without decoding the chain here (its verifier refuses any other root); with
    /// several, the chain's root (byte for byte) picks it, emulated anchors first so that a root
    /// listed as both counts as emulated; a root that is none of them is untrusted.
    private func tdxVerifier(for quote: TDXQuote) throws(AttestationError) -> TDXAnchorVerifier {
        if self.tdxVerifiers.count == 1 { return self.tdxVerifiers[0] }
        let chain: PCKCertificateChain
        do {
            chain = try PCKCertificateChain(pem: quote.signatureData.qeReportCertificationData.certificationData.data)
        } catch {
            throw .tdxVerificationFailed(error)
        }
        guard let verifier = self.tdxVerifiers.first(where: { $0.anchor.rootDER == chain.rootDER }) else {
            throw .tdxVerificationFailed(.untrustedRoot(subject: chain.root.subject.description))
        }
        return verifier
    }
}

/// A TDX trust anchor of an ``AttestationVerifier`` with the caching verifier for it, built once:
/// the configured collateral's signatures are checked under this anchor then, and a collateral
/// that does not check under it makes every quote of this anchor fail with that error.
struct TDXAnchorVerifier: Sendable {
    let anchor: TDXTrustAnchor
    let emulated: Bool
    let verifier: Result<TDXCachingVerifier, TDXError>

    init(_ anchor: TDXTrustAnchor, emulated: Bool, collateral: TDXCollateral?) {
        self.anchor = anchor
        self.emulated = emulated
        self.verifier = Result { () throws(TDXError) in
            try TDXCachingVerifier(verifier: TDXVerifier(trustAnchor: anchor), collateral: collateral ?? TDXCollateral())
        }
    }
}
