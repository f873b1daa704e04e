import DiskEncryption
import Foundation
import Testing

/// The binary header of a volume cryptsetup made: round trip, and every bit flip in its 512
/// bytes of fields refused with the error the field's place in the layout (§2.1) calls for.
@Suite("LUKS2 binary header", .enabled(if: Tools.cryptsetupAvailable))
struct HeaderTests {
    /// Both header areas (2 × 16 KiB) of a fresh cryptsetup volume.
    static func cryptsetupHeaderAreas() throws -> [UInt8] {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = try Tools.makeFile(directory, "volume.img", size: 16 << 20)
        let keyFile = try Tools.writeFile(directory, "key", Array("passphrase".utf8))
        try Tools.run(["cryptsetup", "luksFormat", "--type", "luks2", "--batch-mode", "--key-file", keyFile, "--label", "round-trip",
            "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", path])
        return try LUKS2Device(path: path).read(at: 0, count: 32768)
    }

    @Test("Both copies parse and serialize back to the same 4096 bytes")
    func roundTrip() throws {
        let areas = try Self.cryptsetupHeaderAreas()
        for (copy, offset) in [(LUKS2HeaderCopy.primary, 0), (.secondary, 16384)] {
            let bytes = Array(areas[offset..<offset + 4096])
            let header = try LUKS2BinaryHeader(bytes: bytes, copy: copy)
            #expect(header.bytes == bytes)
            #expect(header.label == "round-trip" && header.headerOffset == UInt64(offset) && header.checksumAlgorithm == "sha256")
        }
    }

    /// The error a flip of a bit in byte `offset` of the binary header must give.
    static func expectedProblem(atByte offset: Int) -> (LUKS2HeaderProblem) -> Bool {
        switch offset {
        case 0..<6: { $0 == .badMagic }
        case 6..<8: { if case .unsupportedVersion = $0 { true } else { false } }
        case 8..<16: { if case .badHeaderSize = $0 { true } else { false } }
        case 72..<79: { if case .unsupportedChecksumAlgorithm = $0 { true } else { false } }
        case 256..<264: { if case .offsetMismatch = $0 { true } else { false } }
        default: { $0 == .checksumMismatch }
        }
    }

    @Test("Every single-bit flip in the fields is refused with the field's error; truncation is refused")
    func bitFlips() throws {
        let area = Array(try Self.cryptsetupHeaderAreas()[0..<16384])
        _ = try LUKS2Header.parseCopy(area, copy: .primary, offset: 0)
        var wrong: [String] = []
        for bit in 0..<(512 * 8) {
            var flipped = area
            flipped[bit / 8] ^= 1 << (bit % 8)
            do {
                _ = try LUKS2Header.parseCopy(flipped, copy: .primary, offset: 0)
                wrong.append("bit \(bit) accepted")
            } catch {
                if !Self.expectedProblem(atByte: bit / 8)(error) { wrong.append("bit \(bit): \(error)") }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(10))")
        #expect(throws: LUKS2HeaderProblem.truncated) { try LUKS2Header.parseCopy(Array(area[0..<16383]), copy: .primary, offset: 0) }
        #expect(throws: LUKS2HeaderProblem.badMagic) { try LUKS2Header.parseCopy(area, copy: .secondary, offset: 0) }
    }
}
