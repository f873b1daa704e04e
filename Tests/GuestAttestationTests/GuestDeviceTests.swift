import Foundation
import GuestAttestation
import SEVSNP
import TestSupport
import Testing

@Suite("/dev/sev-guest and /dev/tdx_guest")
struct GuestDeviceTests {
    let reportData = (0..<64).map { UInt8(0xC0 ^ $0) }

    @Test("SNP_GET_REPORT returns the report the firmware signed over the requested report data and VMPL")
    func getReport() throws {
        let kernel = FakeSEVGuestKernel()
        let bytes = try SEVGuestDevice(device: kernel).report(reportData: reportData, vmpl: 1)
        let verified = try SNPVerifier(trustedRoots: [.emulated(try Emulated.chain.get())])
            .verify(try SNPReport(bytes: bytes), certificates: try Emulated.chain.get().certificates, at: Date())
        #expect(verified.report.reportData == reportData)
        #expect(verified.report.vmpl == 1)
        #expect(kernel.requests.map(\.number) == [0xC020_5300])
        #expect(kernel.requests.first?.userData == reportData)
    }

    @Test("SNP_GET_EXT_REPORT retries with the size the host asks for and returns the real Milan certificate table")
    func extendedReportRetries() throws {
        let table = try TestData.milanCertificateTable
        #expect(table.count > 4096)
        let kernel = FakeSEVGuestKernel(certificates: table)
        let answer = try SEVGuestDevice(device: kernel).extendedReport(reportData: reportData)
        #expect(kernel.requests.map(\.certsLen) == [4096, 8192])
        #expect(answer.certificateTable.count == 8192)
        #expect(Array(answer.certificateTable.prefix(table.count)) == table)
        let parsed = try SNPCertificateTable(bytes: answer.certificateTable)
        #expect(parsed.entries.map(\.kind) == [.vcek, .ask, .ark])
        #expect(try SNPReport(bytes: answer.report).reportData == reportData)
    }

    @Test("ENOSPC alone also means: repeat with certs_len")
    func extendedReportENOSPC() throws {
        let kernel = FakeSEVGuestKernel(certificates: try TestData.milanCertificateTable)
        kernel.enospcWithoutVMMError = true
        _ = try SEVGuestDevice(device: kernel).extendedReport(reportData: reportData)
        #expect(kernel.requests.map(\.certsLen) == [4096, 8192])
    }

    @Test("A host with no certificates leaves a zero table, which parses as empty")
    func extendedReportWithoutCertificates() throws {
        let answer = try SEVGuestDevice(device: FakeSEVGuestKernel()).extendedReport(reportData: reportData)
        #expect(answer.certificateTable == [UInt8](repeating: 0, count: 4096))
        #expect(try SNPCertificateTable(bytes: answer.certificateTable).entries.isEmpty)
    }

    @Test("A host asking for a size it refused, more than SEV_FW_BLOB_MAX_SIZE, or more each time is refused")
    func extendedReportBadSizes() throws {
        let kernel = FakeSEVGuestKernel(certificates: try TestData.milanCertificateTable)
        kernel.neededLength = { _ in 4096 }
        #expect(throws: GuestAttestationError.malformed(structure: "snp_ext_report_req", reason: "the host asked for a 4096-byte certificate buffer after refusing 4096 bytes")) {
            try SEVGuestDevice(device: kernel).extendedReport(reportData: reportData)
        }
        kernel.neededLength = { _ in 0x5000 }
        #expect(throws: GuestAttestationError.malformed(structure: "snp_ext_report_req", reason: "the host asked for a 20480-byte certificate buffer after refusing 4096 bytes")) {
            try SEVGuestDevice(device: kernel).extendedReport(reportData: reportData)
        }
        kernel.certificates = [UInt8](repeating: 1, count: 0x4000 + 1)
        kernel.neededLength = { $0 + 4096 }
        #expect(throws: GuestAttestationError.malformed(structure: "snp_ext_report_req", reason: "the host asked for a larger certificate buffer three times")) {
            try SEVGuestDevice(device: kernel).extendedReport(reportData: reportData)
        }
        #expect(throws: GuestAttestationError.invalidArgument("a certificate buffer must be a multiple of 4096 bytes up to 16384, not 5000")) {
            try SEVGuestDevice(device: kernel).extendedReport(reportData: reportData, certificateBuffer: 5000)
        }
    }

    @Test("A firmware or hypervisor error in exitinfo2 is reported with the errno")
    func ioctlErrors() throws {
        let kernel = FakeSEVGuestKernel()
        kernel.firmwareError = 0x16
        #expect(throws: GuestAttestationError.ioctl(device: "/dev/sev-guest", request: "SNP_GET_REPORT", errno: EIO, firmwareError: 0x16, hypervisorError: 0)) {
            try SEVGuestDevice(device: kernel).report(reportData: reportData)
        }
        kernel.firmwareError = nil
        kernel.hypervisorError = SNPGuestRequestIoctl.hypervisorErrorBusy
        #expect(throws: GuestAttestationError.ioctl(device: "/dev/sev-guest", request: "SNP_GET_EXT_REPORT", errno: EIO, firmwareError: 0, hypervisorError: 2)) {
            try SEVGuestDevice(device: kernel).extendedReport(reportData: reportData)
        }
        let sentence = GuestAttestationError.ioctl(device: "/dev/sev-guest", request: "SNP_GET_REPORT", errno: EIO, firmwareError: 0x16, hypervisorError: 0).description
        #expect(sentence == "SNP_GET_REPORT on /dev/sev-guest failed: Input/output error; firmware error 0x16")
    }

    @Test("A failed MSG_REPORT_RSP status, a wrong REPORT_SIZE or a non-zero reserved byte is refused")
    func badResponses() throws {
        let kernel = FakeSEVGuestKernel()
        kernel.status = 0x16
        #expect(throws: GuestAttestationError.firmwareStatus(structure: "MSG_REPORT_RSP", status: 0x16)) {
            try SEVGuestDevice(device: kernel).report(reportData: reportData)
        }
        #expect(GuestAttestationError.firmwareStatus(structure: "MSG_REPORT_RSP", status: 0x16).description == "MSG_REPORT_RSP reports status 0x16 (INVALID_PARAMETERS)")
        kernel.status = 0
        kernel.reportSize = 0x4A0 - 16
        #expect(throws: GuestAttestationError.malformed(structure: "MSG_REPORT_RSP", reason: "REPORT_SIZE is 1168, not 1184")) {
            try SEVGuestDevice(device: kernel).report(reportData: reportData)
        }
        kernel.reportSize = nil
        kernel.reservedByte = 0xFF
        #expect(throws: GuestAttestationError.snp(.reservedFieldNotZero(field: "MSG_REPORT_RSP reserved", offset: 8))) {
            try SEVGuestDevice(device: kernel).extendedReport(reportData: reportData)
        }
    }

    @Test("The real device path issues ioctl(2): a regular file answers ENOTTY")
    func realDeviceOnAFile() throws {
        let tree = try GuestTree()
        try tree.file("/dev/sev-guest")
        try tree.file("/dev/tdx_guest")
        let device = try tree.fileSystem.openDevice("/dev/sev-guest")
        #expect(throws: GuestAttestationError.ioctl(device: "/dev/sev-guest", request: "SNP_GET_REPORT", errno: ENOTTY, firmwareError: 0, hypervisorError: 0)) {
            try SEVGuestDevice(device: device).report(reportData: reportData)
        }
        #expect(throws: GuestAttestationError.ioctl(device: "/dev/tdx_guest", request: "TDX_CMD_GET_REPORT0", errno: ENOTTY, firmwareError: nil, hypervisorError: nil)) {
            try TDXGuestDevice(device: try tree.fileSystem.openDevice("/dev/tdx_guest")).report(reportData: reportData)
        }
        #expect(throws: GuestAttestationError.fileSystem(operation: "open", path: "/dev/missing", errno: ENOENT)) {
            try tree.fileSystem.openDevice("/dev/missing")
        }
    }

    @Test("TDX_CMD_GET_REPORT0 returns the TDREPORT carrying the report data, and refuses one that does not")
    func tdxReport() throws {
        let kernel = FakeTDXGuestKernel()
        let report = try TDXGuestDevice(device: kernel).report(reportData: reportData)
        #expect(report.count == 1024)
        #expect(kernel.reportData == reportData)
        #expect(Array(report[128..<192]) == reportData)
        kernel.substitutedReportData = [UInt8](repeating: 0, count: 64)
        #expect(throws: GuestAttestationError.reportDataMismatch(source: "TDX_CMD_GET_REPORT0")) {
            try TDXGuestDevice(device: kernel).report(reportData: reportData)
        }
        kernel.errno = EIO
        #expect(throws: GuestAttestationError.ioctl(device: "/dev/tdx_guest", request: "TDX_CMD_GET_REPORT0", errno: EIO, firmwareError: nil, hypervisorError: nil)) {
            try TDXGuestDevice(device: kernel).report(reportData: reportData)
        }
    }
}
