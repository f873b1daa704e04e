import Authenticode

/// Small, valid, unsigned PE32+ EFI applications built in memory, so that the emulated firmware
/// has a shim, a GRUB and a kernel to load and measure when no real ones are at hand (Microsoft
/// PE/COFF Specification §2 "Overview", §3 "File Headers", §4 "Section Table"): an MS-DOS header
/// whose e_lfanew points at "PE\0\0", a COFF header for x64, a PE32+ optional header for an EFI
/// application (subsystem 10) with the 16 standard data directories, and one `.text` section
/// holding `code`. Only the layout is hand-written; ``PEImage`` reads it back and Authenticode
/// hashes it like any other image.
public enum SyntheticPEImage {
    static let fileAlignment = 0x200
    static let sectionAlignment = 0x1000
    static let optionalHeaderSize = 240

    /// An EFI application whose `.text` section is `code`, zero-padded to the file alignment.
    public static func make(code: [UInt8]) throws(AuthenticodeError) -> PEImage {
        let rawSize = (code.count + fileAlignment - 1) / fileAlignment * fileAlignment
        let virtualSize = (code.count + sectionAlignment - 1) / sectionAlignment * sectionAlignment
        var bytes = [UInt8](repeating: 0, count: fileAlignment)
        bytes.put(0x5A4D, at: 0, width: 2)                             // e_magic "MZ"
        bytes.put(0x40, at: 0x3C, width: 4)                            // e_lfanew
        bytes.put(0x0000_4550, at: 0x40, width: 4)                     // "PE\0\0"
        let coff = 0x44
        bytes.put(0x8664, at: coff, width: 2)                          // Machine: x64
        bytes.put(1, at: coff + 2, width: 2)                           // NumberOfSections
        bytes.put(UInt64(optionalHeaderSize), at: coff + 16, width: 2) // SizeOfOptionalHeader
        bytes.put(0x0022, at: coff + 18, width: 2)                     // Characteristics: executable, large address aware
        let optional = coff + 20
        bytes.put(0x20B, at: optional, width: 2)                       // Magic: PE32+
        bytes.put(UInt64(rawSize), at: optional + 4, width: 4)         // SizeOfCode
        bytes.put(UInt64(sectionAlignment), at: optional + 16, width: 4) // AddressOfEntryPoint
        bytes.put(UInt64(sectionAlignment), at: optional + 20, width: 4) // BaseOfCode
        bytes.put(UInt64(sectionAlignment), at: optional + 32, width: 4) // SectionAlignment
        bytes.put(UInt64(fileAlignment), at: optional + 36, width: 4)  // FileAlignment
        bytes.put(UInt64(sectionAlignment + virtualSize), at: optional + 56, width: 4) // SizeOfImage
        bytes.put(UInt64(fileAlignment), at: optional + 60, width: 4)  // SizeOfHeaders
        bytes.put(10, at: optional + 68, width: 2)                     // Subsystem: EFI application
        bytes.put(16, at: optional + 108, width: 4)                    // NumberOfRvaAndSizes
        let section = optional + optionalHeaderSize
        bytes.replaceSubrange(section..<(section + 5), with: Array(".text".utf8))
        bytes.put(UInt64(code.count), at: section + 8, width: 4)       // VirtualSize
        bytes.put(UInt64(sectionAlignment), at: section + 12, width: 4) // VirtualAddress
        bytes.put(UInt64(rawSize), at: section + 16, width: 4)         // SizeOfRawData
        bytes.put(UInt64(fileAlignment), at: section + 20, width: 4)   // PointerToRawData
        bytes.put(0x6000_0020, at: section + 36, width: 4)             // Characteristics: code, execute, read
        bytes += code + [UInt8](repeating: 0, count: rawSize - code.count)
        return try PEImage(bytes: bytes)
    }
}

extension [UInt8] {
    /// Stores the low `width` bytes of `value` little-endian at `offset`.
    mutating func put(_ value: UInt64, at offset: Int, width: Int) {
        for index in 0..<width { self[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }
}
