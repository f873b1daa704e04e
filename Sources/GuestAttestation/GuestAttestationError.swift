import EvidenceCore
import Foundation
import SEVSNP
import TPMClient

/// Every way collecting evidence inside a guest can fail, each naming the path, device request,
/// structure or field concerned so that ``description`` is a sentence an operator can act on.
public enum GuestAttestationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A file system call on a guest path failed with `errno` (ENOENT, EACCES, EINVAL, ...).
    case fileSystem(operation: String, path: String, errno: Int32)
    /// An ioctl(2) failed with `errno`; for /dev/sev-guest, the firmware and hypervisor error
    /// halves of exitinfo2 that the kernel wrote back (include/uapi/linux/sev-guest.h).
    case ioctl(device: String, request: String, errno: Int32, firmwareError: UInt32?, hypervisorError: UInt32?)
    /// A firmware response reported a non-zero status (MSG_REPORT_RSP STATUS, SEV-SNP Firmware ABI
    /// §7.3).
    case firmwareStatus(structure: String, status: UInt32)
    /// A structure read from the kernel, the firmware or a file has the wrong size or content.
    case malformed(structure: String, reason: String)
    /// The configfs-tsm report entry's generation moved by more than this collector's own writes:
    /// another writer raced it, so the outblob may answer someone else's inblob
    /// (Documentation/ABI/testing/configfs-tsm, generation).
    case generationRace(entry: String, expected: UInt64, actual: UInt64)
    /// configfs-tsm names a provider other than the one the platform needs.
    case unexpectedProvider(expected: String, actual: String)
    /// The report the interface returned does not carry the report data that was requested.
    case reportDataMismatch(source: String)
    /// No interface this collector knows is present for the requested evidence.
    case unavailable(String)
    /// A caller-supplied value is out of range.
    case invalidArgument(String)
    /// A TPM command failed.
    case tpm(TPMClientError)
    /// SEV-SNP evidence did not parse.
    case snp(SNPError)

    public var description: String {
        switch self {
        case let .fileSystem(operation, path, code):
            return "cannot \(operation) \(path): \(String(cString: strerror(code)))"
        case let .ioctl(device, request, code, firmware, hypervisor):
            var sentence = "\(request) on \(device) failed: \(String(cString: strerror(code)))"
            if let firmware, firmware != 0 { sentence += "; firmware error 0x\(String(firmware, radix: 16))" }
            if let hypervisor, hypervisor != 0 { sentence += "; hypervisor error \(hypervisor)" }
            return sentence
        case let .firmwareStatus(structure, status):
            let name = MsgReportRsp.statusNames[status].map { " (\($0))" } ?? ""
            return "\(structure) reports status 0x\(String(status, radix: 16))\(name)"
        case let .malformed(structure, reason):
            return "\(structure): \(reason)"
        case let .generationRace(entry, expected, actual):
            return "configfs-tsm entry \(entry) reached generation \(actual) instead of \(expected): another writer changed it, so the report is refused"
        case let .unexpectedProvider(expected, actual):
            return "configfs-tsm provider is \(actual), not \(expected)"
        case let .reportDataMismatch(source):
            return "the report from \(source) does not carry the requested report data"
        case let .unavailable(reason):
            return reason
        case let .invalidArgument(reason):
            return reason
        case let .tpm(error):
            return "\(error)"
        case let .snp(error):
            return "\(error)"
        }
    }
}

/// The kernel's sev-guest structures are read with the reader SEVSNP reads firmware structures
/// with, and their defects are reported as SEVSNP reports those of the report itself.
extension GuestAttestationError: LittleEndianReadFailure {
    package static func truncated(field: String, offset: Int, needed: Int, available: Int) -> GuestAttestationError {
        .snp(.truncated(field: field, offset: offset))
    }

    package static func reservedFieldNotZero(field: String, offset: Int) -> GuestAttestationError {
        .snp(.reservedFieldNotZero(field: field, offset: offset))
    }
}
