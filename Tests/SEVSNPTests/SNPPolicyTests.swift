import Foundation
import SEVSNP
import TestSupport
import Testing

@Suite("SEV-SNP policy appraisal")
struct SNPPolicyTests {
    static let milanMeasurement =
        "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01"

    func verifiedMilan() throws -> VerifiedSNPReport {
        let report = try SNPReport(bytes: try TestData.milanReport)
        return try SNPVerifier().verify(
            report, certificates: SNPCertificateChain(endorsementKey: try TestData.milanVCEK), at: TestData.verificationTime)
    }

    func rule(_ appraisal: SNPAppraisal, _ name: String) -> SNPAppraisal.Rule? {
        appraisal.rules.first { $0.name == name }
    }

    @Test("A policy matching the README's measurement and the VCEK's TCB passes")
    func matchingPolicy() throws {
        var policy = SNPPolicy()
        policy.allowDebug = true
        policy.allowedMeasurements = [SNPHexBytes(hex: Self.milanMeasurement)!]
        policy.minimumTCB = .init(bootloader: 2, tee: 0, snp: 5, microcode: 0x44)
        policy.signingKey = .vcek
        policy.vmpl = 0
        let appraisal = policy.appraise(try verifiedMilan())
        #expect(appraisal.passed, "\(appraisal.failures)")
        #expect(appraisal.rules.count == 3 + 4 + 3)
    }

    @Test("The default policy forbids debug; this Milan guest's policy allows it (POLICY 0xB0000, bit 19)")
    func debugForbidden() throws {
        let appraisal = SNPPolicy().appraise(try verifiedMilan())
        #expect(!appraisal.passed)
        #expect(rule(appraisal, "debug") == SNPAppraisal.Rule(name: "debug", passed: false, expected: "disabled", actual: "enabled"))
        #expect(appraisal.failures.map(\.name) == ["debug"])
    }

    @Test("Each mismatching reference value fails its own rule with expected and actual values")
    func mismatches() throws {
        var policy = SNPPolicy()
        policy.allowDebug = true
        policy.allowedMeasurements = [SNPHexBytes([UInt8](repeating: 0, count: 48))]
        policy.minimumTCB = .init(fmc: 1, snp: 6)
        policy.minimumABI = .init(major: 255, minor: 0)
        policy.reportData = SNPHexBytes([UInt8](repeating: 0xAA, count: 64))
        policy.signingKey = .vlek
        policy.vmpl = 1
        policy.maskChipKey = true
        let appraisal = policy.appraise(try verifiedMilan())
        #expect(Set(appraisal.failures.map(\.name)) == [
            "measurement", "reported_tcb.fmc", "reported_tcb.snp", "firmware ABI", "report_data", "signing_key", "vmpl",
            "mask_chip_key",
        ])
        #expect(rule(appraisal, "reported_tcb.snp")?.expected == "≥ 6")
        #expect(rule(appraisal, "reported_tcb.snp")?.actual == "5")
        #expect(rule(appraisal, "measurement")?.actual == Self.milanMeasurement)
        #expect(rule(appraisal, "signing_key")?.actual == "VCEK")
    }

    @Test("Policies decode from JSON with hex strings and keep defaults for absent keys")
    func json() throws {
        let text = """
            {"allowedMeasurements": ["\(Self.milanMeasurement)"], "minimumTCB": {"snp": 5}, "signingKey": "vcek"}
            """
        let policy = try JSONDecoder().decode(SNPPolicy.self, from: Data(text.utf8))
        #expect(!policy.allowDebug && !policy.allowMigrationAgent && policy.allowSMT)
        #expect(policy.minimumTCB == .init(snp: 5))
        #expect(policy.signingKey == .vcek)
        #expect(policy.allowedMeasurements?.first?.bytes.count == 48)
        for invalid in [#"{"hostData": "xyz"}"#, #"{"minimumTcb": {"snp": 5}}"#, #"{"minimumTCB": {"SNP": 5}}"#,
                        #"{"minimumABI": {"major": 1, "minor": 55, "build": 3}}"#, #"{"signingKey": "ASK"}"#] {
            #expect(throws: DecodingError.self, "\(invalid)") {
                try JSONDecoder().decode(SNPPolicy.self, from: Data(invalid.utf8))
            }
        }
    }
}

@Suite("SEV-SNP report listing")
struct SNPReportListingTests {
    @Test("The JSON listing carries the measurement and decoded TCB")
    func json() throws {
        let report = try SNPReport(bytes: try TestData.milanReport, product: .milan)
        let object = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(report)) as! [String: Any]
        #expect(object["measurement"] as? String == SNPPolicyTests.milanMeasurement)
        let reported = object["reported_tcb"] as? [String: Any]
        #expect(reported?["snp"] as? Int == 5)
        #expect(reported?["microcode"] as? Int == 0x44)
        #expect((object["policy"] as? [String: Any])?["debug"] as? Bool == true)
    }

    @Test("The text listing names each field on its own line")
    func text() throws {
        let report = try SNPReport(bytes: try TestData.milanReport)
        let lines = report.description.split(separator: "\n")
        #expect(lines.contains("measurement: \(SNPPolicyTests.milanMeasurement)"))
        #expect(lines.contains("  debug: true"))
    }
}
