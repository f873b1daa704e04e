import Attestation
import Foundation
import SEVSNP
import TPM2
import Testing

/// The example policies and reference values (examples/policies/) applied to real and emulated
/// verified evidence: every rule listed with expected and actual, the AR4SI vector and status.
@Suite struct AppraisalTests {
    static func policy(_ name: String) throws -> AppraisalPolicy { try AppraisalPolicy(json: try TestData.example(name)) }
    static func reference(_ name: String) throws -> ReferenceValues { try ReferenceValues(json: try TestData.example(name)) }

    static func gceEvidence() throws -> VerifiedEvidence {
        try TestData.gceVerifier().verify(try TestData.gceBundle(), expecting: .qualifyingData(TestData.gceQualifyingData))
    }

    static func milanEvidence() throws -> VerifiedEvidence {
        let bundle = try TestData.milanBundle()
        guard case .sevSNP(let snp) = bundle.evidence else { throw CocoaError(.featureUnsupported) }
        return try AttestationVerifier(configuration: .init(verificationTime: TestData.verificationTime))
            .verify(bundle, expecting: .reportData(snp.report.reportData))
    }

    @Test func realGCEEvidenceSatisfiesTheShieldedVMPolicy() throws {
        let evidence = try Self.gceEvidence()
        let appraisal = try Self.policy("gce-shielded-vm.policy.json")
            .appraise(evidence, referenceValues: try Self.reference("gce-cos85.reference.json"), at: evidence.verificationTime + 10)
        #expect(appraisal.status == .affirming)
        #expect(appraisal.failures.isEmpty, "\(appraisal.explain())")
        // platform, root, secure boot, 4 PCRs, 3 boot files, age.
        #expect(appraisal.results.count == 11)
        #expect(appraisal.results.map(\.subject).contains("PCR 4 (sha256)"))
        let vector = appraisal.trustworthinessVector
        #expect(vector[.hardware] == 2)
        #expect(vector[.configuration] == 2)
        #expect(vector[.executables] == 3)
        #expect(vector[.instanceIdentity] == 2)
        #expect(vector[.runtimeOpaque] == 0)
        #expect(appraisal.policyID == "examples/policies/gce-shielded-vm.policy.json")
        let lines = appraisal.explain().split(separator: "\n")
        #expect(lines.count == 12)
        #expect(lines.dropLast().allSatisfy { $0.hasPrefix("✔ ") })
        #expect(lines.last == "status: affirming (all 11 checks passed)")
        #expect(lines.contains("✔ secure boot: expected enabled, actual enabled"))
    }

    @Test func aChangedReferencePCRFailsThatRuleOnly() throws {
        let evidence = try Self.gceEvidence()
        var reference = try Self.reference("gce-cos85.reference.json")
        let expected = [UInt8](repeating: 0xAB, count: 32)
        reference.pcrs[.sha256]![4] = [expected]
        reference.bootFiles.removeLast()
        let appraisal = try Self.policy("gce-shielded-vm.policy.json").appraise(evidence, referenceValues: reference, at: evidence.verificationTime)
        #expect(appraisal.status == .contraindicated)
        #expect(appraisal.failures.map(\.subject) == ["PCR 4 (sha256)", "boot file (event 40)"])
        let pcr4 = appraisal.failures[0]
        #expect(pcr4.expected == "one of \(expected.hex)")
        #expect(pcr4.actual == "d690bdac2aa8b73a1d718cb91990df07d0747b07ea57b3b2d0f0d511f0d90491")
        #expect(pcr4.value == 96)
        #expect(appraisal.trustworthinessVector[.executables] == 96)
        let failedLines = appraisal.explain().split(separator: "\n").filter { $0.hasPrefix("✘ ") }
        #expect(failedLines.first == "✘ PCR 4 (sha256): expected one of \(expected.hex), actual d690bdac2aa8b73a1d718cb91990df07d0747b07ea57b3b2d0f0d511f0d90491")
        #expect(appraisal.explain().hasSuffix("status: contraindicated (2 of 11 checks failed)"))
    }

    @Test func staleVerificationFailsTheAgeRule() throws {
        let evidence = try Self.gceEvidence()
        let policy = AppraisalPolicy(rules: [.init(.maximumAge(seconds: 300))])
        #expect(policy.appraise(evidence, referenceValues: ReferenceValues(), at: evidence.verificationTime + 300).status == .affirming)
        let stale = policy.appraise(evidence, referenceValues: ReferenceValues(), at: evidence.verificationTime + 301)
        #expect(stale.status == .contraindicated)
        #expect(stale.results[0].actual == "301 s since verification")
        #expect(stale.trustworthinessVector[.instanceIdentity] == 97)
    }

    @Test func realMilanEvidenceFailsTheProductionPolicyForItsDebugPolicyAndMissingKey() throws {
        let evidence = try Self.milanEvidence()
        let appraisal = try Self.policy("snp-production.policy.json")
            .appraise(evidence, referenceValues: try Self.reference("snp-milan.reference.json"), at: evidence.verificationTime)
        #expect(appraisal.status == .contraindicated)
        #expect(appraisal.failures.map(\.rule) == ["debug-forbidden", "snp-policy-flags", "runtime-key"], "\(appraisal.explain())")
        let debug = appraisal.failures[0]
        #expect(debug.expected == "clear")
        #expect(debug.actual == "set")
        #expect(appraisal.failures[1].actual == "smt, debug")
        #expect(appraisal.trustworthinessVector[.runtimeOpaque] == 96)
        #expect(appraisal.trustworthinessVector[.hardware] == 2)
        #expect(appraisal.results.filter { $0.rule == "min-tcb" }.map(\.subject)
            == ["reported TCB bootloader", "reported TCB tee", "reported TCB snp", "reported TCB microcode"])
        #expect(appraisal.results.first { $0.rule == "snp-measurement" }?.passed == true)
    }

    @Test func aHigherMinimumTCBFailsItsComponent() throws {
        let evidence = try Self.milanEvidence()
        var reference = try Self.reference("snp-milan.reference.json")
        reference.minimumTCB = SNPPolicy.MinimumTCB(snp: 8, microcode: 68)
        let appraisal = AppraisalPolicy(rules: [.init(.minimumTCB, severity: .warning)]).appraise(evidence, referenceValues: reference)
        #expect(appraisal.results.map(\.passed) == [false, true])
        #expect(appraisal.results[0].expected == "at least 8")
        #expect(appraisal.results[0].actual == "5")
        // A warning rule gives AR4SI's "unsafe hardware" and an overall warning.
        #expect(appraisal.status == .warning)
        #expect(appraisal.trustworthinessVector[.hardware] == 32)
        #expect(appraisal.explain().contains("✘ reported TCB snp: expected at least 8, actual 5 (warning)"))
    }

    @Test func emulatedEvidenceFailsTheProductionPolicyAndClaimsNoGenuineHardware() throws {
        let nonce = newNonce()
        let evidence = try EmulatedSNPGuest.verifier().verify(try EmulatedSNPGuest.bundle(nonce: nonce, runtimeKey: newRuntimeKey()), expecting: .nonce(nonce))
        let production = try Self.policy("snp-production.policy.json")
            .appraise(evidence, referenceValues: try Self.reference("snp-milan.reference.json"), at: evidence.verificationTime)
        #expect(production.status == .contraindicated)
        #expect(production.failures.map(\.rule) == ["non-emulated-root", "snp-measurement"], "\(production.explain())")
        #expect(production.trustworthinessVector[.hardware] == 97)
        let development = try Self.policy("emulated-development.policy.json")
            .appraise(evidence, referenceValues: try Self.reference("emulated-development.reference.json"), at: evidence.verificationTime)
        #expect(development.status == .affirming, "\(development.explain())")
        // Passing hardware and memory-encryption checks on emulated evidence claim nothing.
        #expect(development.trustworthinessVector[.hardware] == 0)
        #expect(development.trustworthinessVector[.runtimeOpaque] == 0)
        #expect(development.trustworthinessVector[.executables] == 3)
    }

    @Test func rulesNeedingAnotherPlatformFailWithAReason() throws {
        let evidence = try Self.gceEvidence()
        let policy = AppraisalPolicy(rules: [.init(.debugForbidden), .init(.snpMeasurement), .init(.minimumTCB), .init(.runtimeKey)])
        let appraisal = policy.appraise(evidence, referenceValues: try Self.reference("snp-milan.reference.json"))
        #expect(appraisal.results.allSatisfy { !$0.passed })
        #expect(appraisal.results[0].actual == "none in tpm evidence")
        let milan = try Self.milanEvidence()
        let tpmRules = AppraisalPolicy(rules: [.init(.secureBoot), .init(.pcrs(bank: .sha256, indices: [0])), .init(.bootFiles)])
        let onSNP = tpmRules.appraise(milan, referenceValues: try Self.reference("gce-cos85.reference.json"))
        #expect(onSNP.results.map(\.actual) == ["no TPM quote in sev-snp evidence", "no TPM quote in sev-snp evidence", "no TPM quote in sev-snp evidence"])
    }

    @Test func policiesAndReferenceValuesDecodeStrictly() throws {
        let rules: [(String, String)] = [
            ("unknown rule", #"{"version":1,"rules":[{"rule":"trust-me"}]}"#),
            ("unknown member", #"{"version":1,"rules":[{"rule":"secure-boot","indices":[1]}]}"#),
            ("bad bank", #"{"version":1,"rules":[{"rule":"pcrs","bank":"md5"}]}"#),
            ("bad index", #"{"version":1,"rules":[{"rule":"pcrs","indices":[24]}]}"#),
            ("negative age", #"{"version":1,"rules":[{"rule":"max-report-age","seconds":-1}]}"#),
            ("unknown platform", #"{"version":1,"rules":[{"rule":"platform","in":["sgx"]}]}"#),
            ("no rules", #"{"version":1,"rules":[]}"#),
            ("version", #"{"version":2,"rules":[{"rule":"secure-boot"}]}"#),
            ("severity", #"{"version":1,"rules":[{"rule":"secure-boot","severity":"fatal"}]}"#),
            ("top-level member", #"{"version":1,"rules":[{"rule":"secure-boot"}],"extra":1}"#),
        ]
        for (name, json) in rules {
            #expect(throws: AttestationError.self, "\(name)") { try AppraisalPolicy(json: Array(json.utf8)) }
        }
        let references = [
            #"{"snpMeasurements":["00"]}"#, #"{"pcrs":{"sha256":{"0":["00"]}}}"#, #"{"pcrs":{"sha256":{"x":[]}}}"#,
            #"{"bootFiles":["zz"]}"#, #"{"allowedSNPPolicyFlags":["turbo"]}"#, #"{"minimumTCB":{"sp":1}}"#, #"{"pcr":{}}"#,
        ]
        for json in references {
            #expect(throws: AttestationError.self, "\(json)") { try ReferenceValues(json: Array(json.utf8)) }
        }
        // Every example policy survives a round trip through its encoding.
        for name in ["gce-shielded-vm.policy.json", "snp-production.policy.json", "emulated-development.policy.json", "emulated-cvm.policy.json"] {
            let policy = try Self.policy(name)
            #expect(try AppraisalPolicy(json: Array(JSONEncoder().encode(policy))) == policy)
        }
    }
}
