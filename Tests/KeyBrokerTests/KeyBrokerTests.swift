import Crypto
import Foundation
import KeyBroker
import Testing

@Suite("Envelope encryption at rest")
struct SecretEnvelopeTests {
    let key = MasterKey.random()

    @Test("A sealed secret opens with its name and master key, and only with them")
    func sealOpen() throws {
        let envelope = try SecretEnvelope.seal(Array("disk key".utf8), name: "disk", masterKey: key)
        #expect(try envelope.open(name: "disk", masterKey: key) == Array("disk key".utf8))
        #expect(throws: KeyBrokerError.envelopeUnreadable(secret: "other")) { try envelope.open(name: "other", masterKey: key) }
        #expect(throws: KeyBrokerError.envelopeUnreadable(secret: "disk")) { try envelope.open(name: "disk", masterKey: MasterKey.random()) }
        #expect(Data(envelope.bytes).range(of: Data("disk key".utf8)) == nil)
    }

    @Test("Every flipped byte of a stored envelope is detected")
    func tampering() throws {
        let envelope = try SecretEnvelope.seal(Array(repeating: 0x42, count: 40), name: "s", masterKey: key)
        for index in envelope.bytes.indices {
            var bytes = envelope.bytes
            bytes[index] ^= 0x01
            #expect(throws: KeyBrokerError.self) { try SecretEnvelope(bytes: bytes).open(name: "s", masterKey: key) }
        }
        #expect(throws: KeyBrokerError.self) { try SecretEnvelope(bytes: Array(envelope.bytes.dropLast())).open(name: "s", masterKey: key) }
        #expect(throws: KeyBrokerError.self) { try SecretEnvelope(bytes: []).open(name: "s", masterKey: key) }
    }

    @Test("Names and sizes outside the rules are refused")
    func validation() {
        for name in ["", "a/b", "a b", String(repeating: "x", count: 129), "é"] {
            #expect(throws: KeyBrokerError.secretNameInvalid(name)) { try SecretEnvelope.seal([1], name: name, masterKey: key) }
        }
        #expect(throws: KeyBrokerError.secretValueSize(0)) { try SecretEnvelope.seal([], name: "a", masterKey: key) }
        #expect(throws: KeyBrokerError.secretValueSize(SecretEnvelope.maximumValueSize + 1)) {
            try SecretEnvelope.seal(Array(repeating: 1, count: SecretEnvelope.maximumValueSize + 1), name: "a", masterKey: key)
        }
    }

    @Test("Master keys read from hex, base64 and raw bytes; anything else is refused")
    func masterKeyEncodings() throws {
        let raw = (0..<32).map { UInt8($0) }
        let hex = raw.map { String(format: "%02x", $0) }.joined()
        let sealed = try SecretEnvelope.seal([9], name: "k", masterKey: try MasterKey(bytes: raw))
        for encoded in [Array((hex + "\n").utf8), Array(Data(raw).base64EncodedString().utf8), raw] {
            #expect(try sealed.open(name: "k", masterKey: try MasterKey(encoded: encoded)) == [9])
        }
        #expect(throws: KeyBrokerError.self) { try MasterKey(encoded: Array("short".utf8)) }
        #expect(throws: KeyBrokerError.self) { try MasterKey(encoded: Array(String(hex.dropLast(2)).utf8)) }
    }
}

@Suite("HPKE secret release")
struct SecretReleaseTests {
    let vm = P256.KeyAgreement.PrivateKey()
    let nonce = Array(repeating: UInt8(0xA5), count: 32)

    @Test("Only the VM's key, with the same name and nonce, opens a release")
    func roundTrip() throws {
        let release = try SecretRelease.seal(Array("secret".utf8), name: "disk", nonce: nonce, to: vm.publicKey)
        #expect(try release.open(name: "disk", nonce: nonce, with: vm) == Array("secret".utf8))
        #expect(throws: KeyBrokerError.self) { try release.open(name: "other", nonce: nonce, with: vm) }
        #expect(throws: KeyBrokerError.self) { try release.open(name: "disk", nonce: Array(nonce.dropFirst()), with: vm) }
        #expect(throws: KeyBrokerError.self) { try release.open(name: "disk", nonce: nonce, with: P256.KeyAgreement.PrivateKey()) }
        var altered = release.ciphertext
        altered[0] ^= 1
        #expect(throws: KeyBrokerError.self) {
            try SecretRelease(encapsulatedKey: release.encapsulatedKey, ciphertext: altered).open(name: "disk", nonce: nonce, with: vm)
        }
        let json = try JSONEncoder().encode(release)
        #expect(try JSONDecoder().decode(SecretRelease.self, from: json) == release)
    }

    @Test("An independent HPKE implementation (pyhpke) opens our release, and we open its")
    func peerInterop() throws {
        let info = SecretRelease.info(name: "disk", nonce: nonce)
        let ours = try SecretRelease.seal(Array("from swift".utf8), name: "disk", nonce: nonce, to: vm.publicKey)
        let script = """
        import base64, sys
        from pyhpke import AEADId, CipherSuite, KDFId, KEMId, KEMKey
        private, public = sys.argv[1].encode(), sys.argv[2].encode()
        info, enc, ct = (base64.b64decode(a) for a in sys.argv[3:6])
        suite = CipherSuite.new(KEMId.DHKEM_P256_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.AES256_GCM)
        print(suite.create_recipient_context(enc, KEMKey.from_pem(private), info=info).open(ct).decode())
        enc2, sender = suite.create_sender_context(KEMKey.from_pem(public), info=info)
        print(base64.b64encode(enc2).decode())
        print(base64.b64encode(sender.seal(b"from python")).decode())
        """
        let lines = try PeerPython.run(script, arguments: [
            vm.pemRepresentation, vm.publicKey.pemRepresentation, info.base64EncodedString(),
            Data(ours.encapsulatedKey).base64EncodedString(), Data(ours.ciphertext).base64EncodedString(),
        ]).split(separator: "\n").map(String.init)
        try #require(lines.count == 3)
        #expect(lines[0] == "from swift")
        let theirs = SecretRelease(encapsulatedKey: Array(try #require(Data(base64Encoded: lines[1]))),
                                   ciphertext: Array(try #require(Data(base64Encoded: lines[2]))))
        #expect(try theirs.open(name: "disk", nonce: nonce, with: vm) == Array("from python".utf8))
    }
}

/// Runs a Python script (the peer HPKE implementation, installed by scripts/install-deps.sh).
enum PeerPython {
    struct Failed: Error, CustomStringConvertible {
        let status: Int32
        let output: String
        var description: String { "python3 exited \(status): \(output)" }
    }

    static func run(_ script: String, arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failed(status: process.terminationStatus, output: output) }
        return output
    }
}
