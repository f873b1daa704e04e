import Foundation
import SEVSNP
import TestSupport
import Testing

@Suite("SEV-SNP attestation report parsing")
struct SNPReportTests {
    @Test("The genuine Milan report parses with the facts its README states")
    func milanFacts() throws {
        let report = try SNPReport(bytes: try TestData.milanReport)
        #expect(report.version == 2)
        #expect(report.measurement == [UInt8](hex:
            "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01"))
        #expect(report.chipID.starts(with: [UInt8](hex: "3ac3fe21e13fb0990eb28a802e3fb6a2")))
        #expect(report.signingKey == .vcek)
        #expect(report.cpuid == nil)
        #expect(report.product == nil)
    }

    @Test("The VCEK's certified SPLs (blSPL 2, teeSPL 0, snpSPL 5, ucodeSPL 0x44) decode from REPORTED_TCB")
    func milanTCB() throws {
        let report = try SNPReport(bytes: try TestData.milanReport, product: .milan)
        let tcb = try report.components(of: report.reportedTCB)
        #expect(tcb == TCBComponents(bootloader: 2, tee: 0, snp: 5, microcode: 0x44))
    }

    @Test("A version-2 report cannot decode its TCB without a product")
    func productRequired() throws {
        let report = try SNPReport(bytes: try TestData.milanReport)
        #expect(throws: SNPError.productRequired) { try report.components(of: report.reportedTCB) }
    }

    @Test("Encoding a parsed report gives back its bytes", arguments: TestData.azureCases)
    func roundTripAzure(_ azure: TestData.AzureCase) throws {
        let bytes = try azure.report
        #expect(try SNPReport(bytes: bytes).bytes == bytes)
    }

    @Test("Encoding the Milan report gives back its bytes")
    func roundTripMilan() throws {
        let bytes = try TestData.milanReport
        #expect(try SNPReport(bytes: bytes, product: .milan).bytes == bytes)
    }

    @Test("Truncated and extended reports are rejected", arguments: [0, 1, 0x2A0, 1183, 1185, 2048])
    func wrongSize(_ size: Int) throws {
        var bytes = try TestData.milanReport
        bytes = size <= bytes.count ? Array(bytes[0..<size]) : bytes + [UInt8](repeating: 0, count: size - bytes.count)
        #expect(throws: SNPError.wrongReportSize(actual: size)) { try SNPReport(bytes: bytes) }
    }

    @Test("Unknown versions are rejected", arguments: [UInt8(0), 1, 4, 6, 0xFF])
    func unknownVersion(_ version: UInt8) throws {
        var bytes = try TestData.milanReport
        bytes[0] = version
        #expect(throws: SNPError.unsupportedVersion(UInt32(version))) { try SNPReport(bytes: bytes) }
    }

    @Test("Non-zero reserved fields are rejected, naming field and offset")
    func reservedFields() throws {
        let cases: [(offset: Int, error: SNPError)] = [
            (0x04C, .reservedFieldNotZero(field: "RESERVED 0x04C", offset: 0x04C)),
            (0x190, .reservedFieldNotZero(field: "RESERVED 0x188", offset: 0x190)),
            (0x1EB, .reservedFieldNotZero(field: "RESERVED after CURRENT_MAJOR", offset: 0x1EB)),
            (0x1EF, .reservedFieldNotZero(field: "RESERVED after COMMITTED_MAJOR", offset: 0x1EF)),
            (0x29F, .reservedFieldNotZero(field: "RESERVED 0x1F8", offset: 0x29F)),
            (0x2D0, .reservedFieldNotZero(field: "SIGNATURE.R padding", offset: 0x2D0)),
            (0x32F, .reservedFieldNotZero(field: "SIGNATURE.S padding", offset: 0x32F)),
            (0x49F, .reservedFieldNotZero(field: "SIGNATURE reserved", offset: 0x49F)),
            (0x00E, .reservedFieldNotZero(field: "POLICY bits 63:26", offset: 0x00E)),
            (0x045, .reservedFieldNotZero(field: "PLATFORM_INFO bits 63:8", offset: 0x045)),
            (0x04A, .reservedFieldNotZero(field: "0x048 bits 31:5", offset: 0x04A)),
        ]
        for (offset, error) in cases {
            var bytes = try TestData.milanReport
            bytes[offset] ^= 0x01
            #expect(throws: error) { try SNPReport(bytes: bytes) }
        }
    }

    @Test("Guest policy bit 17 must be one and SIGNING_KEY 2–6 are reserved")
    func reservedBitsAndValues() throws {
        var bytes = try TestData.milanReport
        bytes[0x0A] &= ~0x02
        #expect(throws: SNPError.reservedBitNotOne(field: "POLICY bit 17", offset: 0x0A)) { try SNPReport(bytes: bytes) }
        bytes = try TestData.milanReport
        bytes[0x48] = 3 << 2
        #expect(throws: SNPError.reservedValue(field: "SIGNING_KEY", value: 3)) { try SNPReport(bytes: bytes) }
    }

    @Test("Guest policy bits decode as the ABI's Guest Policy table defines them")
    func policyBits() throws {
        let policy = try SNPGuestPolicy(rawValue: 0x0000_0000_03FB_1F02)
        #expect(policy.abiMinor == 0x02 && policy.abiMajor == 0x1F)
        #expect(policy.smtAllowed && !policy.migrationAgentAllowed && policy.debugAllowed)
        #expect(policy.singleSocketRequired && policy.cxlAllowed && policy.memAES256XTSRequired)
        #expect(policy.raplDisabledRequired && policy.ciphertextHidingRequired && policy.pageSwapDisabled)
        #expect(throws: SNPError.reservedFieldNotZero(field: "POLICY bits 63:26", offset: 0x0B)) {
            try SNPGuestPolicy(rawValue: 0x0402_0000)
        }
    }

    @Test("TCB_VERSION layouts: Milan/Genoa bytes 0,1,6,7; Turin bytes 0,1,2,3 and 7")
    func tcbLayouts() {
        let tcb = TCBVersion(rawValue: 0x0807_0605_0403_0201)
        #expect(tcb.components(for: .milan) == TCBComponents(bootloader: 1, tee: 2, snp: 7, microcode: 8))
        #expect(tcb.components(for: .genoa) == TCBComponents(bootloader: 1, tee: 2, snp: 7, microcode: 8))
        #expect(tcb.components(for: .turin) == TCBComponents(fmc: 1, bootloader: 2, tee: 3, snp: 4, microcode: 8))
    }

    @Test("Products follow CPUID family and model")
    func products() {
        #expect(SNPProduct(family: 0x19, model: 0x01) == .milan)
        #expect(SNPProduct(family: 0x19, model: 0x11) == .genoa)
        #expect(SNPProduct(family: 0x1A, model: 0x02) == .turin)
        #expect(SNPProduct(family: 0x17, model: 0x31) == nil)
    }

    @Test("The Genoa Azure report (version 3) names Genoa through its CPUID")
    func genoaFromCPUID() throws {
        let report = try SNPReport(bytes: try TestData.azureCases[0].report)
        #expect(report.version >= 3)
        #expect(report.product == .genoa)
        #expect(throws: SNPError.productMismatch(expected: .milan, actual: .genoa)) {
            try SNPReport(bytes: try TestData.azureCases[0].report, product: .milan)
        }
    }

    @Test("The kinvolk HCL report's REPORT_DATA is the value its case.json records")
    func kinvolkReportData() throws {
        let report = try SNPReport(bytes: try TestData.azureCases[5].report)
        #expect(report.reportData == [UInt8](hex:
            "1d0a466a9eed975e88f889f7aed4abc1c97e87c4f43e5e3478c9a4a5853cbd7d"
            + "0000000000000000000000000000000000000000000000000000000000000000"))
    }

    @Test("Version 5 places LAUNCH_MIT_VECTOR at 0x1F8 and CURRENT_MIT_VECTOR at 0x200; version 2 reserves them")
    func version5Fields() throws {
        var bytes = try TestData.milanReport
        bytes[0x1F8] = 0x11
        bytes[0x200] = 0x22
        #expect(throws: SNPError.reservedFieldNotZero(field: "RESERVED 0x1F8", offset: 0x1F8)) { try SNPReport(bytes: bytes) }
        bytes[0] = 5
        let report = try SNPReport(bytes: bytes, product: .milan)
        #expect(report.launchMitigationVector == 0x11)
        #expect(report.currentMitigationVector == 0x22)
        #expect(report.cpuid == SNPCPUID(family: 0, model: 0, stepping: 0))
        #expect(report.bytes == bytes)
        bytes[0x208] = 1
        #expect(throws: SNPError.reservedFieldNotZero(field: "RESERVED 0x208", offset: 0x208)) { try SNPReport(bytes: bytes) }
    }

    @Test("A version-3 report with Turin's CPUID (family 1Ah) decodes its TCB with the Turin layout")
    func turinLayoutFromCPUID() throws {
        var bytes = try TestData.milanReport
        bytes[0] = 3
        bytes[0x188] = 0x1A
        bytes[0x189] = 0x02
        bytes[0x180..<0x188] = [9, 8, 7, 6, 0, 0, 0, 0x50]
        let report = try SNPReport(bytes: bytes)
        #expect(report.product == .turin)
        #expect(try report.components(of: report.reportedTCB) == TCBComponents(fmc: 9, bootloader: 8, tee: 7, snp: 6, microcode: 0x50))
        #expect(report.bytes == bytes)
    }
}

