import Crypto
import DiskEncryption
import DiskEncryptionTPM
import Foundation
import TPM2
import TPMClient
import Testing

/// RSA key pairs made by openssl.
enum SigningKeys {
    /// A fresh 2048-bit key: the private key PEM and the public key PEM.
    static func make(_ directory: URL, _ name: String) throws -> (privatePEM: [UInt8], publicPEM: [UInt8], publicPath: String, privatePath: String) {
        let privatePath = directory.appendingPathComponent("\(name).pem").path
        let publicPath = directory.appendingPathComponent("\(name).pub.pem").path
        try Tools.run(["openssl", "genrsa", "-out", privatePath, "2048"])
        try Tools.run(["openssl", "rsa", "-in", privatePath, "-pubout", "-out", publicPath])
        let read = { (path: String) in Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
        return (try read(privatePath), try read(publicPath), publicPath, privatePath)
    }

    /// The TPM Name of systemd's object for the key (Part 2 §12.2.4, `tpm2-util.c`), built from
    /// openssl's modulus: RSA (0x0001), SHA-256 (0x000B), decrypt | sign | userWithAuth
    /// (0x00060040), empty authPolicy, null symmetric and scheme (0x0010), 2048 bits, exponent
    /// 65537, the modulus as unique; Name = 0x000B ‖ SHA-256 of that.
    static func name(publicPath: String) throws -> [UInt8] {
        let output = String(decoding: try Tools.run(["openssl", "rsa", "-pubin", "-in", publicPath, "-noout", "-modulus"]).output, as: UTF8.self)
        let modulus = Tools.bytes(hex: String(output.trimmingCharacters(in: .whitespacesAndNewlines).dropFirst("Modulus=".count)))
        let area: [UInt8] = [0, 1, 0, 0x0B, 0, 0x06, 0, 0x40, 0, 0, 0, 0x10, 0, 0x10, 0x08, 0, 0, 1, 0, 1, 1, 0] + modulus
        return [0, 0x0B] + Array(SHA256.hash(data: area))
    }
}

/// Tokens sealed to PolicyAuthorize of a PCR-signing key (systemd `--tpm2-public-key`): the
/// policy admits any PolicyPCR the key signed, so a new kernel needs a new signature, not a
/// reseal. Policies are computed here from Part 3 §23.16 and openssl's key; signatures are
/// compared with systemd-measure's and tokens with systemd-cryptenroll's where installed.
@Suite("TPM2 tokens with signed PCR policies", .enabled(if: Tools.cryptsetupAvailable))
struct SignedPolicyTests {
    static func policyAuthorize(name: [UInt8]) -> [UInt8] {
        let first = Array(SHA256.hash(data: [UInt8](repeating: 0, count: 32) + [0, 0, 0x01, 0x6A] + name))
        return Array(SHA256.hash(data: first))
    }

    @Test("Enroll to a PCR public key: tpm2_pubkey and tpm2_pubkey_pcrs, policy PolicyAuthorize(Name); a signature for the current PCR 11 unlocks, each new kernel needs only a new one")
    func signedUnlock() throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keys = try SigningKeys.make(directory, "pcr-signing")
        let other = try SigningKeys.make(directory, "other")
        var (path, volume, volumeKey) = try TPM2TokenTests.volume(directory)
        let tpm = try TPM2TokenTests.tpm()
        let key = try PCRPolicyKey(pem: keys.publicPEM)
        #expect(key.name == (try SigningKeys.name(publicPath: keys.publicPath)))
        let (keyslot, tokenID) = try volume.enrollTPM2(client: tpm.client, pcrs: [], publicKey: key, publicKeyPCRs: [11], volumeKey: volumeKey)

        let exported = try TPM2TokenTests.exportedToken(path, id: tokenID)
        #expect(exported["tpm2_pubkey_pcrs"] as? [Int] == [11])
        #expect(exported["tpm2-pcrs"] as? [Int] == [])
        #expect(exported["tpm2_pubkey"] as? String == Data(keys.publicPEM).base64EncodedString())
        #expect(exported["tpm2-policy-hash"] as? String == Tools.hex(Self.policyAuthorize(name: key.name)))

        let reopened = try LUKS2Volume(path: path)
        for kernel in ["vmlinuz-1", "vmlinuz-2"] {
            let before = try tpm.client.sha256Values(of: [11])
            try TPM2TokenTests.extend(tpm.client, pcr: 11, with: Array(SHA256.hash(data: Array(kernel.utf8))))
            let current = try tpm.client.sha256Values(of: [11])
            var signatures = SignedPCRPolicy()
            signatures.add(try SignedPCRPolicy.sign(pcrs: [11], values: before, privateKeyPEM: keys.privatePEM))
            let currentPolicy = try SystemdTPM2Token.policy(pcrs: [11], values: current)
            #expect(throws: TPM2TokenError.noSignature(pcrs: [11], policy: currentPolicy)) {
                try reopened.unlockTPM2(client: tpm.client, signature: signatures)
            }
            signatures.add(try SignedPCRPolicy.sign(pcrs: [11], values: current, privateKeyPEM: keys.privatePEM))
            let parsed = try SignedPCRPolicy(json: signatures.json)
            let unlocked = try reopened.unlockTPM2(client: tpm.client, signature: parsed)
            #expect(unlocked.keyslot == keyslot && unlocked.volumeKey == volumeKey)
        }

        let current = try tpm.client.sha256Values(of: [11])
        var foreign = SignedPCRPolicy()
        foreign.add(try SignedPCRPolicy.sign(pcrs: [11], values: current, privateKeyPEM: other.privatePEM))
        let policy = try SystemdTPM2Token.policy(pcrs: [11], values: current)
        #expect(throws: TPM2TokenError.noSignature(pcrs: [11], policy: policy)) { try reopened.unlockTPM2(client: tpm.client, signature: foreign) }
        // The other key's signature under this key's fingerprint: the TPM checks it and refuses.
        foreign.entries[0].fingerprint = key.fingerprint
        #expect(throws: TPM2TokenError.signatureRefused(pcrs: [11])) { try reopened.unlockTPM2(client: tpm.client, signature: foreign) }
        #expect(throws: TPM2TokenError.noSignature(pcrs: [11], policy: policy)) { try reopened.unlockTPM2(client: tpm.client) }
    }

    @Test("Signed policy, literal PCR 7 and a PIN together: PolicyAuthorize, PolicyPCR, PolicyAuthValue in systemd's order")
    func combined() throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keys = try SigningKeys.make(directory, "pcr-signing")
        var (path, volume, volumeKey) = try TPM2TokenTests.volume(directory)
        let tpm = try TPM2TokenTests.tpm()
        let key = try PCRPolicyKey(pem: keys.publicPEM)
        try volume.enrollTPM2(client: tpm.client, pcrs: [7], pin: PINTests.pin, publicKey: key, publicKeyPCRs: [11, 12], volumeKey: volumeKey)
        let zero = [UInt8](repeating: 0, count: 32)
        var expected = Self.policyAuthorize(name: key.name)
        expected = Array(SHA256.hash(data: expected + [0, 0, 0x01, 0x7F, 0, 0, 0, 1, 0, 0x0B, 3, 0x80, 0, 0] + Array(SHA256.hash(data: zero))))
        expected = PINTests.withAuthValue(expected)
        #expect(try TPM2TokenTests.exportedToken(path, id: 0)["tpm2-policy-hash"] as? String == Tools.hex(expected))

        var signatures = SignedPCRPolicy()
        signatures.add(try SignedPCRPolicy.sign(pcrs: [12, 11], values: [11: zero, 12: zero], privateKeyPEM: keys.privatePEM))
        #expect(try LUKS2Volume(path: path).unlockTPM2(client: tpm.client, pin: PINTests.pin, signature: signatures).volumeKey == volumeKey)
        try TPM2TokenTests.extend(tpm.client, pcr: 7, with: Array(SHA256.hash(data: Array("db update".utf8))))
        #expect(throws: TPM2TokenError.pcrMismatch([7])) {
            try LUKS2Volume(path: path).unlockTPM2(client: tpm.client, pin: PINTests.pin, signature: signatures)
        }
    }
}

/// The signature format and the token against systemd 252's own tools on swtpm.
@Suite("Signed PCR policies with systemd-measure and systemd-cryptenroll", .enabled(if: Tools.cryptsetupAvailable && Swtpm.available, Comment(rawValue: Swtpm.missing)))
struct SignedPolicyInteropTests {
    static let measure = "/usr/lib/systemd/systemd-measure"

    @Test("cvm's signature for systemd-measure's PCR 11 value is systemd-measure's entry: same pol, pkfp and sig")
    func sameAsSystemdMeasure() throws {
        let swtpm = try Swtpm()
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keys = try SigningKeys.make(directory, "pcr-signing")
        let cmdline = try Tools.writeFile(directory, "cmdline", Array("root=/dev/vda2 ro".utf8))
        let sections = ["--linux=\(try #require(MeasuredBoot.kernel))", "--osrel=/etc/os-release", "--cmdline=\(cmdline)", "--bank=sha256", "--phase=enter-initrd"]
        let calculated = String(decoding: try Tools.run([Self.measure, "calculate"] + sections).output, as: UTF8.self)
        let line = try #require(calculated.split(separator: "\n").first { $0.hasPrefix("11:sha256=") })
        let value = Tools.bytes(hex: String(line.dropFirst("11:sha256=".count)))
        let signed = try Tools.run(
            [Self.measure, "sign", "--tpm2-device=\(swtpm.tcti)", "--private-key=\(keys.privatePath)", "--public-key=\(keys.publicPath)"] + sections
        ).output
        let systemd = try SignedPCRPolicy(json: signed)
        #expect(systemd.entries.count == 1)
        let ours = try SignedPCRPolicy.sign(pcrs: [11], values: [11: value], privateKeyPEM: keys.privatePEM)
        #expect(systemd.entries.first == ours)
        #expect(try PCRPolicyKey(pem: keys.publicPEM).fingerprint == ours.fingerprint)
    }

    @Test("systemd-cryptenroll 252 --tpm2-public-key: its policy hash is CVMKit's; CVMKit unlocks its token with a cvm signature")
    func systemdToken() throws {
        let swtpm = try Swtpm()
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keys = try SigningKeys.make(directory, "pcr-signing")
        let (path, _, volumeKey) = try TPM2TokenTests.volume(directory)
        try swtpm.tool(
            ["systemd-cryptenroll", "--tpm2-device=\(swtpm.tcti)", "--tpm2-public-key=\(keys.publicPath)", "--tpm2-public-key-pcrs=11", "--tpm2-pcrs=", path],
            environment: ["PASSWORD": String(decoding: TPM2TokenTests.passphrase, as: UTF8.self)])
        let token = try PINTests.token(path, id: 0)
        let key = try PCRPolicyKey(pem: keys.publicPEM)
        #expect(token.publicKey == key && token.publicKeyPCRs == [11] && token.pcrs.isEmpty)
        #expect(token.policyHash == (try SystemdTPM2Token.policy(pcrs: [], values: [:], publicKey: key)))

        let client = try swtpm.client()
        var signatures = SignedPCRPolicy()
        signatures.add(try SignedPCRPolicy.sign(pcrs: [11], values: try client.sha256Values(of: [11]), privateKeyPEM: keys.privatePEM))
        #expect(try LUKS2Volume(path: path).unlockTPM2(client: client, signature: signatures).volumeKey == volumeKey)
    }
}
