import EventLog
import Foundation
import TDX
import TDXTestSupport
import TestSupport
import Testing

@Suite("TDX policy appraisal")
struct PolicyTests {
    func azure() throws -> VerifiedTDXQuote {
        try TDXVerifier().verify(try TDXQuote(bytes: try TestData.azureQuote), at: TestData.verificationTime)
    }

    func synthetic(_ spec: SyntheticPlatform.QuoteSpec = .init(), collateral: Bool = true) throws -> VerifiedTDXQuote {
        let platform = try SyntheticPlatform()
        return try TDXVerifier(trustAnchor: platform.anchor).verify(
            try TDXQuote(bytes: try platform.quote(spec)), collateral: collateral ? try platform.collateral() : TDXCollateral(),
            at: SyntheticPlatform.time)
    }

    func rule(_ appraisal: TDXAppraisal, _ name: String) throws -> TDXAppraisal.Rule {
        try #require(appraisal.rules.first { $0.name == name })
    }

    @Test("The default policy checks only that debug is off, which the Azure TD passes")
    func defaults() throws {
        let appraisal = TDXPolicy().appraise(try self.azure())
        #expect(appraisal.passed)
        #expect(appraisal.rules == [.init(name: "debug", passed: true, expected: "TDATTRIBUTES.DEBUG clear", actual: "clear")])
    }

    @Test("Allowlists of MRTD, RTMRs and the owner fields list expected and actual values")
    func allowlists() throws {
        let mrTD = "024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b66205949d15469dc8c1ba7ab7b"
        let zero = String(repeating: "0", count: 96)
        var policy = TDXPolicy()
        policy.mrTD = [TDXHexBytes(hex: String(repeating: "ab", count: 48))!, TDXHexBytes(hex: mrTD)!]
        policy.rtmr0 = [TDXHexBytes(hex: zero)!]
        policy.mrConfigID = [TDXHexBytes(hex: zero)!]
        policy.mrOwner = [TDXHexBytes(hex: zero)!]
        policy.mrOwnerConfig = [TDXHexBytes(hex: zero)!]
        #expect(policy.appraise(try self.azure()).passed)
        policy.rtmr3 = [TDXHexBytes(hex: String(repeating: "11", count: 48))!]
        let appraisal = policy.appraise(try self.azure())
        #expect(!appraisal.passed)
        #expect(appraisal.failures == [.init(name: "rtmr3", passed: false, expected: String(repeating: "11", count: 48), actual: zero)])
        #expect(try self.rule(appraisal, "mrtd").expected == "\(String(repeating: "ab", count: 48)) or \(mrTD)")
    }

    @Test("REPORTDATA must equal the expected value, zero-extended to 64 bytes")
    func reportData() throws {
        var policy = TDXPolicy()
        policy.reportData = TDXHexBytes(hex: "9734504f161d104c74e3165c15f779b06a9bb40dfa71937817d7eee68e593839")
        #expect(policy.appraise(try self.azure()).passed)
        policy.reportData = TDXHexBytes(hex: "9734504f")
        #expect(!policy.appraise(try self.azure()).passed)
    }

    @Test("Debug TDs are refused unless allowed")
    func debug() throws {
        var spec = SyntheticPlatform.QuoteSpec()
        spec.tdAttributes |= 1
        let verified = try self.synthetic(spec)
        #expect(verified.body.tdAttributes.debug)
        var policy = TDXPolicy()
        #expect(policy.appraise(verified).failures == [.init(name: "debug", passed: false, expected: "TDATTRIBUTES.DEBUG clear", actual: "set")])
        policy.allowDebug = true
        #expect(policy.appraise(verified).passed)
    }

    @Test("TCB statuses: accepted ones pass, others fail with their advisories, unevaluated fails")
    func tcbStatus() throws {
        var policy = TDXPolicy()
        policy.acceptedTCBStatuses = [.upToDate, .swHardeningNeeded]
        #expect(policy.appraise(try self.synthetic()).passed)
        var spec = SyntheticPlatform.QuoteSpec()
        spec.qeISVSVN = 3
        #expect(policy.appraise(try self.synthetic(spec)).failures == [
            .init(name: "tcb status", passed: false, expected: "UpToDate or SWHardeningNeeded", actual: "OutOfDate (INTEL-SA-00615)"),
        ])
        #expect(policy.appraise(try self.azure()).failures == [
            .init(name: "tcb status", passed: false, expected: "UpToDate or SWHardeningNeeded", actual: "not evaluated (no TCB Info)"),
        ])
    }

    /// The CCEL logs with RTMR values their sources published (shared/testdata/eventlog/README.md).
    static let logs = [
        "tdx-ovmf-direct-kernel-ccel", "tdx-ovmf-grub-ubuntu-ccel", "tdx-td-shim-ccel", "gke-tdx-grub-ccel",
        "gce-cos113-tdx-ccel-dupe-separator", "gce-cos113-tdx-ccel-dupe-separator-unpadded",
    ]

    @Test("RTMRs equal to a CC event log's published values pass its replay; the Azure TD's do not", arguments: Self.logs)
    func replay(log name: String) throws {
        let log = try EventLog(bytes: try TestData.bytes("eventlog/\(name).bin"))
        let published = try PCRValues(json: try TestData.bytes("eventlog/\(name).pcrs.json"))
        var spec = SyntheticPlatform.QuoteSpec()
        spec.rtmrs = (1...4).map { published[.sha384, UInt32($0)] ?? [UInt8](repeating: 0, count: 48) }
        let appraisal = TDXPolicy().appraise(try self.synthetic(spec, collateral: false), eventLog: log)
        #expect(appraisal.passed, "\(appraisal.failures)")
        #expect(appraisal.rules.map(\.name) == ["debug", "event log digests", "rtmr0 replay", "rtmr1 replay", "rtmr2 replay", "rtmr3 replay"])
        let azure = TDXPolicy().appraise(try self.azure(), eventLog: log)
        #expect(azure.failures.map(\.name) == ["rtmr0 replay", "rtmr1 replay", "rtmr2 replay", "rtmr3 replay"].filter { rule in
            published[.sha384, UInt32(Int(rule.dropFirst(4).prefix(1))! + 1)].map { $0 != [UInt8](repeating: 0, count: 48) } ?? false
        })
        let first = try self.rule(azure, "rtmr0 replay")
        #expect(first.expected.hasPrefix(published[.sha384, 1]!.hex))
        #expect(first.actual == String(repeating: "0", count: 96))
    }

    @Test("A log whose RTMR[0] replay differs by one event fails that rule only")
    func replayMismatch() throws {
        let name = "tdx-ovmf-direct-kernel-ccel"
        let published = try PCRValues(json: try TestData.bytes("eventlog/\(name).pcrs.json"))
        var spec = SyntheticPlatform.QuoteSpec()
        spec.rtmrs = (1...4).map { published[.sha384, UInt32($0)]! }
        let verified = try self.synthetic(spec, collateral: false)
        var log = try EventLog(bytes: try TestData.bytes("eventlog/\(name).bin"))
        let index = try #require(log.events.firstIndex { $0.pcrIndex == 1 && $0.eventType != .noAction })
        log.events.remove(at: index)
        let appraisal = TDXPolicy().appraise(verified, eventLog: log)
        #expect(appraisal.failures.map(\.name) == ["rtmr0 replay"])
    }

    @Test("Policies decode from JSON; unknown keys and bad hex are refused")
    func json() throws {
        let text = """
        {"allowDebug": false, "mrTD": ["024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b66205949d15469dc8c1ba7ab7b"],
         "rtmr0": [], "acceptedTCBStatuses": ["UpToDate", "SWHardeningNeeded"], "reportData": "9734504f"}
        """
        let policy = try JSONDecoder().decode(TDXPolicy.self, from: Data(text.utf8))
        #expect(policy.mrTD?.count == 1 && policy.rtmr0 == [] && policy.acceptedTCBStatuses == [.upToDate, .swHardeningNeeded])
        let appraisal = policy.appraise(try self.azure())
        #expect(appraisal.failures.map(\.name) == ["rtmr0", "tcb status", "reportdata"])
        #expect(try self.rule(appraisal, "rtmr0").expected == "(empty allowlist)")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(TDXPolicy.self, from: Data("{\"mrtd\": []}".utf8)) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(TDXPolicy.self, from: Data("{\"mrTD\": [\"xyz\"]}".utf8)) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(TDXPolicy.self, from: Data("{\"acceptedTCBStatuses\": [\"Fine\"]}".utf8)) }
    }
}
