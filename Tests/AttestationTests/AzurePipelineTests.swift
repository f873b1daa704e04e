import Attestation
import AzureCVM
import Foundation
import SEVSNP
import TPM2
import Testing

/// `azure-sev-snp-vtpm` evidence through the pipeline: the real Azure CVM cases (HCL report,
/// VCEK, vTPM quote; their extraData was not made by our binding, so the caller supplies it) and
/// emulated Azure evidence (AzureCVM's HCL builder around an emulated SNP report, CVMKit's TPM
/// engine with an RSA AK) bound to nonce and runtime key, with tampered variants refused.
@Suite struct AzurePipelineTests {
    /// The real cases that carry their VCEK, with the product their VCEK names.
    static let cases: [(folder: String, vcek: String, root: String)] = [
        ("azure-snp-cvm-genoa-trustee-evidence", "vcek.pem", "AMD ARK-Genoa"),
        ("azure-snp-cvm-trustee-evidence-v0", "vcek.pem", "AMD ARK-Milan"),
        ("azure-snp-cvm-trustee-evidence-v1", "vcek.der", "AMD ARK-Milan"),
        ("azure-snp-cvm-trustee-evidence-v2", "vcek.der", "AMD ARK-Milan"),
    ]
    static let guest: EmulatedTPMGuest = try! EmulatedTPMGuest(attestationKeyTemplate: EmulatedTPMGuest.azureAttestationKeyTemplate)
    static let amdVerifier = AttestationVerifier(configuration: .init(verificationTime: TestData.verificationTime))

    static func realBundle(_ testCase: (folder: String, vcek: String, root: String)) throws -> EvidenceBundle {
        let folder = "tpm/\(testCase.folder)"
        let json = try TestData.caseJSON(testCase.folder)
        var pcrs: [Int: [UInt8]] = [:]
        for (index, hex) in json["pcr_values_sha256"] as! [String: String] { pcrs[Int(index)!] = [UInt8](hex: hex) }
        return EvidenceBundle(nonce: [UInt8](hex: json["nonce_hex"] as! String), runtimeKey: nil, evidence: .azureSEVSNPvTPM(AzureVTPMEvidence(
            hclReport: try TestData.bytes("\(folder)/hcl_report.bin"),
            certificates: SNPCertificateChain(endorsementKey: try AMDCertificate.certificates(derOrPEM: try TestData.bytes("\(folder)/\(testCase.vcek)"))[0]),
            quote: TPMQuoteEvidence(
                attest: try TestData.bytes("\(folder)/quote.tpms_attest.bin"),
                signature: .azureRSASSA(try TestData.bytes("\(folder)/quote.sig.raw_rsa2048.bin")), pcrs: [.sha256: pcrs], eventLog: nil))))
    }

    static func extraData(_ folder: String) throws -> [UInt8] {
        [UInt8](hex: try TestData.caseJSON(folder)["extraData"] as! String)
    }

    @Test(arguments: cases.indices)
    func realAzureEvidenceVerifiesToAMDsRoot(_ index: Int) throws {
        let testCase = Self.cases[index]
        let verified = try Self.amdVerifier.verify(try Self.realBundle(testCase), expecting: .qualifyingData(try Self.extraData(testCase.folder)))
        #expect(verified.roots.map(\.description) == ["\(testCase.root) (snp-ark)"])
        #expect(verified.type == .azureSEVSNPvTPM)
        #expect(!verified.emulated)
        let json = try TestData.caseJSON(testCase.folder)
        #expect(verified.tpm?.pcrs[.sha256]?[0] == [UInt8](hex: (json["pcr_values_sha256"] as! [String: String])["0"]!))
        // The SNP report's REPORT_DATA commits to the runtime claims, not to the nonce.
        let report = try HCLReport(bytes: try TestData.bytes("tpm/\(testCase.folder)/hcl_report.bin"))
        #expect(verified.snp?.reportData == report.expectedReportData)
    }

    @Test func realAzureEvidenceTamperedIsRefused() throws {
        let testCase = Self.cases[3]
        let genuine = try Self.realBundle(testCase)
        let binding = ExpectedBinding.qualifyingData(try Self.extraData(testCase.folder))
        guard case .azureSEVSNPvTPM(let evidence) = genuine.evidence else { return }
        func verify(_ change: (inout AzureVTPMEvidence) throws -> Void) throws -> AttestationError? {
            var copy = evidence
            try change(&copy)
            do {
                _ = try Self.amdVerifier.verify(EvidenceBundle(nonce: genuine.nonce, runtimeKey: nil, evidence: .azureSEVSNPvTPM(copy)), expecting: binding)
                return nil
            } catch {
                return error
            }
        }
        // A letter of the AK's modulus in the runtime claims changed (the claims still parse):
        // REPORT_DATA no longer commits to them.
        let claims = try verify { evidence in
            let marker = Array(#""n":""#.utf8)
            let start = (HCLReport.runtimeClaimsOffset..<evidence.hclReport.count).first { evidence.hclReport[$0...].starts(with: marker) }! + marker.count
            evidence.hclReport[start] ^= 0x20
        }
        guard case .hclReportNotVerified(.reportDataMismatch) = claims else { Issue.record("claims: \(String(describing: claims))"); return }
        #expect(claims?.step == .endorsement)
        // The SNP report's measurement changed: its signature fails.
        let measurement = try verify { $0.hclReport[HCLReport.hardwareReportOffset + 0x90] ^= 1 }
        #expect(measurement == .snpVerificationFailed(.reportSignatureInvalid))
        // A quoted PCR changed, and the quote's signature flipped.
        let pcr = try verify { $0.quote.pcrs[.sha256]![0]![0] ^= 1 }
        guard case .quoteVerificationFailed(.pcrDigestMismatch) = pcr else { Issue.record("pcr: \(String(describing: pcr))"); return }
        let signature = try verify { evidence in
            guard case .rsa(let scheme, let hash, var bytes) = evidence.quote.signature else { return }
            bytes[0] ^= 1
            evidence.quote.signature = .rsa(scheme: scheme, hash: hash, signature: bytes)
        }
        guard case .quoteVerificationFailed(.signatureInvalid) = signature else { Issue.record("signature: \(String(describing: signature))"); return }
        #expect(throws: AttestationError.bindingMismatch(field: "TPMS_ATTEST.extraData", expected: [1], actual: try Self.extraData(testCase.folder))) {
            try Self.amdVerifier.verify(genuine, expecting: .qualifyingData([1]))
        }
    }

    @Test func emulatedAzureEvidenceBindsNonceAndRuntimeKeyThroughTheQuote() throws {
        let nonce = newNonce(), key = newRuntimeKey()
        let verified = try EmulatedSNPGuest.verifier().verify(try Self.guest.azureBundle(nonce: nonce, runtimeKey: key), expecting: .nonce(nonce))
        #expect(verified.roots.map(\.description) == ["emulated (untrusted) (snp-ark, emulated)"])
        #expect(verified.runtimeKey == key)
        #expect(verified.tpm?.quote.attest.extraData == (try EvidenceBinding.qualifyingData(nonce: nonce, runtimeKey: key)))
        #expect(verified.snp?.measurement == EmulatedSNPGuest.measurement)
        #expect(verified.tpm?.eventLog?.secureBoot == true)
    }

    @Test func emulatedAzureEvidenceTamperedIsRefused() throws {
        let nonce = newNonce(), key = newRuntimeKey()
        let bundle = try Self.guest.azureBundle(nonce: nonce, runtimeKey: key)
        let verifier = EmulatedSNPGuest.verifier()
        #expect(throws: AttestationError.emulatedRootNotAllowed(root: SNPTrustAnchor.emulatedName)) {
            try EmulatedSNPGuest.verifier(allowEmulatedRoots: false).verify(bundle, expecting: .nonce(nonce))
        }
        let fresh = newNonce()
        #expect(throws: AttestationError.nonceMismatch(expected: fresh, actual: nonce)) { try verifier.verify(bundle, expecting: .nonce(fresh)) }
        var swapped = bundle
        swapped.runtimeKey = newRuntimeKey()
        #expect(throws: AttestationError.bindingMismatch(
            field: "TPMS_ATTEST.extraData", expected: try EvidenceBinding.qualifyingData(nonce: nonce, runtimeKey: swapped.runtimeKey),
            actual: try EvidenceBinding.qualifyingData(nonce: nonce, runtimeKey: key))) {
            try verifier.verify(swapped, expecting: .nonce(nonce))
        }
        // A genuine report naming another AK: the quote by this guest's AK does not verify under it.
        let other = try EmulatedTPMGuest(attestationKeyTemplate: EmulatedTPMGuest.azureAttestationKeyTemplate)
        #expect {
            try verifier.verify(try Self.guest.azureBundle(nonce: nonce, runtimeKey: key, claimedKey: other.ak.publicArea), expecting: .nonce(nonce))
        } throws: { error in
            guard case AttestationError.quoteVerificationFailed(.signatureInvalid) = error else { return false }
            return true
        }
        // This guest's report with the other guest's quote spliced in.
        guard case .azureSEVSNPvTPM(var evidence) = bundle.evidence,
              case .azureSEVSNPvTPM(let otherEvidence) = try other.azureBundle(nonce: nonce, runtimeKey: key).evidence else { return }
        evidence.quote = otherEvidence.quote
        #expect {
            try verifier.verify(EvidenceBundle(nonce: nonce, runtimeKey: key, evidence: .azureSEVSNPvTPM(evidence)), expecting: .nonce(nonce))
        } throws: { error in
            guard case AttestationError.quoteVerificationFailed(.signatureInvalid) = error else { return false }
            return true
        }
    }
}
