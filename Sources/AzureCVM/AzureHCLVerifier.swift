import Foundation
import SEVSNP
import TPM2

/// Checks an ``HCLReport`` the way a relying party checks an Azure confidential VM's vTPM evidence
/// (Microsoft Learn, "Guest attestation for confidential VMs — design": hardware report → runtime
/// claims → vTPM AK → TPM quote):
///
/// 1. REPORT_DATA holds the hash of the runtime claims (``HCLReport/requireRuntimeClaimsBinding()``);
/// 2. the SEV-SNP report verifies with ``SNPVerifier``: VCEK signature, AMD chain, TCB, chip;
/// 3. the claims carry the AK ("HCLAkPub", an RSA key of at least 2048 bits) and, when present,
///    a usable EK ("HCLEkPub").
///
/// The result, ``VerifiedAzureHCLReport``, then verifies quotes signed by that AK. Which roots are
/// trusted is the SNP verifier's choice: AMD's genuine roots unless the caller opts in to others.
public struct AzureHCLVerifier: Sendable {
    /// Verifies the hardware report.
    public let snpVerifier: SNPVerifier

    /// A verifier whose SNP verifier trusts, by default, only AMD's embedded roots.
    public init(snpVerifier: SNPVerifier = SNPVerifier()) {
        self.snpVerifier = snpVerifier
    }

    /// Verifies `report` with the VCEK/VLEK (and optionally ASK/ARK) in `certificates`, checking
    /// certificate validity at `time`.
    public func verify(_ report: HCLReport, certificates: SNPCertificateChain, at time: Date) throws(AzureCVMError) -> VerifiedAzureHCLReport {
        guard case let .snp(snpReport) = report.hardwareReport else { throw .tdxVerificationUnsupported }
        try report.requireRuntimeClaimsBinding()
        let snp: VerifiedSNPReport
        do { snp = try self.snpVerifier.verify(snpReport, certificates: certificates, at: time) } catch {
            throw .snpReportNotVerified(error)
        }
        guard let akJWK = report.runtimeClaims.attestationKey else { throw .missingKey(kid: HCLRuntimeClaims.attestationKeyID) }
        let attestationKey = try akJWK.verifyingKey()
        let endorsementKey = report.runtimeClaims.endorsementKey
        _ = try endorsementKey?.encryptionKey()
        return VerifiedAzureHCLReport(report: report, snp: snp, attestationKey: attestationKey, endorsementKey: endorsementKey)
    }
}

/// An HCL report that ``AzureHCLVerifier`` has verified: its SEV-SNP report chains to ``root``
/// and binds the runtime claims, so the AK and EK in them are the vTPM's. Only the verifier can
/// create one.
public struct VerifiedAzureHCLReport: Sendable {
    /// The report.
    public let report: HCLReport
    /// Its SEV-SNP report, verified.
    public let snp: VerifiedSNPReport
    /// The vTPM attestation key ("HCLAkPub"), ready to verify TPM signatures.
    public let attestationKey: TPMVerifyingKey
    /// The vTPM endorsement key ("HCLEkPub") when the claims carry one; its
    /// ``HCLJSONWebKey/encryptionKey()`` is the swift-crypto key.
    public let endorsementKey: HCLJSONWebKey?

    fileprivate init(report: HCLReport, snp: VerifiedSNPReport, attestationKey: TPMVerifyingKey, endorsementKey: HCLJSONWebKey?) {
        self.report = report
        self.snp = snp
        self.attestationKey = attestationKey
        self.endorsementKey = endorsementKey
    }

    /// The runtime claims, bound by the verified hardware report.
    public var runtimeClaims: HCLRuntimeClaims { self.report.runtimeClaims }
    /// The trusted root the hardware report chained to, e.g. "AMD ARK-Milan".
    public var root: String { self.snp.root }

    /// Verifies a vTPM quote (TPM 2.0 Part 3 §18.4: TPMS_ATTEST and its signature) with the AK:
    /// the signature, `nonce` as extraData, and pcrDigest over `pcrValues` — the TPM2 library's
    /// ``QuoteVerifier/verifyQuote(_:signature:nonce:pcrValues:)``. Azure evidence carries the bare
    /// RSA signature; wrap it with ``TPMTSignature/azureRSASSA(_:)``.
    public func verifyQuote(
        _ attest: [UInt8], signature: TPMTSignature, nonce: [UInt8], pcrValues: TPMPCRValues
    ) throws(AzureCVMError) -> VerifiedQuote {
        do {
            return try QuoteVerifier(attestationKey: self.attestationKey)
                .verifyQuote(attest, signature: signature, nonce: nonce, pcrValues: pcrValues)
        } catch {
            throw .quoteNotVerified(error)
        }
    }
}
