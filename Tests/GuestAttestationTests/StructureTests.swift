import Foundation
import GuestAttestation
import SEVSNP
import Testing

/// The kernel's ioctl numbers and structure layouts, against include/uapi/linux/sev-guest.h,
/// include/uapi/linux/tdx-guest.h and include/uapi/asm-generic/ioctl.h.
@Suite("Linux guest driver structures")
struct StructureTests {
    /// _IOWR as asm-generic/ioctl.h defines it, written out here: dir << 30 | size << 16 |
    /// type << 8 | nr, with _IOC_READ | _IOC_WRITE = 3.
    static func iowr(_ type: UInt8, _ number: UInt, _ size: UInt) -> UInt {
        (3 << 30) | (size << 16) | (UInt(type) << 8) | number
    }

    @Test("ioctl numbers equal the header's values and an independent _IOWR")
    func ioctlNumbers() {
        #expect(SEVGuestDevice.getReport == 0xC020_5300)
        #expect(SEVGuestDevice.getExtendedReport == 0xC020_5302)
        #expect(TDXGuestDevice.getReport0 == 0xC440_5401)
        #expect(SEVGuestDevice.getReport == Self.iowr(UInt8(ascii: "S"), 0, 32))
        #expect(SEVGuestDevice.getExtendedReport == Self.iowr(UInt8(ascii: "S"), 2, 32))
        #expect(TDXGuestDevice.getReport0 == Self.iowr(UInt8(ascii: "T"), 1, 64 + 1024))
        #expect(IoctlNumber.readWrite(type: "S", number: 1, size: 32) == 0xC020_5301)
    }

    @Test("snp_report_req: user_data at 0, vmpl at 64, 28 zero bytes, 96 bytes; round trip")
    func reportRequest() throws {
        let userData = (0..<64).map { UInt8($0) }
        let request = try SNPReportReq(userData: userData, vmpl: 0x0102_0304)
        let expected = userData + [0x04, 0x03, 0x02, 0x01] + [UInt8](repeating: 0, count: 28)
        #expect(request.bytes == expected)
        #expect(try SNPReportReq(bytes: expected) == request)
        #expect(throws: GuestAttestationError.invalidArgument("snp_report_req.user_data must be 64 bytes, not 63")) {
            try SNPReportReq(userData: Array(userData.prefix(63)), vmpl: 0)
        }
        var reserved = expected
        reserved[95] = 1
        #expect(throws: GuestAttestationError.snp(.reservedFieldNotZero(field: "snp_report_req.rsvd", offset: 95))) {
            try SNPReportReq(bytes: reserved)
        }
        #expect(throws: GuestAttestationError.malformed(structure: "snp_report_req", reason: "97 bytes, not 96")) {
            try SNPReportReq(bytes: expected + [0])
        }
    }

    @Test("snp_ext_report_req: certs_address at 96, certs_len at 104, padded to 112")
    func extendedRequest() throws {
        let data = try SNPReportReq(userData: [UInt8](repeating: 0xAA, count: 64), vmpl: 2)
        let request = SNPExtReportReq(data: data, certsAddress: 0x1122_3344_5566_7788, certsLen: 0x3000)
        let bytes = request.bytes
        #expect(bytes.count == 112)
        #expect(Array(bytes[0..<96]) == data.bytes)
        #expect(Array(bytes[96..<104]) == [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11])
        #expect(Array(bytes[104..<112]) == [0x00, 0x30, 0, 0, 0, 0, 0, 0])
        #expect(try SNPExtReportReq(bytes: bytes) == request)
        for truncated in [0, 96, 111] {
            #expect(throws: GuestAttestationError.malformed(structure: "snp_ext_report_req", reason: "\(truncated) bytes, not 112")) {
                try SNPExtReportReq(bytes: Array(bytes.prefix(truncated)))
            }
        }
    }

    @Test("snp_guest_request_ioctl: msg_version, req_data at 8, resp_data at 16, exitinfo2 split into fw_error and vmm_error")
    func requestIoctl() throws {
        let control = SNPGuestRequestIoctl(msgVersion: 1, reqData: 0xAAAA, respData: 0xBBBB, exitinfo2: 0x0000_0001_0000_0016)
        let bytes = control.bytes
        #expect(bytes == [1, 0, 0, 0, 0, 0, 0, 0] + littleEndian(UInt64(0xAAAA)) + littleEndian(UInt64(0xBBBB)) + [0x16, 0, 0, 0, 1, 0, 0, 0])
        let decoded = try SNPGuestRequestIoctl(bytes: bytes)
        #expect(decoded == control)
        #expect(decoded.fwError == 0x16)
        #expect(decoded.vmmError == SNPGuestRequestIoctl.hypervisorErrorInvalidLength)
        var padding = bytes
        padding[3] = 9
        #expect(throws: GuestAttestationError.snp(.reservedFieldNotZero(field: "snp_guest_request_ioctl padding", offset: 3))) {
            try SNPGuestRequestIoctl(bytes: padding)
        }
    }

    @Test("MSG_REPORT_RSP: status, size, reserved, report; every wrong field refused")
    func reportResponse() throws {
        let report = try Emulated.report([UInt8](repeating: 7, count: 64))
        func message(status: UInt32 = 0, size: UInt32 = 0x4A0, reserved: UInt8 = 0, report: [UInt8]) -> [UInt8] {
            let body = littleEndian(status) + littleEndian(size) + [UInt8](repeating: reserved, count: 0x18) + report
            return body + [UInt8](repeating: 0, count: 4000 - body.count)
        }
        let parsed = try MsgReportRsp(bytes: message(report: report))
        #expect(parsed.status == 0 && parsed.reportSize == 0x4A0 && parsed.report == report)

        #expect(throws: GuestAttestationError.snp(.reservedFieldNotZero(field: "MSG_REPORT_RSP reserved", offset: 8))) {
            try MsgReportRsp(bytes: message(reserved: 1, report: report))
        }
        #expect(throws: GuestAttestationError.snp(.truncated(field: "MSG_REPORT_RSP.REPORT", offset: 0x20))) {
            try MsgReportRsp(bytes: message(size: 4000, report: report))
        }
        #expect(throws: GuestAttestationError.snp(.truncated(field: "MSG_REPORT_RSP.REPORT_SIZE", offset: 4))) {
            try MsgReportRsp(bytes: [0, 0, 0, 0, 0xA0])
        }
    }

    @Test("tdx_report_req: reportdata then tdreport, 1088 bytes")
    func tdxRequest() throws {
        let request = try TDXReportReq(reportData: [UInt8](repeating: 3, count: 64))
        #expect(request.bytes == [UInt8](repeating: 3, count: 64) + [UInt8](repeating: 0, count: 1024))
        #expect(try TDXReportReq(bytes: request.bytes) == request)
        #expect(throws: GuestAttestationError.malformed(structure: "tdx_report_req", reason: "1087 bytes, not 1088")) {
            try TDXReportReq(bytes: Array(request.bytes.dropLast()))
        }
        #expect(throws: GuestAttestationError.invalidArgument("tdx_report_req.reportdata must be 64 bytes, not 65")) {
            try TDXReportReq(reportData: [UInt8](repeating: 0, count: 65))
        }
    }
}
