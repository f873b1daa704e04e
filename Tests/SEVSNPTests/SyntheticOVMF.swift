import Crypto
import EvidenceCore
import Foundation
@testable import SEVSNP
import TestSupport
import Testing

/// An OVMF-like firmware image built in memory, so that the launch measurement tests need no
/// firmware taken from elsewhere: pseudo-random bytes stand in for the code, and the end of the
/// image carries what edk2's reset vector ends with (see ``OVMFImage``): the GUIDed footer table
/// before the last 32 bytes, with the SEV metadata ("ASEV" header and sections) it points to.
struct SyntheticOVMF: Sendable {
    /// A footer table entry: the data, then (in the image) its u16 size and the GUID.
    struct Entry: Sendable {
        let guid: EFIGUID
        let data: [UInt8]
    }

    /// Where the SEV metadata starts, counted back from the end of the image as the
    /// OVMF_SEV_METADATA entry gives it.
    static let metadataOffsetFromEnd = 0x400
    static let pageSize = SNPLaunchDigest.pageSize

    /// Names the file the image is written to.
    let name: String
    /// The SEV metadata sections, in the order the image lists them.
    let sections: [SEVMetadataSection]
    /// The SEV-ES reset block's AP reset address.
    let apResetAddress: UInt32
    /// The SEV hash table entry's GPA, for a build that can measure a kernel.
    let hashTableAddress: UInt32?
    /// The image.
    let bytes: [UInt8]
    /// The "ASEV" header and its sections.
    let metadata: Range<Int>
    /// The footer table, from its first entry to the end of the footer entry.
    let footerTable: Range<Int>

    /// Lays out an image of `pages` pages whose filler comes from `seed`; `otherEntries` go
    /// first in the table, as entries no measurement reads.
    init(name: String, pages: Int, seed: UInt32, sections: [SEVMetadataSection], apResetAddress: UInt32,
         hashTableAddress: UInt32?, otherEntries: [Entry] = []) {
        self.name = name
        self.sections = sections
        self.apResetAddress = apResetAddress
        self.hashTableAddress = hashTableAddress
        var bytes = Self.pseudoRandom(pages * Self.pageSize, seed: seed)

        var header = LittleEndianWriter()
        header.bytes(Array("ASEV".utf8))
        header.integer(UInt32(16 + 12 * sections.count))
        header.integer(UInt32(1))
        header.integer(UInt32(sections.count))
        for section in sections {
            header.integer(section.gpa)
            header.integer(section.size)
            header.integer(section.kind.rawValue)
        }
        self.metadata = (bytes.count - Self.metadataOffsetFromEnd)..<(bytes.count - Self.metadataOffsetFromEnd + header.bytes.count)
        bytes.replaceSubrange(self.metadata, with: header.bytes)

        let hashTable = hashTableAddress.map {
            Entry(guid: EFIGUID("7255371f-3a3b-4b04-927b-1da6efa8d454"), data: Self.le32($0) + Self.le32(0x400))
        }
        let entries = otherEntries + [hashTable].compactMap { $0 } + [
            Entry(guid: EFIGUID("dc886566-984a-4798-a75e-5585a7bf67cc"), data: Self.le32(UInt32(Self.metadataOffsetFromEnd))),
            Entry(guid: EFIGUID("00f771de-1a7e-4fcb-890e-68c77e2fb44e"), data: Self.le32(apResetAddress)),
        ]
        var table = LittleEndianWriter()
        for entry in entries {
            table.bytes(entry.data)
            table.integer(UInt16(entry.data.count + 18))
            table.bytes(entry.guid.bytes)
        }
        table.integer(UInt16(table.bytes.count + 18))
        table.bytes(EFIGUID("96b582de-1fb2-45f7-baea-a366c55a082d").bytes)
        self.footerTable = (bytes.count - 32 - table.bytes.count)..<(bytes.count - 32)
        precondition(self.metadata.upperBound <= self.footerTable.lowerBound, "the SEV metadata overlaps the footer table")
        bytes.replaceSubrange(self.footerTable, with: table.bytes)
        self.bytes = bytes
    }

    /// Like edk2's AmdSev build, which can measure a kernel: one page whose metadata has every
    /// section type, the SNP_KERNEL_HASHES page holding the SEV hash table at a page offset.
    static let amdSev = SyntheticOVMF(
        name: "AmdSev", pages: 1, seed: 0x414D_4453,
        sections: [
            SEVMetadataSection(gpa: 0x80_0000, size: 0x9000, kind: .snpSecureMemory),
            SEVMetadataSection(gpa: 0x80_D000, size: 0x1000, kind: .snpSecrets),
            SEVMetadataSection(gpa: 0x80_E000, size: 0x1000, kind: .cpuid),
            SEVMetadataSection(gpa: 0x80_B000, size: 0x1000, kind: .svsmCallingArea),
            SEVMetadataSection(gpa: 0x80_F000, size: 0x1000, kind: .snpKernelHashes),
            SEVMetadataSection(gpa: 0x81_0000, size: 0x10000, kind: .snpSecureMemory),
        ],
        apResetAddress: 0xFFFF_F804, hashTableAddress: 0x80_FC00)

    /// Like edk2's standard OvmfPkgX64 build: SEV metadata without SNP_KERNEL_HASHES, no SEV hash
    /// table, and a table entry (TDX metadata) the measurement skips.
    static let ovmfX64 = SyntheticOVMF(
        name: "OvmfX64", pages: 3, seed: 0x4F56_4D46,
        sections: [
            SEVMetadataSection(gpa: 0x80_0000, size: 0x6000, kind: .snpSecureMemory),
            SEVMetadataSection(gpa: 0x80_6000, size: 0x1000, kind: .snpSecrets),
            SEVMetadataSection(gpa: 0x80_7000, size: 0x1000, kind: .cpuid),
            SEVMetadataSection(gpa: 0x80_8000, size: 0x8000, kind: .snpSecureMemory),
        ],
        apResetAddress: 0xFFFF_D00C, hashTableAddress: nil,
        otherEntries: [Entry(guid: EFIGUID("e47a6535-984a-4798-865e-4685a7bf8ec2"), data: le32(0x800))])

    /// The image in a file for the oracle to read.
    var file: String { Self.file(named: self.name, bytes: self.bytes) }

    /// Writes an image to a file of the temporary directory named after its contents, so that
    /// test runs in parallel share identical files and never leave more than one per image behind.
    static func file(named name: String, bytes: [UInt8]) -> String {
        let digest = Array(SHA256.hash(data: bytes).prefix(8)).hex
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cvmkit-synthetic-\(name)-\(digest).fd")
        precondition(FileManager.default.createFile(atPath: url.path, contents: Data(bytes)), "cannot write \(url.path)")
        return url.path
    }

    /// Bytes from a linear congruential generator, so every run is the same.
    static func pseudoRandom(_ count: Int, seed: UInt32) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return UInt8(truncatingIfNeeded: state >> 24)
        }
    }

    private static func le32(_ value: UInt32) -> [UInt8] {
        var writer = LittleEndianWriter()
        writer.integer(value)
        return writer.bytes
    }
}

extension SyntheticOVMF: CustomTestStringConvertible {
    var testDescription: String { self.name }
}
