import Foundation
import SEVSNP
import TDX
import TPM2
import X509

/// What the evidence must answer. A relying party issues a nonce and passes it as ``nonce(_:)``;
/// the other cases exist for evidence produced by other tooling, whose REPORT_DATA or
/// qualifying data was not computed by ``EvidenceBinding`` (for example captured test evidence),
/// and cover no runtime key.
public enum ExpectedBinding: Sendable, Hashable {
    /// The bundle must carry this nonce, and REPORT_DATA, REPORTDATA or the quote's extraData
    /// must equal ``EvidenceBinding``'s value for it and the bundle's runtime key.
    case nonce([UInt8])
    /// The SEV-SNP report's REPORT_DATA or the TD report's REPORTDATA must equal these 64 bytes.
    case reportData([UInt8])
    /// The quote's extraData (its qualifyingData) must equal these bytes.
    case qualifyingData([UInt8])
}

/// The verification pipeline: checks an ``EvidenceBundle`` and returns ``VerifiedEvidence``.
///
/// For each evidence type the steps are, in order (each failure an ``AttestationError`` naming
/// its ``AttestationStep``):
/// - `sev-snp`: the report's signature and AMD chain (``SNPVerifier``), then REPORT_DATA against
///   the nonce and runtime key.
/// - `tpm`: the AK certificate chain to a TPM root and its key against the AK's public area, the
///   quote's signature (``QuoteVerifier``), its extraData against the nonce and runtime key, its
///   pcrDigest against the PCR values, then the event log replayed and compared with every PCR
///   it extends.
/// - `azure-sev-snp-vtpm`: the SNP report inside the HCL report and its chain, the runtime claims
///   against REPORT_DATA, the AK they hold, then the quote and event log as for `tpm`.
/// - `tdx`: the DCAP quote's PCK chain, QE report and signature and, with collateral, its TCB
///   (``TDXVerifier``), then REPORTDATA against the nonce and runtime key, then the CC event log
///   replayed and compared with every RTMR it extends.
///
/// Roots: AMD's genuine SNP roots and Intel's SGX root by default, and the TPM roots configured.
/// Emulated roots are trusted only when listed *and* ``Configuration/allowEmulatedRoots`` is set;
/// every result names its roots and whether they are emulated.
public struct AttestationVerifier: Sendable {
    /// What the verifier trusts and when it checks.
    public struct Configuration: Sendable {
        /// Roots for SEV-SNP reports; AMD's genuine Milan, Genoa and Turin roots by default.
        public var snpTrustAnchors: [SNPTrustAnchor]
        /// AMD CRLs, each applied to chains under the root that issued it.
        public var snpRevocationLists: [AMDRevocationList]
        /// Roots for TPM attestation key and EK certificates (a cloud's vTPM CA, a TPM vendor's CA).
        public var tpmRoots: [Certificate]
        /// Intermediates TPM certificate chains may pass through, besides those a bundle carries.
        public var tpmIntermediates: [Certificate]
        /// Roots for the PCK chains of TDX quotes; Intel's SGX Root CA by default.
        public var tdxTrustAnchors: [TDXTrustAnchor]
        /// Intel's collateral (TCB Info, QE Identity, CRLs) TDX quotes are evaluated against. When
        /// set, collateral a bundle carries is not used: the relying party decides which TCB Info
        /// and CRLs apply, not the attester.
        public var tdxCollateral: TDXCollateral?
        /// Roots of emulated SEV-SNP platforms (``SNPTrustAnchor/emulated(_:)``).
        public var emulatedSNPAnchors: [SNPTrustAnchor]
        /// Root certificates of emulated TPM platforms.
        public var emulatedTPMRoots: [Certificate]
        /// Roots of emulated TDX platforms (a test CA standing in for Intel's).
        public var emulatedTDXAnchors: [TDXTrustAnchor]
        /// Whether evidence chaining to an emulated root is accepted (and marked emulated) or refused.
        public var allowEmulatedRoots: Bool
        /// The time certificates are checked at; nil for the current time at each verification.
        public var verificationTime: Date?

        /// A configuration; the defaults trust AMD's genuine SNP roots and Intel's SGX root only,
        /// no TPM root and no emulated root, use no TDX collateral but a bundle's, and check
        /// certificates at the current time.
        public init(
            snpTrustAnchors: [SNPTrustAnchor] = SNPTrustAnchor.amd, snpRevocationLists: [AMDRevocationList] = [],
            tpmRoots: [Certificate] = [], tpmIntermediates: [Certificate] = [],
            tdxTrustAnchors: [TDXTrustAnchor] = [.intel], tdxCollateral: TDXCollateral? = nil,
            emulatedSNPAnchors: [SNPTrustAnchor] = [], emulatedTPMRoots: [Certificate] = [], emulatedTDXAnchors: [TDXTrustAnchor] = [],
            allowEmulatedRoots: Bool = false, verificationTime: Date? = nil
        ) {
            self.snpTrustAnchors = snpTrustAnchors
            self.snpRevocationLists = snpRevocationLists
            self.tpmRoots = tpmRoots
            self.tpmIntermediates = tpmIntermediates
            self.tdxTrustAnchors = tdxTrustAnchors
            self.tdxCollateral = tdxCollateral
            self.emulatedSNPAnchors = emulatedSNPAnchors
            self.emulatedTPMRoots = emulatedTPMRoots
            self.emulatedTDXAnchors = emulatedTDXAnchors
            self.allowEmulatedRoots = allowEmulatedRoots
            self.verificationTime = verificationTime
        }
    }

    /// The configuration this verifier applies.
    public let configuration: Configuration
    /// Verifies SNP reports, remembering each VCEK chain it has checked.
    let snpVerifier: SNPCachingVerifier
    /// One verifier per TDX anchor, emulated ones first, each remembering the PCK chains it has
    /// checked.
    let tdxVerifiers: [TDXAnchorVerifier]

    /// Creates a verifier.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.snpVerifier = SNPCachingVerifier(verifier: SNPVerifier(
            trustedRoots: configuration.snpTrustAnchors + configuration.emulatedSNPAnchors,
            revocationLists: configuration.snpRevocationLists))
        self.tdxVerifiers = configuration.emulatedTDXAnchors.map { TDXAnchorVerifier($0, emulated: true, collateral: configuration.tdxCollateral) }
            + configuration.tdxTrustAnchors.map { TDXAnchorVerifier($0, emulated: false, collateral: configuration.tdxCollateral) }
    }

    /// Verifies `bundle`, which must answer `binding`.
    public func verify(_ bundle: EvidenceBundle, expecting binding: ExpectedBinding) throws(AttestationError) -> VerifiedEvidence {
        let time = self.configuration.verificationTime ?? Date()
        switch bundle.evidence {
        case .sevSNP(let evidence):
            let (snp, root) = try self.verifySNP(evidence.report, certificates: evidence.certificates, at: time)
            let expected = try Self.expected(.reportData, of: bundle, binding: binding)
            try Self.requireBinding("REPORT_DATA", expected: expected, actual: evidence.report.reportData)
            return VerifiedEvidence(
                type: .sevSNP, roots: [root], nonce: bundle.nonce, binding: binding, runtimeKey: bundle.runtimeKey,
                snp: snp, tpm: nil, tdx: nil, verificationTime: time)
        case .tpm(let evidence):
            let roots = try self.certifyAttestationKey(evidence, at: time)
            let quoteVerifier: QuoteVerifier
            do {
                quoteVerifier = try QuoteVerifier(attestationKey: evidence.attestationKey)
            } catch {
                throw .attestationKeyInvalid(error)
            }
            let tpm = try self.verifyQuote(evidence.quote, by: quoteVerifier, bundle: bundle, binding: binding)
            return VerifiedEvidence(
                type: .tpm, roots: roots, nonce: bundle.nonce, binding: binding, runtimeKey: bundle.runtimeKey,
                snp: nil, tpm: tpm, tdx: nil, verificationTime: time)
        case .azureSEVSNPvTPM(let evidence):
            return try self.verifyAzure(evidence, bundle: bundle, binding: binding, at: time)
        case .tdx(let evidence):
            return try self.verifyTDX(evidence, bundle: bundle, binding: binding, at: time)
        }
    }

    /// Step `endorsement` for an SNP report: its signature and chain, then whether its root may
    /// be trusted.
    func verifySNP(_ report: SNPReport, certificates: SNPCertificateChain, at time: Date) throws(AttestationError) -> (SNPClaims, VerifiedRoot) {
        let verified: VerifiedSNPReport
        do {
            verified = try self.snpVerifier.verify(report, certificates: certificates, at: time)
        } catch {
            throw .snpVerificationFailed(error)
        }
        return (SNPClaims(verifiedReport: verified), try self.snpRoot(named: verified.root))
    }

    /// The SNP anchor a report chained to; an emulated one is refused unless allowed. A name
    /// listed among the emulated anchors counts as emulated even if a genuine anchor shares it, so
    /// that a naming clash can only ever refuse evidence.
    func snpRoot(named name: String) throws(AttestationError) -> VerifiedRoot {
        let emulated = self.configuration.emulatedSNPAnchors.contains { $0.name == name }
        if emulated, !self.configuration.allowEmulatedRoots { throw .emulatedRootNotAllowed(root: name) }
        return VerifiedRoot(name: name, role: .snpARK, emulated: emulated)
    }

    /// Step `endorsement` for a TPM: the AK certificate chain to a root, the certificate's key
    /// against the AK's public area, and the EK certificate's chain when present.
    private func certifyAttestationKey(_ evidence: TPMEvidence, at time: Date) throws(AttestationError) -> [VerifiedRoot] {
        guard let leaf = evidence.akCertificates.first else {
            throw .attestationKeyNotCertified(
                reason: "the bundle has no akCertificates, and an EK certificate alone does not vouch for an AK (that takes TPM2_ActivateCredential)")
        }
        let key: TPMVerifyingKey
        do {
            key = try TPMVerifyingKey(evidence.attestationKey)
        } catch {
            throw .attestationKeyInvalid(error)
        }
        let chain: TPMCertificateChain
        do {
            chain = try self.verifyTPMChain(leaf, intermediates: Array(evidence.akCertificates.dropFirst()), at: time)
        } catch {
            throw .akCertificateChainInvalid(error)
        }
        let akRoot = try self.root(of: chain, role: .tpmAKCA)
        guard chain.leaf.publicKey == key.certificatePublicKey else { throw .akCertificateKeyMismatch }
        guard let ek = evidence.ekCertificate else { return [akRoot] }
        let ekChain: TPMCertificateChain
        do {
            ekChain = try self.verifyTPMChain(ek, intermediates: [], at: time)
        } catch {
            throw .ekCertificateChainInvalid(error)
        }
        return [akRoot, try self.root(of: ekChain, role: .tpmEKCA)]
    }

    /// Builds a chain from `leaf` to a genuine or emulated TPM root.
    private func verifyTPMChain(_ leaf: Certificate, intermediates: [Certificate], at time: Date) throws(TPMVerificationError) -> TPMCertificateChain {
        let verifier = TPMCertificateChainVerifier(
            roots: self.configuration.tpmRoots + self.configuration.emulatedTPMRoots,
            intermediates: self.configuration.tpmIntermediates + intermediates)
        return try verifier.verify(leaf, at: time)
    }

    /// The root a TPM chain reached; an emulated one is refused unless allowed.
    private func root(of chain: TPMCertificateChain, role: VerifiedRoot.Role) throws(AttestationError) -> VerifiedRoot {
        let emulated = self.configuration.emulatedTPMRoots.contains(chain.root)
        let name = chain.root.subject.description
        if emulated, !self.configuration.allowEmulatedRoots { throw .emulatedRootNotAllowed(root: name) }
        return VerifiedRoot(name: name, role: role, emulated: emulated)
    }

    /// Steps `quote`, `binding` and `event log` for `tpm` and vTPM evidence.
    func verifyQuote(
        _ evidence: TPMQuoteEvidence, by verifier: QuoteVerifier, bundle: EvidenceBundle, binding: ExpectedBinding
    ) throws(AttestationError) -> TPMClaims {
        let expected = try Self.expected(.qualifyingData, of: bundle, binding: binding)
        let quote: VerifiedQuote
        do {
            quote = try verifier.verifyQuote(evidence.attest, signature: evidence.signature, nonce: expected, pcrValues: evidence.pcrs)
        } catch {
            // QuoteVerifier checks extraData only after the signature, so a mismatch here is
            // a signed value that answers another nonce or key.
            if case let .nonceMismatch(expected, actual) = error {
                throw .bindingMismatch(field: "TPMS_ATTEST.extraData", expected: expected, actual: actual)
            }
            throw .quoteVerificationFailed(error)
        }
        return TPMClaims(quote: quote, eventLog: try EventLogVerification.verify(evidence.eventLog, against: quote))
    }

    /// The kind of field ``EvidenceBinding`` fills for an evidence type: a hardware report's
    /// 64-byte report data (SEV-SNP REPORT_DATA, TDX REPORTDATA) or a TPM quote's qualifying data.
    enum BindingField: String {
        case reportData = "REPORT_DATA"
        case qualifyingData = "qualifying data"
    }

    /// The value `field` must hold for the bundle to answer `binding`.
    static func expected(_ field: BindingField, of bundle: EvidenceBundle, binding: ExpectedBinding) throws(AttestationError) -> [UInt8] {
        switch (binding, field) {
        case (.nonce(let nonce), _):
            guard constantTimeEqual(bundle.nonce, nonce) else { throw .nonceMismatch(expected: nonce, actual: bundle.nonce) }
            return field == .reportData
                ? try EvidenceBinding.reportData(nonce: nonce, runtimeKey: bundle.runtimeKey)
                : try EvidenceBinding.qualifyingData(nonce: nonce, runtimeKey: bundle.runtimeKey)
        case (.reportData(let value), .reportData), (.qualifyingData(let value), .qualifyingData):
            guard bundle.runtimeKey == nil else { throw .runtimeKeyNotBound }
            return value
        case (.reportData, .qualifyingData):
            throw .bindingNotApplicable(bundle.type, binding: BindingField.reportData.rawValue)
        case (.qualifyingData, .reportData):
            throw .bindingNotApplicable(bundle.type, binding: BindingField.qualifyingData.rawValue)
        }
    }

    static func requireBinding(_ field: String, expected: [UInt8], actual: [UInt8]) throws(AttestationError) {
        guard constantTimeEqual(expected, actual) else { throw .bindingMismatch(field: field, expected: expected, actual: actual) }
    }
}

/// Compares without an early exit, so that timing does not reveal how much of a value matched.
func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
    guard lhs.count == rhs.count else { return false }
    return zip(lhs, rhs).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
}
