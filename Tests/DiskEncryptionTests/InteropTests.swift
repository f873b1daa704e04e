import Crypto
import DiskEncryption
import Foundation
import Testing

/// LUKS2 volumes made by cryptsetup open in CVMKit, and volumes CVMKit makes open in cryptsetup;
/// keys and sectors are compared with what cryptsetup and openssl give.
@Suite("LUKS2 interop with cryptsetup", .enabled(if: Tools.cryptsetupAvailable))
struct InteropTests {
    static let passphrase = Array("correct horse battery staple".utf8)
    static let megabyte = 1 << 20

    /// A 17 MiB file formatted by cryptsetup (16 MiB of header and keyslots, 1 MiB of data filled
    /// with random bytes), with the passphrase in `key`.
    static func cryptsetupVolume(_ directory: URL, kdf: [String], sectorSize: Int = 4096) throws -> (path: String, keyFile: String) {
        let path = try Tools.makeFile(directory, "volume.img", size: 17 * megabyte)
        let keyFile = try Tools.writeFile(directory, "key", passphrase)
        try Tools.run(["cryptsetup", "luksFormat", "--type", "luks2", "--batch-mode", "--key-file", keyFile,
            "--sector-size", String(sectorSize)] + kdf + [path])
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seek(toOffset: UInt64(16 * megabyte))
        try handle.write(contentsOf: Data(Tools.random(megabyte)))
        try handle.close()
        return (path, keyFile)
    }

    static let pbkdf2 = ["--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000"]
    static let argon2id = ["--pbkdf", "argon2id", "--pbkdf-memory", "32768", "--pbkdf-force-iterations", "4", "--pbkdf-parallel", "1"]

    @Test("The header of a cryptsetup volume parses to what luksDump prints")
    func headerMatchesLuksDump() throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (path, _) = try Self.cryptsetupVolume(directory, kdf: Self.pbkdf2)
        let dump = String(decoding: try Tools.run(["cryptsetup", "luksDump", path]).output, as: UTF8.self)
        let volume = try LUKS2Volume(path: path)
        let header = volume.header
        #expect(dump.contains("UUID:          \t\(header.uuid)"))
        #expect(dump.contains("Epoch:         \t\(header.sequenceID)\n"))
        #expect(header.primary.headerSize == 16384 && header.secondary.headerOffset == 16384)
        #expect(header.damagedCopy == nil)
        let keyslot = try #require(header.metadata.keyslots["0"])
        #expect(dump.contains("Area offset:\(keyslot.area.offset) [bytes]"))
        #expect(dump.contains("Area length:\(keyslot.area.size) [bytes]"))
        #expect(keyslot.af.stripes == 4000 && keyslot.keySize == 64)
        #expect(keyslot.kdf == .pbkdf2(hash: "sha256", iterations: 1000, salt: try Self.dumpSalt(dump, after: "PBKDF:")))
        let segment = try #require(header.metadata.segments["0"])
        #expect(segment.offset == 16_777_216 && segment.size == .dynamic && segment.sectorSize == 4096)
        #expect(header.metadata.config.keyslotsSize == 16_744_448)
    }

    /// The salt luksDump prints in hex lines after the line starting with `marker`.
    static func dumpSalt(_ dump: String, after marker: String) throws -> Data {
        let lines = dump.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0.trimmingCharacters(in: .whitespaces).hasPrefix(marker) })
        let saltLine = try #require(lines[start...].firstIndex { $0.contains("Salt:") })
        let hex = lines[saltLine].split(separator: ":")[1] + lines[saltLine + 1]
        return Data(Tools.bytes(hex: String(hex)))
    }

    @Test("A corrupt copy is named; the other copy is used; both corrupt is refused naming both", arguments: [LUKS2HeaderCopy.primary, .secondary])
    func corruptCopy(copy: LUKS2HeaderCopy) throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (path, keyFile) = try Self.cryptsetupVolume(directory, kdf: Self.pbkdf2)
        let expectedKey = try Tools.cryptsetupVolumeKey(path, keyFile: keyFile)
        let device = try LUKS2Device(path: path, writable: true)
        let offset: UInt64 = copy == .primary ? 0 : 16384
        let flipped = try device.read(at: offset + 5000, count: 1).map { $0 ^ 0x20 }
        try device.write(flipped, at: offset + 5000)
        let volume = try LUKS2Volume(path: path)
        #expect(volume.header.damagedCopy?.copy == copy)
        #expect(volume.header.damagedCopy?.problem == .checksumMismatch)
        #expect(try volume.unlock(passphrase: Self.passphrase).volumeKey.bytes == expectedKey)
        let other: UInt64 = copy == .primary ? 16384 : 0
        let second = try device.read(at: other + 5000, count: 1).map { $0 ^ 0x20 }
        try device.write(second, at: other + 5000)
        #expect(throws: LUKS2Error.noValidHeader(primary: .checksumMismatch, secondary: .checksumMismatch)) {
            try LUKS2Volume(path: path)
        }
    }

    /// Replaces `old` by `new` in the JSON of both copies and recomputes each copy's SHA-256 over
    /// the header area with the csum field (bytes 448..<512) zeroed, per the specification §2.1.
    static func editJSON(_ path: String, replacing old: String, with new: String) throws {
        let device = try LUKS2Device(path: path, writable: true)
        for offset: UInt64 in [0, 16384] {
            var area = try device.read(at: offset, count: 16384)
            let jsonEnd = try #require(area[4096...].firstIndex(of: 0))
            let json = String(decoding: area[4096..<jsonEnd], as: UTF8.self)
            #expect(json.contains(old))
            let edited = Array(json.replacingOccurrences(of: old, with: new).utf8)
            area.replaceSubrange(4096..<16384, with: edited + [UInt8](repeating: 0, count: 12288 - edited.count))
            area.replaceSubrange(448..<512, with: [UInt8](repeating: 0, count: 64))
            area.replaceSubrange(448..<480, with: Array(SHA256.hash(data: area)))
            try device.write(area, at: offset)
        }
    }

    @Test("Metadata breaking the specification's rules is refused in both copies, as cryptsetup refuses it", arguments: [
        (#""offset":"32768","size":"258048""#, #""offset":"4096","size":"258048""#),
        (#""keyslots":["0"],"segments":["0"]"#, #""keyslots":["0","7"],"segments":["0"]"#),
        (#""keyslots":{"0""#, #""keyslots":{"40""#),
        (#""keyslots_size":"16744448""#, #""keyslots_size":"16744449""#),
    ])
    func invalidMetadata(old: String, new: String) throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (path, _) = try Self.cryptsetupVolume(directory, kdf: Self.pbkdf2)
        try Self.editJSON(path, replacing: old, with: new)
        #expect(try Tools.run(["cryptsetup", "luksDump", path], allowFailure: true).status != 0)
        do {
            _ = try LUKS2Volume(path: path)
            Issue.record("metadata with \(new) was accepted")
        } catch .noValidHeader(.badJSON, .badJSON) {
        }
    }

    @Test("Keyslots of cryptsetup open to the volume key luksDump --dump-volume-key prints", arguments: [
        pbkdf2, argon2id, pbkdf2 + ["--key-size", "256", "--hash", "sha512"], pbkdf2 + ["--luks2-metadata-size", "64k"],
        ["--pbkdf", "argon2i", "--pbkdf-memory", "8192", "--pbkdf-force-iterations", "4", "--pbkdf-parallel", "2"],
    ])
    func openCryptsetupKeyslot(kdf: [String]) throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (path, keyFile) = try Self.cryptsetupVolume(directory, kdf: kdf)
        let volume = try LUKS2Volume(path: path)
        let unlocked = try volume.unlock(passphrase: Self.passphrase)
        #expect(unlocked.keyslot == 0)
        #expect(unlocked.volumeKey.bytes == (try Tools.cryptsetupVolumeKey(path, keyFile: keyFile)))
        #expect(throws: LUKS2Error.wrongPassphrase) { try volume.unlock(passphrase: Array("wrong".utf8)) }
    }

    @Test("Data sectors of a cryptsetup volume decrypt as OpenSSL AES-XTS does with the cryptsetup key and IVs in 512-byte units", arguments: [512, 4096])
    func decryptCryptsetupSectors(sectorSize: Int) throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (path, keyFile) = try Self.cryptsetupVolume(directory, kdf: Self.pbkdf2, sectorSize: sectorSize)
        let key = try Tools.cryptsetupVolumeKey(path, keyFile: keyFile)
        let volume = try LUKS2Volume(path: path)
        let segment = try LUKS2DataSegment(volume: volume, volumeKey: volume.unlock(passphrase: Self.passphrase).volumeKey)
        #expect(try segment.sectorCount() == UInt64(Self.megabyte / sectorSize))
        let device = try LUKS2Device(path: path)
        for sector: UInt64 in [0, 1, 7] {
            let raw = try device.read(at: UInt64(16 * Self.megabyte) + sector * UInt64(sectorSize), count: sectorSize)
            let iv = sector * UInt64(sectorSize / 512)
            #expect(try segment.read(sector: sector, count: 1) == Tools.referenceXTS(raw, key: key, sector: iv, decrypt: true))
        }
    }

    @Test("Data cryptsetup encrypts in user space (offline reencrypt --encrypt) reads back as the plaintext", arguments: [512, 4096])
    func readCryptsetupEncryptedData(sectorSize: Int) throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let plaintext = Tools.random(Self.megabyte)
        let path = try Tools.writeFile(directory, "volume.img", plaintext)
        try Tools.run(["truncate", "-s", String(33 * Self.megabyte), path])
        let keyFile = try Tools.writeFile(directory, "key", Self.passphrase)
        try Tools.run(["cryptsetup", "reencrypt", "--encrypt", "--type", "luks2", "--reduce-device-size", "32M", "--batch-mode",
            "--sector-size", String(sectorSize), "--key-file", keyFile] + Self.pbkdf2 + [path])
        let volume = try LUKS2Volume(path: path)
        let segment = try LUKS2DataSegment(volume: volume, volumeKey: volume.unlock(passphrase: Self.passphrase).volumeKey)
        #expect(try segment.read(sector: 0, count: Self.megabyte / sectorSize) == plaintext)
    }

    @Test("Sectors CVMKit writes through a detached header decrypt with cryptsetup reencrypt --decrypt", arguments: [512, 4096])
    func cryptsetupDecryptsWrittenData(sectorSize: Int) throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let headerPath = try Tools.makeFile(directory, "header.img", size: 16 * Self.megabyte)
        let dataPath = try Tools.makeFile(directory, "data.img", size: Self.megabyte)
        let keyFile = try Tools.writeFile(directory, "key", Self.passphrase)
        try Tools.run(["cryptsetup", "luksFormat", "--type", "luks2", "--batch-mode", "--key-file", keyFile, "--header", headerPath,
            "--sector-size", String(sectorSize)] + Self.pbkdf2 + [dataPath])
        let volume = try LUKS2Volume(path: headerPath, dataPath: dataPath, writable: true)
        let segment = try LUKS2DataSegment(volume: volume, volumeKey: volume.unlock(passphrase: Self.passphrase).volumeKey)
        let plaintext = Tools.random(Self.megabyte)
        try segment.write(plaintext, sector: 0)
        try Tools.run(["cryptsetup", "reencrypt", "--decrypt", "--force-offline-reencrypt", "--batch-mode", "--key-file", keyFile, "--header", headerPath, dataPath])
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: dataPath))) == plaintext)
    }

    @Test("A volume CVMKit formats passes luksDump and --test-passphrase, with the same volume key and sectors", arguments: [
        (LUKS2KDFParameters.pbkdf2(iterations: 1000), 4096), (.argon2id(iterations: 4, memory: 32768, parallelism: 1), 512),
    ])
    func formatForCryptsetup(kdf: LUKS2KDFParameters, sectorSize: Int) throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = try Tools.makeFile(directory, "volume.img", size: 17 * Self.megabyte)
        let keyFile = try Tools.writeFile(directory, "key", Self.passphrase)
        let (volume, volumeKey) = try LUKS2Volume.format(
            path: path, passphrase: Self.passphrase,
            options: .init(kdf: kdf, sectorSize: sectorSize, digestIterations: 1000, label: "cvmkit-test"))
        let dump = String(decoding: try Tools.run(["cryptsetup", "luksDump", path]).output, as: UTF8.self)
        #expect(dump.contains("Label:         \tcvmkit-test\n"))
        #expect(dump.contains("UUID:          \t\(volume.header.uuid)\n"))
        try Tools.run(["cryptsetup", "open", "--test-passphrase", "--key-file", keyFile, path])
        let key = try Tools.cryptsetupVolumeKey(path, keyFile: keyFile)
        #expect(volumeKey.bytes == key)
        let segment = try LUKS2DataSegment(volume: volume, volumeKey: volumeKey)
        let plaintext = Tools.random(2 * sectorSize)
        try segment.write(plaintext, sector: 3)
        let raw = try LUKS2Device(path: path).read(at: UInt64(16 * Self.megabyte) + 3 * UInt64(sectorSize), count: 2 * sectorSize)
        let step = UInt64(sectorSize / 512)
        let first = try Tools.referenceXTS(Array(raw[..<sectorSize]), key: key, sector: 3 * step, decrypt: true)
        let second = try Tools.referenceXTS(Array(raw[sectorSize...]), key: key, sector: 4 * step, decrypt: true)
        #expect(first + second == plaintext)
        #expect(try segment.read(sector: 3, count: 2) == plaintext)
    }

    @Test("Keyslots CVMKit adds (or changes) open in cryptsetup; removed ones no longer do; the header stays valid")
    func addAndRemoveKeyslots() throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (path, keyFile) = try Self.cryptsetupVolume(directory, kdf: Self.pbkdf2)
        var volume = try LUKS2Volume(path: path, writable: true)
        let epoch = volume.header.sequenceID
        let volumeKey = try volume.unlock(passphrase: Self.passphrase).volumeKey
        let second = Array("second passphrase".utf8)
        let secondFile = try Tools.writeFile(directory, "key2", second)
        let id = try volume.addKeyslot(passphrase: second, volumeKey: volumeKey, kdf: .pbkdf2(iterations: 1000))
        #expect(id == 1)
        #expect(volume.header.sequenceID == epoch + 1)
        try Tools.run(["cryptsetup", "open", "--test-passphrase", "--key-slot", "1", "--key-file", secondFile, path])
        try volume.removeKeyslot(0)
        #expect(try Tools.run(["cryptsetup", "open", "--test-passphrase", "--key-file", keyFile, path], allowFailure: true).status != 0)
        try Tools.run(["cryptsetup", "open", "--test-passphrase", "--key-file", secondFile, path])
        let reread = try LUKS2Volume(path: path)
        #expect(reread.header.metadata.keyslots.keys.sorted() == ["1"])
        #expect(try reread.unlock(passphrase: second).keyslot == 1)
        let third = Array("third passphrase".utf8)
        let thirdFile = try Tools.writeFile(directory, "key3", third)
        #expect(try volume.changePassphrase(keyslot: 1, from: second, to: third, kdf: .pbkdf2(iterations: 1000)) == 0)
        try Tools.run(["cryptsetup", "open", "--test-passphrase", "--key-file", thirdFile, path])
        #expect(try Tools.run(["cryptsetup", "open", "--test-passphrase", "--key-file", secondFile, path], allowFailure: true).status != 0)
    }

    /// Epoch and keyslot ids as `cryptsetup luksDump` reports them.
    static func cryptsetupView(_ path: String) throws -> (epoch: UInt64, keyslots: [String]) {
        let dump = String(decoding: try Tools.run(["cryptsetup", "luksDump", path]).output, as: UTF8.self)
        let lines = dump.split(separator: "\n")
        let epoch = try #require(lines.first { $0.hasPrefix("Epoch:") }.flatMap { UInt64($0.split(separator: "\t").last ?? "") })
        let keyslots = lines.filter { $0.hasPrefix("  ") && $0.hasSuffix(": luks2") }.map {
            String($0.trimmingCharacters(in: .whitespaces).prefix { $0 != ":" })
        }
        return (epoch, keyslots)
    }

    @Test("A header update cut short (secondary not written, or primary torn) reads as cryptsetup reads it", arguments: [false, true])
    func interruptedUpdate(tornPrimary: Bool) throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (path, _) = try Self.cryptsetupVolume(directory, kdf: Self.pbkdf2)
        let device = try LUKS2Device(path: path, writable: true)
        let before = try device.read(at: 0, count: 2 * 16384)
        var volume = try LUKS2Volume(path: path, writable: true)
        let epoch = volume.header.sequenceID
        let volumeKey = try volume.unlock(passphrase: Self.passphrase).volumeKey
        try volume.addKeyslot(passphrase: Array("new".utf8), volumeKey: volumeKey, kdf: .pbkdf2(iterations: 1000))
        try device.write(Array(before[16384...]), at: 16384)
        if tornPrimary {
            try device.write(Array(before[4096..<16384]), at: 4096)
        }
        let reread = try LUKS2Volume(path: path).header
        #expect(reread.damagedCopy?.copy == (tornPrimary ? .primary : nil))
        let view = try Self.cryptsetupView(path)
        #expect(view.epoch == (tornPrimary ? epoch : epoch + 1))
        #expect(reread.sequenceID == view.epoch)
        #expect(reread.metadata.keyslots.keys.sorted() == view.keyslots)
    }

    @Test("A repaired copy is whole for cryptsetup: with the other copy corrupted, cryptsetup still opens", arguments: [LUKS2HeaderCopy.primary, .secondary])
    func repairCopy(copy: LUKS2HeaderCopy) throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (path, keyFile) = try Self.cryptsetupVolume(directory, kdf: Self.pbkdf2)
        let expectedKey = try Tools.cryptsetupVolumeKey(path, keyFile: keyFile)
        let device = try LUKS2Device(path: path, writable: true)
        let (damaged, other): (UInt64, UInt64) = copy == .primary ? (0, 16384) : (16384, 0)
        try device.write([0x00, 0x00], at: damaged)
        var volume = try LUKS2Volume(path: path, writable: true)
        #expect(volume.header.damagedCopy?.problem == .badMagic)
        try volume.repairHeader()
        #expect(volume.header.damagedCopy == nil)
        try device.write(Tools.random(64), at: other + 448)
        #expect(try Tools.cryptsetupVolumeKey(path, keyFile: keyFile) == expectedKey)
    }

    @Test("A token CVMKit adds is what cryptsetup token export prints; removing it empties the slot")
    func addAndRemoveToken() throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (path, _) = try Self.cryptsetupVolume(directory, kdf: Self.pbkdf2)
        var volume = try LUKS2Volume(path: path, writable: true)
        let token = LUKS2Token(type: "cvmkit-vtpm", keyslots: ["0"], properties: ["handle": .string("0x81000001"), "pcrs": .array([.integer(7), .integer(16)])])
        let id = try volume.addToken(token)
        #expect(id == 0)
        let exported = String(decoding: try Tools.run(["cryptsetup", "token", "export", "--token-id", "0", path]).output, as: UTF8.self)
            .filter { !$0.isWhitespace }
        for field in [#""type":"cvmkit-vtpm""#, #""keyslots":["0"]"#, #""handle":"0x81000001""#, #""pcrs":[7,16]"#] {
            #expect(exported.contains(field))
        }
        try volume.removeToken(0)
        #expect(try Tools.run(["cryptsetup", "token", "export", "--token-id", "0", path], allowFailure: true).status != 0)
    }

    @Test("A luks2-keyring token cryptsetup adds unlocks through a handler giving the passphrase")
    func tokenUnlock() throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (path, keyFile) = try Self.cryptsetupVolume(directory, kdf: Self.pbkdf2)
        try Tools.run(["cryptsetup", "token", "add", "--key-description", "cvmkit:test", "--key-slot", "0", path])
        let volume = try LUKS2Volume(path: path)
        let token = try #require(volume.header.metadata.tokens["0"])
        #expect(token.type == "luks2-keyring" && token.keyslots == ["0"])
        #expect(token.properties["key_description"] == .string("cvmkit:test"))
        let unlocked = try volume.unlock(token: 0) { token in
            token.properties["key_description"] == .string("cvmkit:test") ? Self.passphrase : []
        }
        #expect(unlocked.volumeKey.bytes == (try Tools.cryptsetupVolumeKey(path, keyFile: keyFile)))
        #expect(throws: LUKS2Error.wrongPassphrase) { try volume.unlock(token: 0) { _ in Array("nope".utf8) } }
    }

    @Test("Unknown fields at every level survive a CVMKit rewrite, as they survive cryptsetup's")
    func unknownFieldsSurvive() throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (path, _) = try Self.cryptsetupVolume(directory, kdf: Self.pbkdf2)
        try Self.editJSON(path, replacing: #""kdf":{"#, with: #""x_keyslot":"kept","kdf":{"#)
        try Self.editJSON(path, replacing: #""iv_tweak":"0","#, with: #""iv_tweak":"0","x_segment":5,"#)
        try Self.editJSON(path, replacing: #""config":{"#, with: #""x_top":{"a":[1,2]},"config":{"x_config":true,"#)
        try Tools.run(["cryptsetup", "luksDump", path])
        var volume = try LUKS2Volume(path: path, writable: true)
        let volumeKey = try volume.unlock(passphrase: Self.passphrase).volumeKey
        try volume.addKeyslot(passphrase: Array("other".utf8), volumeKey: volumeKey, kdf: .pbkdf2(iterations: 1000))
        let json = String(decoding: try Tools.run(["cryptsetup", "luksDump", "--dump-json-metadata", path]).output, as: UTF8.self)
            .filter { !$0.isWhitespace }
        for field in [#""x_keyslot":"kept""#, #""x_segment":5"#, #""x_top":{"a":[1,2]}"#, #""x_config":true"#] {
            #expect(json.contains(field))
        }
        try volume.removeKeyslot(0)
        let after = String(decoding: try Tools.run(["cryptsetup", "luksDump", "--dump-json-metadata", path]).output, as: UTF8.self)
        #expect(!after.contains("x_keyslot") && after.contains("x_segment"))
    }

    @Test("A token cryptsetup imports keeps its own fields through a CVMKit header rewrite")
    func tokenFieldsSurvive() throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (path, _) = try Self.cryptsetupVolume(directory, kdf: Self.pbkdf2)
        let token = #"{"type":"cvmkit-test","keyslots":["0"],"nested":{"list":[1,"two",true]},"note":"kept"}"#
        let tokenFile = try Tools.writeFile(directory, "token.json", Array(token.utf8))
        try Tools.run(["cryptsetup", "token", "import", "--json-file", tokenFile, path])
        var volume = try LUKS2Volume(path: path, writable: true)
        let volumeKey = try volume.unlock(passphrase: Self.passphrase).volumeKey
        try volume.addKeyslot(passphrase: Array("other".utf8), volumeKey: volumeKey, kdf: .pbkdf2(iterations: 1000))
        let exported = try Tools.run(["cryptsetup", "token", "export", "--token-id", "0", path]).output
        let compact = String(decoding: exported, as: UTF8.self).filter { !$0.isWhitespace }
        #expect(compact.contains(#""note":"kept""#))
        #expect(compact.contains(#""nested":{"list":[1,"two",true]}"#))
    }
}

extension SymmetricKey {
    var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
}
