import Foundation
import GuestAttestation

/// The Linux sev-guest driver seen from user space, written from include/uapi/linux/sev-guest.h
/// and drivers/virt/coco/sev-guest: it decodes the caller's `struct snp_guest_request_ioctl`
/// from the ioctl argument by the header's offsets, follows req_data and resp_data to the
/// caller's memory, and writes MSG_REPORT_RSP, the certificates, certs_len and exitinfo2 back as
/// the driver does. Nothing here uses the library's encoders.
final class FakeSEVGuestKernel: GuestDevice {
    /// The certificate table the host holds for SNP_GET_EXT_REPORT.
    var certificates: [UInt8]
    /// A firmware error to fail with: -EIO, fw_error in exitinfo2's low half.
    var firmwareError: UInt32?
    /// A hypervisor error to fail with: -EIO, vmm_error in exitinfo2's high half.
    var hypervisorError: UInt32?
    /// Report a too-small certificate buffer with ENOSPC alone, as a driver variant might.
    var enospcWithoutVMMError = false
    /// The size asked for when the table does not fit, given the size offered; the table's size
    /// rounded up to pages when nil.
    var neededLength: ((UInt32) -> UInt32)?
    /// MSG_REPORT_RSP's STATUS and REPORT_SIZE, and a byte for its reserved area.
    var status: UInt32 = 0
    var reportSize: UInt32?
    var reservedByte: UInt8 = 0
    /// Every request: the ioctl number, user_data, vmpl and certs_len.
    private(set) var requests: [(number: UInt, userData: [UInt8], vmpl: UInt32, certsLen: UInt32?)] = []

    init(certificates: [UInt8] = []) {
        self.certificates = certificates
    }

    func ioctl(_ request: UInt, argument: UnsafeMutableRawPointer) -> Int32 {
        let extended: Bool
        switch request {
        case 0xC020_5300: extended = false
        case 0xC020_5302: extended = true
        default: return ENOTTY
        }
        let version = argument.load(fromByteOffset: 0, as: UInt8.self)
        let requestAddress = argument.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        let responseAddress = argument.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
        guard version != 0, let userRequest = UnsafeMutableRawPointer(bitPattern: UInt(requestAddress)),
              let response = UnsafeMutableRawPointer(bitPattern: UInt(responseAddress)) else { return EINVAL }
        let userData = Array(UnsafeRawBufferPointer(start: userRequest, count: 64))
        let vmpl = userRequest.loadUnaligned(fromByteOffset: 64, as: UInt32.self)
        guard UnsafeRawBufferPointer(start: userRequest + 68, count: 28).allSatisfy({ $0 == 0 }) else { return EINVAL }
        if extended {
            let address = userRequest.loadUnaligned(fromByteOffset: 96, as: UInt64.self)
            let length = userRequest.loadUnaligned(fromByteOffset: 104, as: UInt32.self)
            requests.append((request, userData, vmpl, length))
            if length != 0, address != 0 {
                guard length % 4096 == 0, length <= 0x4000 else { return EINVAL }
                if Int(length) < certificates.count {
                    let needed = neededLength?(length) ?? UInt32((certificates.count + 4095) / 4096 * 4096)
                    userRequest.storeBytes(of: needed, toByteOffset: 104, as: UInt32.self)
                    if enospcWithoutVMMError { return ENOSPC }
                    argument.storeBytes(of: UInt64(1) << 32, toByteOffset: 24, as: UInt64.self)
                    return EIO
                }
                UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(bitPattern: UInt(address)), count: Int(length))
                    .copyBytes(from: certificates)
            }
        } else {
            requests.append((request, userData, vmpl, nil))
        }
        if firmwareError != nil || hypervisorError != nil {
            argument.storeBytes(of: UInt64(hypervisorError ?? 0) << 32 | UInt64(firmwareError ?? 0), toByteOffset: 24, as: UInt64.self)
            return EIO
        }
        let report: [UInt8]
        do {
            report = try Emulated.report(userData, vmpl: vmpl)
        } catch {
            return EIO
        }
        let message = littleEndian(status) + littleEndian(reportSize ?? UInt32(report.count))
            + [UInt8](repeating: reservedByte, count: 0x18) + report
        UnsafeMutableRawBufferPointer(start: response, count: 4000).copyBytes(from: message)
        return 0
    }
}

/// The Linux TDX guest driver seen from user space (include/uapi/linux/tdx-guest.h): the
/// argument is `struct tdx_report_req`, reportdata at 0 and tdreport at 64; the fake TDREPORT
/// carries REPORTTYPE 0x81 (TDX) at 0 and the reportdata at REPORTMACSTRUCT offset 128.
final class FakeTDXGuestKernel: GuestDevice {
    var errno: Int32 = 0
    /// Write this instead of the caller's reportdata into the TDREPORT.
    var substitutedReportData: [UInt8]?
    private(set) var reportData: [UInt8]?

    func ioctl(_ request: UInt, argument: UnsafeMutableRawPointer) -> Int32 {
        guard request == 0xC440_5401 else { return ENOTTY }
        guard errno == 0 else { return errno }
        let data = Array(UnsafeRawBufferPointer(start: argument, count: 64))
        reportData = data
        var report = [UInt8](repeating: 0xEE, count: 1024)
        report[0..<4] = [0x81, 0, 0, 0]
        report.replaceSubrange(128..<192, with: substitutedReportData ?? data)
        UnsafeMutableRawBufferPointer(start: argument + 64, count: 1024).copyBytes(from: report)
        return 0
    }
}
