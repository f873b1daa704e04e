#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An SEV-SNP report with the certificate table the host supplied beside it.
public struct SNPExtendedReport: Sendable, Hashable {
    /// The 1184-byte ATTESTATION_REPORT (SEV-SNP Firmware ABI, pub. 56860, §7.3).
    public var report: [UInt8]
    /// The GUID-tagged certificate table (GHCB Specification, pub. 56421, §4.1.8.1), as long as
    /// the buffer the kernel filled: the table ends at its all-zero entry and zero padding
    /// follows. All zeros when the host supplied no certificates.
    public var certificateTable: [UInt8]
}

/// The Linux SEV-SNP guest driver's `/dev/sev-guest` (Documentation/virt/coco/sev-guest.rst):
/// SNP_GET_REPORT and SNP_GET_EXT_REPORT, each taking a `struct snp_guest_request_ioctl` that
/// points at the request and response structures.
public struct SEVGuestDevice {
    /// Where the driver's device node is.
    public static let path = "/dev/sev-guest"
    /// SNP_GET_REPORT: `_IOWR('S', 0x0, struct snp_guest_request_ioctl)`.
    public static let getReport = IoctlNumber.readWrite(type: "S", number: 0x0, size: SNPGuestRequestIoctl.size)
    /// SNP_GET_EXT_REPORT: `_IOWR('S', 0x2, struct snp_guest_request_ioctl)`.
    public static let getExtendedReport = IoctlNumber.readWrite(type: "S", number: 0x2, size: SNPGuestRequestIoctl.size)
    /// The guest message version the driver passes to the firmware (must be non-zero).
    public static let messageVersion: UInt8 = 1
    /// The largest certificate buffer the kernel accepts (SEV_FW_BLOB_MAX_SIZE,
    /// include/uapi/linux/psp-sev.h).
    public static let maximumCertificateBuffer = 0x4000
    static let pageSize = 4096

    let device: any GuestDevice

    public init(device: any GuestDevice) {
        self.device = device
    }

    /// SNP_GET_REPORT: an attestation report carrying `reportData` for `vmpl`.
    public func report(reportData: [UInt8], vmpl: UInt32 = 0) throws(GuestAttestationError) -> [UInt8] {
        let request = IoctlBuffer(try SNPReportReq(userData: reportData, vmpl: vmpl).bytes)
        let response = IoctlBuffer(count: MsgReportRsp.responseSize)
        let (code, control) = try issue(Self.getReport, "SNP_GET_REPORT", request: request, response: response)
        guard code == 0 else { throw Self.failure("SNP_GET_REPORT", code, control) }
        return try MsgReportRsp(bytes: response.bytes).successfulReport()
    }

    /// SNP_GET_EXT_REPORT: the report and the host's certificate table. Starts with a buffer of
    /// `certificateBuffer` bytes (a multiple of the page size); when the host needs more, the
    /// ioctl fails with SNP_GUEST_VMM_ERR_INVALID_LEN in vmm_error (or ENOSPC) and the kernel
    /// writes the size needed into certs_len, and the request is repeated with that size.
    public func extendedReport(
        reportData: [UInt8], vmpl: UInt32 = 0, certificateBuffer: Int = 4096
    ) throws(GuestAttestationError) -> SNPExtendedReport {
        let data = try SNPReportReq(userData: reportData, vmpl: vmpl)
        guard Self.acceptable(certificateBuffer) else {
            throw .invalidArgument("a certificate buffer must be a multiple of \(Self.pageSize) bytes up to \(Self.maximumCertificateBuffer), not \(certificateBuffer)")
        }
        var length = certificateBuffer
        for _ in 0..<3 {
            let certificates = IoctlBuffer(count: length)
            let request = IoctlBuffer(SNPExtReportReq(data: data, certsAddress: certificates.address, certsLen: UInt32(length)).bytes)
            let response = IoctlBuffer(count: MsgReportRsp.responseSize)
            let (code, control) = try withExtendedLifetime(certificates) { () throws(GuestAttestationError) in
                try issue(Self.getExtendedReport, "SNP_GET_EXT_REPORT", request: request, response: response)
            }
            if code == 0 {
                return SNPExtendedReport(report: try MsgReportRsp(bytes: response.bytes).successfulReport(), certificateTable: certificates.bytes)
            }
            guard control.vmmError == SNPGuestRequestIoctl.hypervisorErrorInvalidLength || code == ENOSPC else {
                throw Self.failure("SNP_GET_EXT_REPORT", code, control)
            }
            let needed = Int(try SNPExtReportReq(bytes: request.bytes).certsLen)
            guard needed > length, Self.acceptable(needed) else {
                throw .malformed(structure: "snp_ext_report_req", reason: "the host asked for a \(needed)-byte certificate buffer after refusing \(length) bytes")
            }
            length = needed
        }
        throw .malformed(structure: "snp_ext_report_req", reason: "the host asked for a larger certificate buffer three times")
    }

    /// Whether the kernel takes a certificate buffer of `length` bytes: whole pages, at most
    /// SEV_FW_BLOB_MAX_SIZE.
    private static func acceptable(_ length: Int) -> Bool {
        length > 0 && length % pageSize == 0 && length <= maximumCertificateBuffer
    }

    /// Issues one request pointing at `request` and `response`; returns the errno and the
    /// control structure as the kernel left it.
    private func issue(
        _ number: UInt, _ name: String, request: IoctlBuffer, response: IoctlBuffer
    ) throws(GuestAttestationError) -> (Int32, SNPGuestRequestIoctl) {
        let control = SNPGuestRequestIoctl(msgVersion: Self.messageVersion, reqData: request.address, respData: response.address)
        let (code, after) = withExtendedLifetime((request, response)) { device.exchange(number, control.bytes) }
        return (code, try SNPGuestRequestIoctl(bytes: after))
    }

    private static func failure(_ name: String, _ code: Int32, _ control: SNPGuestRequestIoctl) -> GuestAttestationError {
        .ioctl(device: path, request: name, errno: code, firmwareError: control.fwError, hypervisorError: control.vmmError)
    }
}
