/// An OVMF firmware image (the `OVMF.fd` or `OVMF_CODE.fd` of an edk2 build) read for what the
/// SEV-SNP launch measures: its bytes, mapped so that they end at 4 GiB, and the GUIDed tables
/// OVMF keeps at the end of its reset vector to tell the hypervisor how to launch it.
///
/// The tables are laid out by edk2's `OvmfPkg/ResetVector/Ia16/ResetVectorVtf0.asm`: the last 32
/// bytes of the image hold the reset vector; just before them is the footer entry (a u16 size
/// covering the whole table, then the GUID 96b582de-1fb2-45f7-baea-a366c55a082d), and before that,
/// read backwards from the footer, entries of the form `data ‖ u16 size ‖ GUID`, where size
/// counts the data and the 18-byte trailer. QEMU reads the same table (`hw/i386/pc_sysfw_ovmf.c`).
public struct OVMFImage: Sendable {
    /// The footer entry that closes the GUIDed table.
    static let footerGUID = EFIGUID("96b582de-1fb2-45f7-baea-a366c55a082d")
    /// SEV_ES_RESET_BLOCK: a u32 address where application processors start.
    static let sevESResetBlockGUID = EFIGUID("00f771de-1a7e-4fcb-890e-68c77e2fb44e")
    /// SEV_HASH_TABLE_RV: the u32 GPA and u32 size of the area QEMU writes kernel hashes into.
    static let sevHashTableGUID = EFIGUID("7255371f-3a3b-4b04-927b-1da6efa8d454")
    /// OVMF_SEV_METADATA: a u32 offset from the end of the image to the "ASEV" metadata.
    static let sevMetadataGUID = EFIGUID("dc886566-984a-4798-a75e-5585a7bf67cc")
    /// The bytes after the table: the reset vector at 0xFFFFFFF0 and its padding.
    static let resetVectorAreaSize = 32
    /// Every table entry ends with a u16 size and a 16-byte GUID.
    static let entryTrailerSize = 18

    /// The image as loaded into guest memory.
    public let bytes: [UInt8]
    /// The SEV metadata sections in the order OVMF lists them, which is the order QEMU measures
    /// them in; empty for a build without SEV metadata.
    public let sevMetadata: [SEVMetadataSection]
    /// The data of each footer table entry, by GUID.
    private let footerTable: [EFIGUID: [UInt8]]

    /// Reads the footer table and the SEV metadata of an image.
    ///
    /// An image without a footer table or without SEV metadata is valid: it has no sections, like
    /// the standard `OvmfPkgX64` build with no SNP support, and QEMU measures only its pages and VMSAs.
    public init(bytes: [UInt8]) throws(SNPMeasurementError) {
        guard !bytes.isEmpty, UInt64(bytes.count) <= 1 << 32 else {
            throw .imageSizeOutOfRange(size: bytes.count)
        }
        guard bytes.count % SNPLaunchDigest.pageSize == 0 else {
            throw .imageNotPageMultiple(size: bytes.count)
        }
        self.bytes = bytes
        self.footerTable = try Self.footerTable(of: bytes)
        self.sevMetadata = try self.footerTable[Self.sevMetadataGUID].map { entry throws(SNPMeasurementError) in
            try SEVMetadataSection.sections(in: bytes, offsetFromEnd: try Self.uint32(entry, at: 0, structure: "SEV metadata entry"))
        } ?? []
    }

    /// The guest physical address of the first byte: the image ends at 4 GiB.
    public var gpa: UInt64 { (1 << 32) - UInt64(self.bytes.count) }

    /// The address application processors start at (the SEV-ES reset block), which the
    /// hypervisor puts into the AP VMSAs.
    public var apResetAddress: UInt32 {
        get throws(SNPMeasurementError) {
            try Self.uint32(try self.entry(Self.sevESResetBlockGUID, name: "SEV-ES reset block"), at: 0, structure: "SEV-ES reset block")
        }
    }

    /// The GPA QEMU writes the kernel hashes table at (the SEV hash table entry).
    public var sevHashTableAddress: UInt32 {
        get throws(SNPMeasurementError) {
            try Self.uint32(try self.entry(Self.sevHashTableGUID, name: "SEV hash table"), at: 0, structure: "SEV hash table entry")
        }
    }

    private func entry(_ guid: EFIGUID, name: String) throws(SNPMeasurementError) -> [UInt8] {
        guard let data = self.footerTable[guid] else {
            throw .missingFooterEntry(name: name, guid: guid.description)
        }
        return data
    }

    /// Reads the GUIDed table backwards from its footer; an image whose footer GUID is absent has none.
    private static func footerTable(of bytes: [UInt8]) throws(SNPMeasurementError) -> [EFIGUID: [UInt8]] {
        let footerStart = bytes.count - resetVectorAreaSize - entryTrailerSize
        guard footerStart >= 0, EFIGUID(bytes: Array(bytes[(footerStart + 2)..<(footerStart + entryTrailerSize)])) == footerGUID else {
            return [:]
        }
        let tableSize = Int(try uint16(bytes, at: footerStart, structure: "OVMF footer entry")) - entryTrailerSize
        guard tableSize >= 0, tableSize <= footerStart else {
            throw .footerEntryMalformed(guid: footerGUID.description, size: tableSize + entryTrailerSize)
        }
        var table: [EFIGUID: [UInt8]] = [:]
        var end = footerStart
        while end - (footerStart - tableSize) >= entryTrailerSize {
            let trailer = end - entryTrailerSize
            let guid = EFIGUID(bytes: Array(bytes[(trailer + 2)..<end]))
            let size = Int(try uint16(bytes, at: trailer, structure: "OVMF footer table"))
            guard size >= entryTrailerSize, end - size >= footerStart - tableSize else {
                throw .footerEntryMalformed(guid: guid.description, size: size)
            }
            table[guid] = Array(bytes[(end - size)..<trailer])
            end -= size
        }
        return table
    }

    static func uint16(_ bytes: [UInt8], at offset: Int, structure: String) throws(SNPMeasurementError) -> UInt16 {
        UInt16(truncatingIfNeeded: try littleEndian(bytes, at: offset, width: 2, structure: structure))
    }

    static func uint32(_ bytes: [UInt8], at offset: Int, structure: String) throws(SNPMeasurementError) -> UInt32 {
        UInt32(truncatingIfNeeded: try littleEndian(bytes, at: offset, width: 4, structure: structure))
    }

    private static func littleEndian(_ bytes: [UInt8], at offset: Int, width: Int, structure: String) throws(SNPMeasurementError) -> UInt64 {
        guard offset >= 0, offset + width <= bytes.count else {
            throw .truncated(structure: structure, offset: max(offset, bytes.count))
        }
        return bytes[offset..<(offset + width)].reversed().reduce(0) { ($0 << 8) | UInt64($1) }
    }
}

/// One section of OVMF's SEV metadata: a range of guest memory the hypervisor must add to the
/// launch with a given page type (edk2 `OvmfPkg/ResetVector/X64/OvmfSevMetadata.asm`; QEMU's and
/// the Linux kernel's readers agree on the layout).
///
/// The metadata is found at the offset from the end of the image that the OVMF_SEV_METADATA footer
/// entry gives: a 16-byte header (signature "ASEV", u32 size of header and sections, u32 version
/// 1, u32 section count) followed by 12-byte sections (u32 GPA, u32 size, u32 type).
public struct SEVMetadataSection: Sendable, Hashable, Codable {
    /// What the hypervisor puts in the section's pages.
    public enum Kind: UInt32, Sendable, Hashable, Codable {
        /// OVMF_SECTION_TYPE_SNP_SEC_MEM: memory the SEC phase uses before it can validate pages;
        /// QEMU adds it as zero pages.
        case snpSecureMemory = 1
        /// OVMF_SECTION_TYPE_SNP_SECRETS: the secrets page.
        case snpSecrets = 2
        /// OVMF_SECTION_TYPE_CPUID: the CPUID page.
        case cpuid = 3
        /// OVMF_SECTION_TYPE_SVSM_CAA: the calling area for an SVSM; added as zero pages.
        case svsmCallingArea = 4
        /// OVMF_SECTION_TYPE_SNP_KERNEL_HASHES: the page QEMU writes the kernel hashes table into
        /// for measured direct boot; zero pages when no kernel is given.
        case snpKernelHashes = 0x10
    }

    /// The guest physical address of the first page.
    public let gpa: UInt32
    /// The size in bytes, a whole number of pages.
    public let size: UInt32
    /// What the pages hold.
    public let kind: Kind

    /// Creates a section.
    public init(gpa: UInt32, size: UInt32, kind: Kind) {
        self.gpa = gpa
        self.size = size
        self.kind = kind
    }

    static let signature = Array("ASEV".utf8)
    static let headerSize = 16
    static let sectionSize = 12

    static func sections(in image: [UInt8], offsetFromEnd: UInt32) throws(SNPMeasurementError) -> [SEVMetadataSection] {
        let start = image.count - Int(offsetFromEnd)
        guard start >= 0, start + headerSize <= image.count else {
            throw .truncated(structure: "SEV metadata header", offset: max(start, 0))
        }
        guard Array(image[start..<(start + 4)]) == signature else {
            throw .metadataHeaderInvalid(offset: start, reason: "the signature is not \"ASEV\"")
        }
        let size = Int(try OVMFImage.uint32(image, at: start + 4, structure: "SEV metadata header"))
        let version = try OVMFImage.uint32(image, at: start + 8, structure: "SEV metadata header")
        let count = Int(try OVMFImage.uint32(image, at: start + 12, structure: "SEV metadata header"))
        guard version == 1 else {
            throw .metadataHeaderInvalid(offset: start, reason: "version \(version) is not 1")
        }
        guard headerSize + count * sectionSize <= size, start + size <= image.count else {
            throw .truncated(structure: "SEV metadata of \(count) sections", offset: start)
        }
        return try (0..<count).map { index throws(SNPMeasurementError) in
            let offset = start + headerSize + index * sectionSize
            let gpa = try OVMFImage.uint32(image, at: offset, structure: "SEV metadata section")
            let size = try OVMFImage.uint32(image, at: offset + 4, structure: "SEV metadata section")
            let type = try OVMFImage.uint32(image, at: offset + 8, structure: "SEV metadata section")
            guard let kind = Kind(rawValue: type) else {
                throw .unknownSectionType(type, offset: offset + 8)
            }
            guard gpa % UInt32(SNPLaunchDigest.pageSize) == 0, size % UInt32(SNPLaunchDigest.pageSize) == 0 else {
                throw .sectionNotPageAligned(gpa: gpa, size: size)
            }
            return SEVMetadataSection(gpa: gpa, size: size, kind: kind)
        }
    }
}
