import EvidenceCore
import SEVSNP

// The structures of the Linux SEV guest driver's ioctl interface (include/uapi/linux/sev-guest.h),
// laid out as x86-64 C lays out those declarations: little-endian, each __u64 aligned to 8 bytes.
// They are hand-written because they are C structures of the kernel's ABI that no Swift package
// describes; the report inside the response is parsed by SEVSNP.

/// `struct snp_report_req` (include/uapi/linux/sev-guest.h): `__u8 user_data[64]` at 0,
/// `__u32 vmpl` at 64, `__u8 rsvd[28]` (must be zero) at 68; 96 bytes.
public struct SNPReportReq: Sendable, Hashable {
    public static let size = 96

    /// user_data: the REPORT_DATA the report will carry.
    public let userData: [UInt8]
    /// vmpl: the VMPL the report is requested for (no lower than the guest's own).
    public let vmpl: UInt32

    public init(userData: [UInt8], vmpl: UInt32) throws(GuestAttestationError) {
        guard userData.count == 64 else {
            throw .invalidArgument("snp_report_req.user_data must be 64 bytes, not \(userData.count)")
        }
        self.userData = userData
        self.vmpl = vmpl
    }

    public init(bytes: [UInt8]) throws(GuestAttestationError) {
        try expectStructureSize(bytes, "snp_report_req", Self.size)
        var reader = LittleEndianReader<GuestAttestationError>(bytes)
        userData = try reader.bytes(64, field: "snp_report_req.user_data")
        vmpl = try reader.integer(UInt32.self, field: "snp_report_req.vmpl")
        try reader.reserved(28, field: "snp_report_req.rsvd")
    }

    public var bytes: [UInt8] {
        var writer = LittleEndianWriter()
        writer.bytes(userData)
        writer.integer(vmpl)
        writer.zeros(28)
        return writer.bytes
    }
}

/// `struct snp_ext_report_req` (include/uapi/linux/sev-guest.h): `struct snp_report_req data` at
/// 0, `__u64 certs_address` at 96, `__u32 certs_len` at 104, then 4 bytes of padding that round
/// the structure to its 8-byte alignment; 112 bytes. When the buffer is too small the kernel writes
/// the structure back with certs_len set to the size the host needs.
public struct SNPExtReportReq: Sendable, Hashable {
    public static let size = 112

    public let data: SNPReportReq
    /// certs_address: where the kernel copies the certificate table.
    public let certsAddress: UInt64
    /// certs_len: the size of that buffer, a multiple of the 4096-byte page.
    public let certsLen: UInt32

    public init(data: SNPReportReq, certsAddress: UInt64, certsLen: UInt32) {
        self.data = data
        self.certsAddress = certsAddress
        self.certsLen = certsLen
    }

    public init(bytes: [UInt8]) throws(GuestAttestationError) {
        try expectStructureSize(bytes, "snp_ext_report_req", Self.size)
        data = try SNPReportReq(bytes: Array(bytes[0..<SNPReportReq.size]))
        var reader = LittleEndianReader<GuestAttestationError>(bytes, offset: SNPReportReq.size)
        certsAddress = try reader.integer(UInt64.self, field: "snp_ext_report_req.certs_address")
        certsLen = try reader.integer(UInt32.self, field: "snp_ext_report_req.certs_len")
        try reader.reserved(4, field: "snp_ext_report_req padding")
    }

    public var bytes: [UInt8] {
        var writer = LittleEndianWriter()
        writer.bytes(data.bytes)
        writer.integer(certsAddress)
        writer.integer(certsLen)
        writer.zeros(4)
        return writer.bytes
    }
}

/// `struct snp_guest_request_ioctl` (include/uapi/linux/sev-guest.h), the argument of every
/// /dev/sev-guest ioctl: `__u8 msg_version` at 0 and 7 bytes of padding, `__u64 req_data` at 8,
/// `__u64 resp_data` at 16, and at 24 the union of `__u64 exitinfo2` with `__u32 fw_error` (low
/// half) and `__u32 vmm_error` (high half); 32 bytes.
public struct SNPGuestRequestIoctl: Sendable, Hashable {
    public static let size = 32
    /// SNP_GUEST_VMM_ERR_INVALID_LEN: the certificate buffer was too small.
    public static let hypervisorErrorInvalidLength: UInt32 = 1
    /// SNP_GUEST_VMM_ERR_BUSY: the host throttled the request.
    public static let hypervisorErrorBusy: UInt32 = 2

    /// msg_version: the guest message version, non-zero.
    public let msgVersion: UInt8
    /// req_data: the address of the request structure.
    public let reqData: UInt64
    /// resp_data: the address of the response structure.
    public let respData: UInt64
    /// exitinfo2: the firmware error in bits 31:0 and the hypervisor (VMM) error in bits 63:32.
    public let exitinfo2: UInt64

    /// fw_error: the firmware's status for a failed request (psp-sev.h SEV_RET_*).
    public var fwError: UInt32 { UInt32(truncatingIfNeeded: exitinfo2) }
    /// vmm_error: the hypervisor's error (SNP_GUEST_VMM_ERR_*).
    public var vmmError: UInt32 { UInt32(truncatingIfNeeded: exitinfo2 >> 32) }

    public init(msgVersion: UInt8, reqData: UInt64, respData: UInt64, exitinfo2: UInt64 = 0) {
        self.msgVersion = msgVersion
        self.reqData = reqData
        self.respData = respData
        self.exitinfo2 = exitinfo2
    }

    public init(bytes: [UInt8]) throws(GuestAttestationError) {
        try expectStructureSize(bytes, "snp_guest_request_ioctl", Self.size)
        var reader = LittleEndianReader<GuestAttestationError>(bytes)
        msgVersion = try reader.integer(UInt8.self, field: "snp_guest_request_ioctl.msg_version")
        try reader.reserved(7, field: "snp_guest_request_ioctl padding")
        reqData = try reader.integer(UInt64.self, field: "snp_guest_request_ioctl.req_data")
        respData = try reader.integer(UInt64.self, field: "snp_guest_request_ioctl.resp_data")
        exitinfo2 = try reader.integer(UInt64.self, field: "snp_guest_request_ioctl.exitinfo2")
    }

    public var bytes: [UInt8] {
        var writer = LittleEndianWriter()
        writer.integer(msgVersion)
        writer.zeros(7)
        writer.integer(reqData)
        writer.integer(respData)
        writer.integer(exitinfo2)
        return writer.bytes
    }
}

/// MSG_REPORT_RSP, the firmware's answer to MSG_REPORT_REQ (SEV-SNP Firmware ABI, pub. 56860,
/// §7.3, "MSG_REPORT_RSP Message Structure"), which the kernel returns decrypted at the start of
/// `struct snp_report_resp`'s `__u8 data[4000]`: STATUS (32 bits) at 0x00, REPORT_SIZE (32 bits)
/// at 0x04, reserved zero bytes 0x08-0x1F, and the REPORT_SIZE-byte ATTESTATION_REPORT at 0x20.
public struct MsgReportRsp: Sendable, Hashable {
    /// The size of `struct snp_report_resp`.
    public static let responseSize = 4000
    /// The status values the ABI defines for MSG_REPORT_RSP.
    static let statusNames: [UInt32: String] = [0x16: "INVALID_PARAMETERS", 0x27: "INVALID_KEY_SELECTION"]

    /// STATUS: 0 on success.
    public let status: UInt32
    /// REPORT_SIZE: the report's length in bytes (0x4A0).
    public let reportSize: UInt32
    /// The REPORT_SIZE bytes of the report.
    public let report: [UInt8]

    /// Parses the message from a `snp_report_resp` buffer; bytes after the report are the
    /// buffer's unused tail.
    public init(bytes: [UInt8]) throws(GuestAttestationError) {
        var reader = LittleEndianReader<GuestAttestationError>(bytes)
        status = try reader.integer(UInt32.self, field: "MSG_REPORT_RSP.STATUS")
        reportSize = try reader.integer(UInt32.self, field: "MSG_REPORT_RSP.REPORT_SIZE")
        try reader.reserved(0x18, field: "MSG_REPORT_RSP reserved")
        report = try reader.bytes(Int(reportSize), field: "MSG_REPORT_RSP.REPORT")
    }

    /// The report, once STATUS is success and REPORT_SIZE the size of an ATTESTATION_REPORT.
    func successfulReport() throws(GuestAttestationError) -> [UInt8] {
        guard status == 0 else { throw .firmwareStatus(structure: "MSG_REPORT_RSP", status: status) }
        guard reportSize == SNPReport.size else {
            throw .malformed(structure: "MSG_REPORT_RSP", reason: "REPORT_SIZE is \(reportSize), not \(SNPReport.size)")
        }
        return report
    }
}


/// Refuses a structure of any size but the C declaration's.
func expectStructureSize(_ bytes: [UInt8], _ name: String, _ size: Int) throws(GuestAttestationError) {
    guard bytes.count == size else { throw .malformed(structure: name, reason: "\(bytes.count) bytes, not \(size)") }
}
