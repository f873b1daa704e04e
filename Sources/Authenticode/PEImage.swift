/// A PE/COFF image, parsed as far as Authenticode needs it (Microsoft PE/COFF Specification:
/// §3 "Overview" MS-DOS stub and signature, §3.3 COFF File Header, §3.4 Optional Header with its
/// data directories, §4 Section Table, §5.7 "The Attribute Certificate Table").
///
/// Every offset and size is checked against the file before it is used; errors name the field
/// and its absolute byte offset.
public struct PEImage: Sendable {
    /// The Optional Header magic (PE/COFF §3.4.1).
    public enum Format: Sendable, Equatable {
        /// Magic 0x10B.
        case pe32
        /// Magic 0x20B.
        case pe32Plus
    }

    /// An IMAGE_DATA_DIRECTORY entry (PE/COFF §3.4.3).
    public struct DataDirectory: Sendable, Equatable {
        /// An RVA, except for the Certificate Table where it is a file offset (PE/COFF §3.4.3).
        public var address: UInt32
        public var size: UInt32
    }

    /// A section header (PE/COFF §4).
    public struct Section: Sendable, Equatable {
        public var name: String
        public var virtualSize: UInt32
        public var virtualAddress: UInt32
        public var sizeOfRawData: UInt32
        public var pointerToRawData: UInt32
    }

    /// The whole file.
    public let bytes: [UInt8]
    public let format: Format
    /// COFF header Machine (PE/COFF §3.3.1), e.g. 0x8664 for x64.
    public let machine: UInt16
    /// Optional Header SizeOfHeaders: MS-DOS stub, PE header and section headers, rounded up to FileAlignment.
    public let sizeOfHeaders: Int
    /// File offset of the Optional Header CheckSum field.
    public let checksumOffset: Int
    /// File offset of the Certificate Table data directory entry, nil if NumberOfRvaAndSizes is 4 or less.
    public let certificateTableEntryOffset: Int?
    /// The data directories, in order (index 4 is the Certificate Table).
    public let dataDirectories: [DataDirectory]
    /// The section table, in file order.
    public let sections: [Section]

    /// Index of the Certificate Table in the data directories (PE/COFF §3.4.3).
    static let certificateTableIndex = 4

    public init(bytes: [UInt8]) throws(AuthenticodeError) {
        self.bytes = bytes
        let reader = PEReader(bytes: bytes)
        // MS-DOS header: "MZ", and e_lfanew at offset 0x3C (PE/COFF §3.2).
        guard try reader.u16(at: 0, "e_magic") == 0x5A4D else {
            throw .invalidField(field: "e_magic", offset: 0, reason: "not \"MZ\"")
        }
        let peOffset = Int(try reader.u32(at: 0x3C, "e_lfanew"))
        guard try reader.u32(at: peOffset, "PE signature") == 0x0000_4550 else {
            throw .invalidField(field: "PE signature", offset: peOffset, reason: "not \"PE\\0\\0\"")
        }
        let coff = peOffset + 4
        machine = try reader.u16(at: coff, "Machine")
        let sectionCount = Int(try reader.u16(at: coff + 2, "NumberOfSections"))
        let optionalHeaderSize = Int(try reader.u16(at: coff + 16, "SizeOfOptionalHeader"))
        let optional = coff + 20
        try reader.require(optional, optionalHeaderSize, "Optional Header")
        let directoriesOffset: Int
        switch try reader.u16(at: optional, "Optional Header Magic") {
        case 0x10B:
            format = .pe32
            directoriesOffset = optional + 96
        case 0x20B:
            format = .pe32Plus
            directoriesOffset = optional + 112
        case let magic:
            throw .invalidField(field: "Optional Header Magic", offset: optional, reason: "0x\(String(magic, radix: 16)) is neither PE32 nor PE32+")
        }
        sizeOfHeaders = Int(try reader.u32(at: optional + 60, "SizeOfHeaders"))
        checksumOffset = optional + 64
        let directoryCountOffset = directoriesOffset - 4
        let directoryCount = Int(try reader.u32(at: directoryCountOffset, "NumberOfRvaAndSizes"))
        guard directoriesOffset + 8 * directoryCount <= optional + optionalHeaderSize else {
            throw .invalidField(field: "NumberOfRvaAndSizes", offset: directoryCountOffset,
                                reason: "\(directoryCount) directories do not fit in SizeOfOptionalHeader \(optionalHeaderSize)")
        }
        var directories: [DataDirectory] = []
        for index in 0..<directoryCount {
            let entry = directoriesOffset + 8 * index
            directories.append(DataDirectory(address: try reader.u32(at: entry, "Data Directory \(index) address"),
                                             size: try reader.u32(at: entry + 4, "Data Directory \(index) size")))
        }
        dataDirectories = directories
        certificateTableEntryOffset = directoryCount > Self.certificateTableIndex
            ? directoriesOffset + 8 * Self.certificateTableIndex : nil

        let sectionTable = optional + optionalHeaderSize
        try reader.require(sectionTable, 40 * sectionCount, "Section Table")
        guard sectionTable + 40 * sectionCount <= sizeOfHeaders, sizeOfHeaders <= bytes.count else {
            throw .invalidField(field: "SizeOfHeaders", offset: optional + 60,
                                reason: "\(sizeOfHeaders) does not cover the section table ending at \(sectionTable + 40 * sectionCount) or exceeds the file size \(bytes.count)")
        }
        var sections: [Section] = []
        for index in 0..<sectionCount {
            let header = sectionTable + 40 * index
            let nameBytes = bytes[header..<header + 8].prefix { $0 != 0 }
            let section = Section(
                name: String(decoding: nameBytes, as: UTF8.self),
                virtualSize: try reader.u32(at: header + 8, "Section \(index) VirtualSize"),
                virtualAddress: try reader.u32(at: header + 12, "Section \(index) VirtualAddress"),
                sizeOfRawData: try reader.u32(at: header + 16, "Section \(index) SizeOfRawData"),
                pointerToRawData: try reader.u32(at: header + 20, "Section \(index) PointerToRawData"))
            if section.sizeOfRawData > 0 {
                try reader.require(Int(section.pointerToRawData), Int(section.sizeOfRawData), "Section \(index) (\(section.name)) raw data")
            }
            sections.append(section)
        }
        self.sections = sections
        if let table = certificateTable {
            try reader.require(Int(table.address), Int(table.size), "Attribute Certificate Table")
            guard Int(table.address) >= sectionDataEnd else {
                throw .invalidCertificateTable(offset: Int(table.address),
                                               reason: "the table starts before the end of the section data at \(sectionDataEnd)")
            }
        }
    }

    /// The Certificate Table data directory entry (a file offset and size), nil if the image is unsigned.
    public var certificateTable: DataDirectory? {
        guard dataDirectories.count > Self.certificateTableIndex else { return nil }
        let entry = dataDirectories[Self.certificateTableIndex]
        return entry.size == 0 ? nil : entry
    }

    /// The end of the last section's raw data in the file, at least SizeOfHeaders.
    var sectionDataEnd: Int {
        sections.map { Int($0.pointerToRawData) + Int($0.sizeOfRawData) }.reduce(sizeOfHeaders, max)
    }
}

/// Bounds-checked little-endian reads at absolute file offsets (PE/COFF is little-endian, §2).
struct PEReader {
    let bytes: [UInt8]

    /// Throws unless `count` bytes starting at `offset` lie inside the file.
    func require(_ offset: Int, _ count: Int, _ field: String) throws(AuthenticodeError) {
        guard offset >= 0, count >= 0, offset <= bytes.count, count <= bytes.count - offset else {
            throw .truncated(field: field, offset: offset, needed: count, available: max(0, bytes.count - max(offset, 0)))
        }
    }

    func u16(at offset: Int, _ field: String) throws(AuthenticodeError) -> UInt16 {
        UInt16(truncatingIfNeeded: try integer(at: offset, width: 2, field))
    }

    func u32(at offset: Int, _ field: String) throws(AuthenticodeError) -> UInt32 {
        UInt32(truncatingIfNeeded: try integer(at: offset, width: 4, field))
    }

    private func integer(at offset: Int, width: Int, _ field: String) throws(AuthenticodeError) -> UInt64 {
        try require(offset, width, field)
        return (0..<width).reduce(UInt64(0)) { value, index in value | UInt64(bytes[offset + index]) << (8 * index) }
    }
}
