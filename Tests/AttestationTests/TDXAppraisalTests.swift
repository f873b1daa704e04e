import Attestation
import EventLog
import Foundation
import TDX
import TDXTestSupport
import Testing

/// The TDX rules (`tdx-mrtd`, `tdx-rtmrs`, `tdx-tcb-status`, and `debug-forbidden` and
/// `secure-boot` on TDs) over the real Azure quote and synthetic TDs: every outcome with expected
/// and actual, and the AR4SI values docs/policy.md lists.
@Suite struct TDXAppraisalTests {
    static func azureEvidence() throws -> VerifiedEvidence {
        try TDXPipelineTests.intelVerifier.verify(try TestData.azureTDXBundle(), expecting: .reportData(TestData.azureTDXReportData))
    }

    static func policy(_ json: String) throws -> AppraisalPolicy { try AppraisalPolicy(json: Array(json.utf8)) }

    static let zeroRTMR = String(repeating: "0", count: 96)

    @Test func theRealAzureTDMeetsItsReferenceValuesButHasNoTCBStatus() throws {
        let evidence = try Self.azureEvidence()
        let policy = try Self.policy("""
            {"version": 1, "rules": [{"rule": "platform", "in": ["tdx"]}, {"rule": "non-emulated-root"}, {"rule": "tdx-mrtd"},
              {"rule": "tdx-rtmrs", "indices": [0, 3]}, {"rule": "debug-forbidden"}, {"rule": "tdx-tcb-status"}]}
            """)
        let reference = try ReferenceValues(json: Array("""
            {"tdxMRTDs": ["\(TestData.azureTDXMRTD.hex)"], "tdxRTMRs": {"0": ["\(Self.zeroRTMR)"], "3": ["\(Self.zeroRTMR)"]}}
            """.utf8))
        let appraisal = policy.appraise(evidence, referenceValues: reference, at: evidence.verificationTime)
        #expect(appraisal.results.map(\.subject) == [
            "platform", "roots", "TDX MRTD", "RTMR[0]", "RTMR[3]", "TD attributes DEBUG", "TDX TCB status",
        ])
        #expect(appraisal.failures.map(\.rule) == ["tdx-tcb-status"], "\(appraisal.explain())")
        let tcb = appraisal.failures[0]
        #expect(tcb.expected == "one of UpToDate")
        #expect(tcb.actual == "not evaluated: no collateral")
        #expect(tcb.value == 96)
        let vector = appraisal.trustworthinessVector
        #expect(vector[.hardware] == 96)
        #expect(vector[.executables] == 3)
        #expect(vector[.runtimeOpaque] == 2)
        #expect(appraisal.status == .contraindicated)
        // The same rule as a warning leaves the hardware claim at "unsafe".
        let lenient = try Self.policy(#"{"version": 1, "rules": [{"rule": "tdx-tcb-status", "severity": "warning"}]}"#)
            .appraise(evidence, referenceValues: reference, at: evidence.verificationTime)
        #expect(lenient.trustworthinessVector[.hardware] == 32)
        #expect(lenient.status == .warning)
        // Another MRTD or RTMR value fails that check only.
        var other = reference
        other.tdxMRTDs = [[UInt8](repeating: 0xAB, count: 48)]
        other.tdxRTMRs[3] = [[UInt8](repeating: 0xCD, count: 48)]
        let failing = policy.appraise(evidence, referenceValues: other, at: evidence.verificationTime)
        #expect(failing.failures.map(\.subject) == ["TDX MRTD", "RTMR[3]", "TDX TCB status"])
        #expect(failing.failures[0].actual == TestData.azureTDXMRTD.hex)
        #expect(failing.failures[1].expected == "one of \(String(repeating: "cd", count: 48))")
        #expect(failing.failures[1].actual == Self.zeroRTMR)
    }

    @Test func theRealAzureTDAgainstTheExampleProductionPolicy() throws {
        let evidence = try Self.azureEvidence()
        let policy = try AppraisalTests.policy("tdx-production.policy.json")
        #expect(try AppraisalPolicy(json: Array(JSONEncoder().encode(policy))) == policy)
        let appraisal = policy.appraise(evidence, referenceValues: try AppraisalTests.reference("azure-tdx.reference.json"), at: evidence.verificationTime)
        // No collateral was available for this quote, and the Azure TD bound no runtime key.
        #expect(appraisal.failures.map(\.rule) == ["tdx-tcb-status", "runtime-key"], "\(appraisal.explain())")
        #expect(appraisal.results.count == 11)
        #expect(appraisal.status == .contraindicated)
        #expect(appraisal.policyID == "examples/policies/tdx-production.policy.json")
    }

    @Test func theTCBStatusRuleAcceptsTheListedStatusesAndNamesAdvisories() throws {
        let nonce = newNonce()
        let bundle = try SyntheticTD.bundle(nonce: nonce, runtimeKey: nil, collateral: try SyntheticTD.collateral()) { $0.teeTCBSVN[0] = 3 }
        let evidence = try SyntheticTD.verifier().verify(bundle, expecting: .nonce(nonce))
        let strict = AppraisalPolicy(rules: [.init(.tdxTCBStatus([.upToDate]))]).appraise(evidence, referenceValues: ReferenceValues())
        #expect(strict.results.map(\.actual) == ["OutOfDate (INTEL-SA-00960)"])
        #expect(!strict.results[0].passed)
        let accepting = AppraisalPolicy(rules: [.init(.tdxTCBStatus([.upToDate, .outOfDate]))]).appraise(evidence, referenceValues: ReferenceValues())
        #expect(accepting.results[0].passed)
        #expect(accepting.results[0].expected == "one of UpToDate, OutOfDate")
        // A passing hardware check on emulated evidence claims nothing.
        #expect(accepting.trustworthinessVector[.hardware] == 0)
        // Collateral without TCB Info verifies the quote but evaluates no status.
        let crlOnly = try TDXBundleCollateral(rootCACRL: try SyntheticPlatform.revocationList(
            issuer: SyntheticTD.platform.root, key: SyntheticTD.platform.rootKey, revoking: []).derBytes)
        let unevaluated = try SyntheticTD.verifier().verify(
            try SyntheticTD.bundle(nonce: nonce, runtimeKey: nil, collateral: crlOnly), expecting: .nonce(nonce))
        #expect(AppraisalPolicy(rules: [.init(.tdxTCBStatus([.upToDate]))]).appraise(unevaluated, referenceValues: ReferenceValues())
            .results.map(\.actual) == ["not evaluated: the collateral has no TCB Info"])
    }

    @Test func aDebugTDIsRefusedByDebugForbidden() throws {
        let nonce = newNonce()
        let evidence = try SyntheticTD.verifier().verify(
            try SyntheticTD.bundle(nonce: nonce, runtimeKey: nil) { $0.tdAttributes |= 1 }, expecting: .nonce(nonce))
        #expect(evidence.claims.tdx?.debug == true)
        #expect(evidence.claims.tdx?.tdAttributes == "0x10000001")
        let appraisal = AppraisalPolicy(rules: [.init(.debugForbidden)]).appraise(evidence, referenceValues: ReferenceValues())
        let result = try #require(appraisal.results.first)
        #expect((result.subject, result.passed, result.expected, result.actual) == ("TD attributes DEBUG", false, "clear", "set"))
        #expect(result.claim == .runtimeOpaque && result.value == 96)
    }

    /// SecureBoot as each log's EV_EFI_VARIABLE_DRIVER_CONFIG event in MR index 1 holds it, read
    /// with a separate parser: 01 (enabled), empty data (disabled), no such event.
    @Test(arguments: [("tdx-ovmf-grub-ubuntu-ccel", "enabled"), ("tdx-ovmf-direct-kernel-ccel", "disabled"), ("tdx-td-shim-ccel", "SecureBoot not measured in RTMR[0]")])
    func secureBootIsReadFromTheReplayedCCEL(_ name: String, _ expected: String) throws {
        let nonce = newNonce()
        let rtmrs = try TDXPipelineTests.publishedRTMRs(name)
        let evidence = try SyntheticTD.verifier().verify(
            try SyntheticTD.bundle(nonce: nonce, runtimeKey: nil, eventLog: try TestData.bytes("eventlog/\(name).bin")) { $0.rtmrs = rtmrs },
            expecting: .nonce(nonce))
        let appraisal = AppraisalPolicy(rules: [.init(.secureBoot)]).appraise(evidence, referenceValues: ReferenceValues())
        #expect(appraisal.results.map(\.actual) == [expected])
        let withoutLog = try SyntheticTD.verifier().verify(try SyntheticTD.bundle(nonce: nonce, runtimeKey: nil), expecting: .nonce(nonce))
        #expect(AppraisalPolicy(rules: [.init(.secureBoot)]).appraise(withoutLog, referenceValues: ReferenceValues()).results.map(\.actual) == ["no event log"])
    }

    /// A forged "SecureBoot off" event put ahead of the real one, and extended into RTMR[2] (which
    /// the guest itself can extend at run time, so the TD report agrees with it), cannot change the
    /// claim: SecureBoot is read only from RTMR[0], where the firmware measures it.
    @Test func forgedSecureBootEventInRTMR2LeavesTheClaim() throws {
        let name = "tdx-ovmf-grub-ubuntu-ccel"
        var log = try EventLog(bytes: try TestData.bytes("eventlog/\(name).bin"))
        let real = try #require(log.events.firstIndex { event in
            guard event.eventType == .efiVariableDriverConfig, case .variable(let variable) = event.content else { return false }
            return variable.unicodeName == "SecureBoot"
        })
        var forged = log.events[real]
        forged.pcrIndex = 3
        forged.data[forged.data.count - 1] = 0
        forged.digests = forged.digests.map { TCGDigest(algorithm: $0.algorithm, bytes: $0.algorithm.hash(forged.data)!) }
        log.events.insert(forged, at: real)
        for index in log.events.indices { log.events[index].index = index }
        let bytes = log.encoded()
        #expect(try EventLog(bytes: bytes).secureBootReport().secureBoot == false)
        // The TD report holds whatever the forged log replays to, as if the guest had extended it.
        let replayed = try EventLog(bytes: bytes).replay(registers: .tdxRTMRs).values.banks[.sha384] ?? [:]
        var rtmrs = try TDXPipelineTests.publishedRTMRs(name)
        for (index, value) in replayed { rtmrs[Int(index) - 1] = value }
        let nonce = newNonce()
        let evidence = try SyntheticTD.verifier().verify(
            try SyntheticTD.bundle(nonce: nonce, runtimeKey: nil, eventLog: bytes) { $0.rtmrs = rtmrs }, expecting: .nonce(nonce))
        #expect(evidence.tdx?.eventLog?.secureBoot == true)
    }

    @Test func tdxRulesOnOtherPlatformsFailWithAReason() throws {
        let milan = try AppraisalTests.milanEvidence()
        let reference = ReferenceValues(tdxMRTDs: [[UInt8](repeating: 1, count: 48)], tdxRTMRs: [1: [[UInt8](repeating: 1, count: 48)]])
        let policy = AppraisalPolicy(rules: [.init(.tdxMRTD), .init(.tdxRTMRs(indices: nil)), .init(.tdxTCBStatus([.upToDate]))])
        let appraisal = policy.appraise(milan, referenceValues: reference)
        #expect(appraisal.results.map(\.subject) == ["TDX MRTD", "RTMR[1]", "TDX TCB status"])
        #expect(appraisal.results.allSatisfy { !$0.passed && $0.actual == "none in sev-snp evidence" })
        let gce = try AppraisalTests.gceEvidence()
        let debug = AppraisalPolicy(rules: [.init(.debugForbidden)]).appraise(gce, referenceValues: reference).results[0]
        #expect((debug.passed, debug.expected, debug.actual) == (false, "an SEV-SNP report or a TDX quote", "none in tpm evidence"))
        let unconfigured = AppraisalPolicy(rules: [.init(.tdxRTMRs(indices: nil))]).appraise(try Self.azureEvidence(), referenceValues: ReferenceValues())
        #expect(unconfigured.results.map(\.actual) == ["none configured"])
    }

    @Test func tdxRulesAndReferenceValuesDecodeStrictly() throws {
        let policy = try Self.policy("""
            {"version": 1, "rules": [{"rule": "tdx-mrtd"}, {"rule": "tdx-rtmrs"}, {"rule": "tdx-rtmrs", "indices": [1, 2]},
              {"rule": "tdx-tcb-status"}, {"rule": "tdx-tcb-status", "in": ["UpToDate", "SWHardeningNeeded"], "severity": "warning"}]}
            """)
        #expect(policy.rules.map(\.requirement) == [
            .tdxMRTD, .tdxRTMRs(indices: nil), .tdxRTMRs(indices: [1, 2]), .tdxTCBStatus([.upToDate]), .tdxTCBStatus([.upToDate, .swHardeningNeeded]),
        ])
        #expect(try AppraisalPolicy(json: Array(JSONEncoder().encode(policy))) == policy)
        for json in [
            #"{"version":1,"rules":[{"rule":"tdx-rtmrs","indices":[4]}]}"#, #"{"version":1,"rules":[{"rule":"tdx-tcb-status","in":["Great"]}]}"#,
            #"{"version":1,"rules":[{"rule":"tdx-tcb-status","in":[]}]}"#, #"{"version":1,"rules":[{"rule":"tdx-mrtd","indices":[0]}]}"#,
            #"{"version":1,"rules":[{"rule":"tdx-tcb-status","bank":"sha384"}]}"#,
        ] {
            #expect(throws: AttestationError.self, "\(json)") { try AppraisalPolicy(json: Array(json.utf8)) }
        }
        let value = String(repeating: "ab", count: 48)
        let reference = try ReferenceValues(json: Array(#"{"tdxMRTDs":["\#(value)"],"tdxRTMRs":{"2":["\#(value)","\#(Self.zeroRTMR)"]}}"#.utf8))
        #expect(reference.tdxMRTDs == [[UInt8](repeating: 0xAB, count: 48)])
        #expect(reference.tdxRTMRs == [2: [[UInt8](repeating: 0xAB, count: 48), [UInt8](repeating: 0, count: 48)]])
        for json in [
            #"{"tdxMRTDs":["ab"]}"#, #"{"tdxRTMRs":{"4":["\#(value)"]}}"#, #"{"tdxRTMRs":{"02":["\#(value)"]}}"#, #"{"tdxRTMRs":{"0":["abcd"]}}"#,
            #"{"tdxRTMR":{}}"#,
        ] {
            #expect(throws: AttestationError.self, "\(json)") { try ReferenceValues(json: Array(json.utf8)) }
        }
    }
}
