/// `struct tdx_report_req` (include/uapi/linux/tdx-guest.h): `__u8 reportdata[64]` at 0 and
/// `__u8 tdreport[1024]` at 64; 1088 bytes. Hand-written like the sev-guest structures: no
/// package describes the kernel's C layout.
public struct TDXReportReq: Sendable, Hashable {
    public static let size = 64 + TDXGuestDevice.reportLength

    /// reportdata: the REPORTDATA the TDREPORT will carry.
    public let reportData: [UInt8]
    /// tdreport: the TDREPORT_STRUCT the driver fills in (zero in a request).
    public let tdReport: [UInt8]

    public init(reportData: [UInt8], tdReport: [UInt8] = [UInt8](repeating: 0, count: TDXGuestDevice.reportLength)) throws(GuestAttestationError) {
        guard reportData.count == 64 else { throw .invalidArgument("tdx_report_req.reportdata must be 64 bytes, not \(reportData.count)") }
        guard tdReport.count == TDXGuestDevice.reportLength else {
            throw .invalidArgument("tdx_report_req.tdreport must be \(TDXGuestDevice.reportLength) bytes, not \(tdReport.count)")
        }
        self.reportData = reportData
        self.tdReport = tdReport
    }

    public init(bytes: [UInt8]) throws(GuestAttestationError) {
        try expectStructureSize(bytes, "tdx_report_req", Self.size)
        try self.init(reportData: Array(bytes[0..<64]), tdReport: Array(bytes[64...]))
    }

    public var bytes: [UInt8] { reportData + tdReport }
}

/// The Linux TDX guest driver's `/dev/tdx_guest`: TDX_CMD_GET_REPORT0, a TDREPORT (subtype 0)
/// from TDCALL[TDG.MR.REPORT]. A TDREPORT is MAC-ed for the local platform only; a remote
/// verifier needs it quoted, which configfs-tsm does (provider tdx_guest).
public struct TDXGuestDevice {
    /// Where the driver's device node is.
    public static let path = "/dev/tdx_guest"
    /// TDX_REPORT_LEN.
    public static let reportLength = 1024
    /// TDX_CMD_GET_REPORT0: `_IOWR('T', 1, struct tdx_report_req)`.
    public static let getReport0 = IoctlNumber.readWrite(type: "T", number: 1, size: TDXReportReq.size)
    /// Where REPORTMACSTRUCT.REPORTDATA sits in TDREPORT_STRUCT: after REPORTTYPE (4 bytes),
    /// 12 reserved bytes, CPUSVN (16), TEE_TCB_INFO_HASH (48) and TEE_INFO_HASH (48) (Intel TDX
    /// Module ABI specification, REPORTMACSTRUCT).
    static let reportDataOffset = 128

    let device: any GuestDevice

    public init(device: any GuestDevice) {
        self.device = device
    }

    /// TDX_CMD_GET_REPORT0: the 1024-byte TDREPORT_STRUCT carrying `reportData`, which must
    /// come back in its REPORTDATA field.
    public func report(reportData: [UInt8]) throws(GuestAttestationError) -> [UInt8] {
        let (code, after) = device.exchange(Self.getReport0, try TDXReportReq(reportData: reportData).bytes)
        guard code == 0 else {
            throw .ioctl(device: Self.path, request: "TDX_CMD_GET_REPORT0", errno: code, firmwareError: nil, hypervisorError: nil)
        }
        let report = try TDXReportReq(bytes: after).tdReport
        guard Array(report[Self.reportDataOffset..<(Self.reportDataOffset + 64)]) == reportData else {
            throw .reportDataMismatch(source: "TDX_CMD_GET_REPORT0")
        }
        return report
    }
}
