import AzureCVM
import Foundation
import TPM2

extension AttestationVerifier {
    /// The `azure-sev-snp-vtpm` pipeline: the HCL report parsed and verified by AzureCVM's
    /// ``AzureHCLVerifier`` — REPORT_DATA commits to the runtime claims, the SEV-SNP report chains
    /// to a trusted AMD root — whose runtime claims then vouch for the vTPM attestation key; that
    /// key's quote is verified, bound and replayed as for `tpm` evidence
    /// (``verifyQuote(_:by:bundle:binding:)``).
    func verifyAzure(
        _ evidence: AzureVTPMEvidence, bundle: EvidenceBundle, binding: ExpectedBinding, at time: Date
    ) throws(AttestationError) -> VerifiedEvidence {
        let report: HCLReport
        do {
            report = try HCLReport(bytes: evidence.hclReport)
        } catch {
            throw .bundleMalformed(field: "hclReport", reason: error.description)
        }
        let hcl: VerifiedAzureHCLReport
        do {
            hcl = try AzureHCLVerifier(snpVerifier: self.snpVerifier.verifier).verify(report, certificates: evidence.certificates, at: time)
        } catch {
            if case .snpReportNotVerified(let snpError) = error { throw .snpVerificationFailed(snpError) }
            throw .hclReportNotVerified(error)
        }
        let root = try self.snpRoot(named: hcl.root)
        let tpm = try self.verifyQuote(evidence.quote, by: QuoteVerifier(attestationKey: hcl.attestationKey), bundle: bundle, binding: binding)
        return VerifiedEvidence(
            type: .azureSEVSNPvTPM, roots: [root], nonce: bundle.nonce, binding: binding, runtimeKey: bundle.runtimeKey,
            snp: SNPClaims(verifiedReport: hcl.snp), tpm: tpm, tdx: nil, verificationTime: time)
    }
}
