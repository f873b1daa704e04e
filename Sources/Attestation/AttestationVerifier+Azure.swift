import Foundation

extension AttestationVerifier {
    /// The `azure-sev-snp-vtpm` pipeline. Its steps: parse the HCL report (AzureCVM), verify the
    /// SNP report inside it with ``verifySNP(_:certificates:at:)``, check that REPORT_DATA
    /// commits to the runtime claims (AzureCVM), take the vTPM AK from those claims, then
    /// ``verifyQuote(_:by:bundle:binding:)`` with the nonce and runtime key bound into the quote's
    /// qualifying data as for `tpm` evidence. The HCL format belongs to the AzureCVM library,
    /// which this build does not include yet, so the type is refused rather than half-checked.
    func verifyAzure(
        _ evidence: AzureVTPMEvidence, bundle: EvidenceBundle, binding: ExpectedBinding, at time: Date
    ) throws(AttestationError) -> VerifiedEvidence {
        throw .evidenceTypeNotSupported(
            .azureSEVSNPvTPM, reason: "the HCL report and its runtime claims need the AzureCVM library, which this build does not include")
    }
}
