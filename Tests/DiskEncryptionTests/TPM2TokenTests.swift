import Crypto
import DiskEncryption
import DiskEncryptionTPM
import Foundation
import TPM2
import TPMClient
import Testing
import VirtualTPM

/// TPM2 tokens sealed in the in-process vTPM. Expected policy digests and PCR values are computed
/// here from TPM 2.0 Part 3 §22.2 and §23.7 with swift-crypto's SHA-256; the volumes are checked
/// with cryptsetup.
@Suite("TPM2 tokens (systemd-tpm2)", .enabled(if: Tools.cryptsetupAvailable))
struct TPM2TokenTests {
    static let passphrase = Array("correct horse battery staple".utf8)
    static let options = LUKS2Volume.FormatOptions(kdf: .pbkdf2(iterations: 1000), digestIterations: 1000)

    /// A started ephemeral vTPM and a client for it.
    static func tpm() throws -> (engine: TPMEngine, client: TPM2Client) {
        let engine = try TPMEngine(mode: .ephemeral)
        engine.powerOn()
        let client = TPM2Client(transport: EngineTransport(engine: engine))
        try client.startup(.clear)
        return (engine, client)
    }

    /// A 17 MiB volume formatted by CVMKit with `passphrase` in keyslot 0.
    static func volume(_ directory: URL) throws -> (path: String, volume: LUKS2Volume, volumeKey: SymmetricKey) {
        let path = try Tools.makeFile(directory, "volume.img", size: 17 << 20)
        let (volume, key) = try LUKS2Volume.format(path: path, passphrase: passphrase, options: options)
        return (path, volume, key)
    }

    /// A CVMKit volume (passphrase in keyslot 0) enrolled in a fresh vTPM with `pcrs`.
    struct Enrolled {
        var path: String
        var volume: LUKS2Volume
        var volumeKey: SymmetricKey
        var tpm: (engine: TPMEngine, client: TPM2Client)
        var keyslot: Int
        var tokenID: Int

        var token: SystemdTPM2Token {
            get throws { try SystemdTPM2Token(try #require(volume.header.metadata.tokens[String(tokenID)])) }
        }
    }

    static func enrolled(_ directory: URL, pcrs: [Int]) throws -> Enrolled {
        var (path, volume, volumeKey) = try volume(directory)
        let tpm = try tpm()
        let (keyslot, tokenID) = try volume.enrollTPM2(client: tpm.client, pcrs: pcrs, volumeKey: volumeKey)
        return Enrolled(path: path, volume: volume, volumeKey: volumeKey, tpm: tpm, keyslot: keyslot, tokenID: tokenID)
    }

    /// PolicyPCR of Part 3 §23.7 from an all-zero policy: SHA-256(0³² ‖ TPM_CC_PolicyPCR (0x17F) ‖
    /// TPML_PCR_SELECTION ‖ SHA-256(values in index order)), the selection being one SHA-256
    /// (0x000B) entry with a 3-byte bitmap.
    static func expectedPolicy(pcrs: [Int], values: [[UInt8]]) -> [UInt8] {
        var bitmap: [UInt8] = [0, 0, 0]
        for pcr in pcrs { bitmap[pcr / 8] |= 1 << (pcr % 8) }
        let selection: [UInt8] = [0, 0, 0, 1, 0x00, 0x0B, 3] + bitmap
        let pcrDigest = Array(SHA256.hash(data: values.flatMap { $0 }))
        return Array(SHA256.hash(data: [UInt8](repeating: 0, count: 32) + [0, 0, 0x01, 0x7F] + selection + pcrDigest))
    }

    static func extend(_ client: TPM2Client, pcr: Int, with digest: [UInt8]) throws {
        try client.pcrExtend(pcr: pcr, digests: TPMLDigestValues([TPMTHA(algorithm: .sha256, digest: digest)]))
    }

    /// The token's JSON as cryptsetup exports it.
    static func exportedToken(_ path: String, id: Int) throws -> [String: Any] {
        let json = try Tools.run(["cryptsetup", "token", "export", "--token-id", String(id), path]).output
        return try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
    }

    @Test("Enroll: the token is systemd-tpm2 in luksDump, fields as systemd writes them; unlock gives the volume key")
    func enrollAndUnlock() throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let enrolled = try Self.enrolled(directory, pcrs: [11, 7])
        let (path, volumeKey, tpm, keyslot, tokenID) = (enrolled.path, enrolled.volumeKey, enrolled.tpm, enrolled.keyslot, enrolled.tokenID)

        let dump = String(decoding: try Tools.run(["cryptsetup", "luksDump", path]).output, as: UTF8.self)
        #expect(dump.contains("\(tokenID): systemd-tpm2"))
        let token = try Self.exportedToken(path, id: tokenID)
        #expect(token["type"] as? String == "systemd-tpm2")
        #expect(token["keyslots"] as? [String] == [String(keyslot)])
        #expect(token["tpm2-pcrs"] as? [Int] == [7, 11])
        #expect(token["tpm2-pcr-bank"] as? String == "sha256")
        #expect(token["tpm2-primary-alg"] as? String == "ecc")
        #expect(token["tpm2-pin"] as? Bool == false)
        // Fresh PCRs 7 and 11 are all zero (PC Client PTP: PCR 0-16 reset to 0).
        let zero = [UInt8](repeating: 0, count: 32)
        #expect(token["tpm2-policy-hash"] as? String == Tools.hex(Self.expectedPolicy(pcrs: [7, 11], values: [zero, zero])))

        // tpm2-blob: TPM2B_PRIVATE ‖ TPM2B_PUBLIC; the public area is a keyedHash (0x0008) object
        // with nameAlg SHA-256 (0x000B) whose authPolicy is the policy hash.
        let blobText = try #require(token["tpm2-blob"] as? String)
        let blob = Array(try #require(Data(base64Encoded: blobText)))
        let privateSize = Int(blob[0]) << 8 | Int(blob[1])
        let publicStart = 2 + privateSize
        let publicSize = Int(blob[publicStart]) << 8 | Int(blob[publicStart + 1])
        #expect(blob.count == publicStart + 2 + publicSize)
        #expect(Array(blob[publicStart + 2..<publicStart + 6]) == [0x00, 0x08, 0x00, 0x0B])
        let policyStart = publicStart + 10
        #expect(Array(blob[policyStart..<policyStart + 2]) == [0x00, 0x20])
        #expect(Tools.hex(Array(blob[policyStart + 2..<policyStart + 34])) == token["tpm2-policy-hash"] as? String)

        // tpm2_srk: Esys_TR_Serialize of the SRK persisted at 0x81000001: handle ‖ TPM2B_NAME
        // (SHA-256 nameAlg ‖ SHA-256 of TPMT_PUBLIC, Part 1 §16) ‖ UINT32 1 ‖ TPM2B_PUBLIC, the public
        // area being what TPM2_ReadPublic returns for 0x81000001.
        let srkText = try #require(token["tpm2_srk"] as? String)
        let srk = Array(try #require(Data(base64Encoded: srkText)))
        let persisted = try tpm.client.readPublic(TPMHandle(0x8100_0001))
        var publicArea = TPMWriter()
        persisted.publicArea.marshal(into: &publicArea)
        let name: [UInt8] = [0x00, 0x0B] + Array(SHA256.hash(data: publicArea.bytes))
        let expectedSRK: [UInt8] = [0x81, 0x00, 0x00, 0x01, 0x00, 0x22] + name + [0, 0, 0, 1]
            + [UInt8(publicArea.bytes.count >> 8), UInt8(publicArea.bytes.count & 0xFF)] + publicArea.bytes
        #expect(persisted.name == name)
        #expect(srk == expectedSRK)
        // The SRK template (Provisioning Guidance §7.5.1): ECC (0x0023), SHA-256, attributes
        // fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|noDA|restricted|decrypt (0x00030472).
        #expect(Array(publicArea.bytes.prefix(8)) == [0x00, 0x23, 0x00, 0x0B, 0x00, 0x03, 0x04, 0x72])

        let reopened = try LUKS2Volume(path: path)
        let unlocked = try reopened.unlockTPM2(client: tpm.client)
        #expect(unlocked.keyslot == keyslot)
        #expect(unlocked.volumeKey == volumeKey)
        let keyFile = try Tools.writeFile(directory, "key", Self.passphrase)
        #expect(try Tools.cryptsetupVolumeKey(path, keyFile: keyFile) == volumeKey.withUnsafeBytes { Array($0) })
        try Tools.run(["cryptsetup", "open", "--test-passphrase", "--key-slot", "0", "--key-file", keyFile, path])
    }

    @Test("The TPM keyslot's passphrase is the base64 of the unsealed secret, as systemd-cryptsetup uses it")
    func keyslotPassphraseIsBase64() throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let enrolled = try Self.enrolled(directory, pcrs: [7])
        let secret = try enrolled.tpm.client.unseal(try enrolled.token)
        #expect(secret.count == 32)
        let keyFile = try Tools.writeFile(directory, "tpm-key", Array(Data(secret).base64EncodedString().utf8))
        try Tools.run(["cryptsetup", "open", "--test-passphrase", "--key-slot", String(enrolled.keyslot), "--key-file", keyFile, enrolled.path])
    }

    @Test("After PCR 11 is extended, unlock is refused naming PCR 11; the passphrase still opens the volume")
    func extendedPCRIsNamed() throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let enrolled = try Self.enrolled(directory, pcrs: [7, 11])
        let tpm = enrolled.tpm
        let measurement = Array(SHA256.hash(data: Array("kernel command line".utf8)))
        try Self.extend(tpm.client, pcr: 11, with: measurement)
        // PCR_Extend (Part 3 §22.2): new = SHA-256(old ‖ digest).
        let read = try tpm.client.pcrRead(SystemdTPM2Token.selection([11]))
        #expect(read.digests == [Array(SHA256.hash(data: [UInt8](repeating: 0, count: 32) + measurement))])
        #expect(throws: TPM2TokenError.pcrMismatch([11])) { try enrolled.volume.unlockTPM2(client: tpm.client) }
        let keyFile = try Tools.writeFile(directory, "key", Self.passphrase)
        try Tools.run(["cryptsetup", "open", "--test-passphrase", "--key-file", keyFile, enrolled.path])
    }

    @Test("Without recorded PCR values (as systemd-cryptenroll writes), the TPM itself refuses the unseal")
    func tpmRefusesWithoutRecordedValues() throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let enrolled = try Self.enrolled(directory, pcrs: [7])
        let tpm = enrolled.tpm
        var token = try enrolled.token
        token.pcrValues = nil
        #expect(try tpm.client.unseal(token).count == 32)
        try Self.extend(tpm.client, pcr: 7, with: [UInt8](repeating: 0xA5, count: 32))
        #expect(throws: TPM2TokenError.policyRefused(pcrs: [7])) { try tpm.client.unseal(token) }
    }

    @Test("Ephemeral vTPM: a TPM-only volume unlocks in the same power cycle, never after a power cycle")
    func ephemeralVolume() throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = try Tools.makeFile(directory, "volume.img", size: 17 << 20)
        let tpm = try Self.tpm()
        let (volume, volumeKey) = try LUKS2Volume.formatTPM2(path: path, client: tpm.client, pcrs: [7], options: Self.options)
        let dump = String(decoding: try Tools.run(["cryptsetup", "luksDump", path]).output, as: UTF8.self)
        #expect(volume.header.metadata.keyslots.keys.sorted() == ["0"])
        #expect(dump.contains("0: systemd-tpm2"))
        let sector = Tools.random(4096)
        try LUKS2DataSegment(volume: volume, volumeKey: volumeKey).write(sector, sector: 0)
        #expect(try volume.unlockTPM2(client: tpm.client).volumeKey == volumeKey)

        tpm.engine.powerOff()
        tpm.engine.powerOn()
        try tpm.client.startup(.clear)
        // New seeds: the SRK is a different key, so the sealed blob's integrity check fails
        // (TPM_RC_INTEGRITY, Part 1 §25.4) — the PCRs themselves are back to their reset values.
        let error = #expect(throws: TPM2TokenError.self) { try volume.unlockTPM2(client: tpm.client) }
        guard case .tpm(.tpm(let command, let code))? = error else {
            Issue.record("unexpected \(String(describing: error))")
            return
        }
        #expect(command == "TPM2_Load" && code.base == .integrity)
        #expect(volume.header.metadata.keyslots.count == 1)
        #expect(throws: LUKS2Error.wrongPassphrase) { try volume.unlock(passphrase: Self.passphrase) }
    }
}
