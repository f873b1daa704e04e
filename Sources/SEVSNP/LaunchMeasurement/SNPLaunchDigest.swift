import Crypto
import EvidenceCore

/// The kind of page SNP_LAUNCH_UPDATE adds to a guest (SEV-SNP Firmware ABI Specification,
/// pub. 56860, §8.17 "SNP_LAUNCH_UPDATE", field PAGE_TYPE). Only normal and VMSA pages have their
/// contents measured; for the others the firmware hashes 48 zero bytes in place of the contents.
public enum SNPPageType: UInt8, Sendable, Hashable, Codable, CaseIterable {
    /// PAGE_TYPE_NORMAL: a page of data, measured by its SHA-384.
    case normal = 0x01
    /// PAGE_TYPE_VMSA: a vCPU's initial register state, measured by its SHA-384.
    case vmsa = 0x02
    /// PAGE_TYPE_ZERO: a page the firmware fills with zeros.
    case zero = 0x03
    /// PAGE_TYPE_UNMEASURED: a page whose contents are not measured.
    case unmeasured = 0x04
    /// PAGE_TYPE_SECRETS: the page the firmware fills with the guest's VMPCKs.
    case secrets = 0x05
    /// PAGE_TYPE_CPUID: the page of CPUID values the firmware checks and installs.
    case cpuid = 0x06
}

/// The running launch digest of an SEV-SNP guest: the value the firmware reports as MEASUREMENT
/// once the launch finishes (SEV-SNP Firmware ABI Specification, pub. 56860, §8.17.2
/// "Launch Digest Calculation").
///
/// Each page added folds into the digest as `LD := SHA-384(PAGE_INFO)`, where PAGE_INFO is the
/// 0x70-byte structure of Table 67: DIGEST_CUR (the digest so far, 48 bytes) ‖ CONTENTS
/// (48 bytes) ‖ LENGTH (u16, 0x70) ‖ PAGE_TYPE (u8) ‖ IMI_PAGE (u8) ‖ VMPL3_PERMS ‖ VMPL2_PERMS ‖
/// VMPL1_PERMS (u8 each) ‖ RESERVED (u8) ‖ GPA (u64). Launches are not IMI launches and grant
/// VMPL1–3 no permissions, so those bytes are zero here as they are under QEMU.
public struct SNPLaunchDigest: Sendable, Hashable {
    /// The size of a guest page, in bytes.
    public static let pageSize = 4096
    /// The GPA the firmware records for a VMSA page: all ones, page-aligned, with bits 63:52
    /// clear (§8.17.2: VMSA pages are measured at GPA 0xFFFFFFFFF000).
    public static let vmsaGPA: UInt64 = 0xFFFF_FFFF_F000
    /// The length of PAGE_INFO, which is also its LENGTH field.
    static let pageInfoLength: UInt16 = 0x70

    /// DIGEST_CUR: 48 zero bytes before the first page.
    public private(set) var digest = [UInt8](repeating: 0, count: SHA384.byteCount)

    /// Starts from the all-zero digest the firmware starts a launch with.
    public init() {}

    /// Folds one page into the digest.
    ///
    /// - Parameters:
    ///   - type: The page type; for normal and VMSA pages `page` is the page's contents.
    ///   - gpa: The guest physical address of the page.
    ///   - page: The page's contents, hashed for normal and VMSA pages and ignored otherwise.
    public mutating func add(_ type: SNPPageType, gpa: UInt64, page: some Collection<UInt8> = [UInt8]()) {
        var info = LittleEndianWriter()
        info.bytes(self.digest)
        switch type {
        case .normal, .vmsa:
            info.bytes(Array(SHA384.hash(data: Array(page))))
        case .zero, .unmeasured, .secrets, .cpuid:
            info.zeros(SHA384.byteCount)
        }
        info.integer(Self.pageInfoLength)
        info.integer(type.rawValue)
        // IMI_PAGE, VMPL3_PERMS, VMPL2_PERMS, VMPL1_PERMS, RESERVED.
        info.zeros(5)
        info.integer(gpa)
        self.digest = Array(SHA384.hash(data: info.bytes))
    }

    /// Folds in `data`, a whole number of pages, as normal pages from `gpa` upward.
    mutating func addNormalPages(_ data: [UInt8], gpa: UInt64) {
        for offset in stride(from: 0, to: data.count, by: Self.pageSize) {
            self.add(.normal, gpa: gpa + UInt64(offset), page: data[offset..<(offset + Self.pageSize)])
        }
    }

    /// Folds in `size` bytes of pages of a type whose contents are not hashed, from `gpa` upward.
    mutating func addUnhashedPages(_ type: SNPPageType, gpa: UInt64, size: UInt64) {
        for offset in stride(from: 0, to: size, by: Self.pageSize) {
            self.add(type, gpa: gpa + offset)
        }
    }
}
