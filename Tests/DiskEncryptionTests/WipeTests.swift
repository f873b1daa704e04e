import Crypto
import DiskEncryption
import Foundation
import Testing

/// `LUKS2DataSegment.wipe`: every data sector becomes the encryption of zeros under its plain64
/// IV, as Python's `cryptography` (OpenSSL's AES-XTS) computes it from the raw ciphertext.
@Suite("Wiping the data area", .enabled(if: Tools.cryptsetupAvailable))
struct WipeTests {
    @Test("Wipe in 64 KiB chunks: progress rises to the segment size; first, middle and last sector decrypt to zeros")
    func wipe() throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = try Tools.makeFile(directory, "volume.img", size: 20 << 20)
        let (volume, volumeKey) = try LUKS2Volume.format(path: path, passphrase: TPM2TokenTests.passphrase, options: TPM2TokenTests.options)
        let segment = try LUKS2DataSegment(volume: volume, volumeKey: volumeKey)
        #expect(try segment.sectorCount() == 1024)
        try segment.write(Tools.random(4096), sector: 512)
        var reports: [UInt64] = []
        try segment.wipe(chunkBytes: 64 << 10) { done, total in
            #expect(total == 4 << 20)
            reports.append(done)
        }
        #expect(reports == (1...64).map { UInt64($0) << 16 })
        let key = volumeKey.withUnsafeBytes { Array($0) }
        let raw = Array(try Data(contentsOf: URL(fileURLWithPath: path))[(16 << 20)...])
        for sector in [0, 512, 1023] {
            let ciphertext = Array(raw[sector * 4096..<(sector + 1) * 4096])
            #expect(ciphertext != [UInt8](repeating: 0, count: 4096))
            #expect(try Tools.referenceXTS(ciphertext, key: key, sector: UInt64(sector) * 8, decrypt: true) == [UInt8](repeating: 0, count: 4096))
        }
        #expect(throws: LUKS2Error.invalidArgument("chunks of 5000 bytes are not whole sectors")) { try segment.wipe(chunkBytes: 5000) }
    }
}
