import Crypto
import Foundation

/// A secret released to an attested VM, encrypted with HPKE (RFC 9180, base mode,
/// DHKEM(P-256, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM) to the runtime key the VM bound into
/// its evidence, so only that VM — not a TLS-terminating proxy, not a log — can read it.
///
/// The HPKE `info` binds the secret's name and the challenge nonce (see ``info(name:nonce:)``),
/// so a wrapped secret cannot be replayed as another secret or for another challenge.
public struct SecretRelease: Sendable, Equatable, Codable {
    /// The ciphersuite, as RFC 9180 §7 names its parts.
    public static let suiteName = "DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-256-GCM"

    /// RFC 9180 `enc`: the sender's ephemeral public key (65-byte uncompressed point).
    public let encapsulatedKey: [UInt8]
    /// The sealed secret value (AES-256-GCM ciphertext and tag).
    public let ciphertext: [UInt8]
    /// ``suiteName``, so a reader can check it knows the suite.
    public let suite: String

    public init(encapsulatedKey: [UInt8], ciphertext: [UInt8], suite: String = SecretRelease.suiteName) {
        self.encapsulatedKey = encapsulatedKey
        self.ciphertext = ciphertext
        self.suite = suite
    }

    /// Seals `value` to `recipient` for the secret `name` released against `nonce`.
    public static func seal(_ value: [UInt8], name: String, nonce: [UInt8], to recipient: P256.KeyAgreement.PublicKey) throws(KeyBrokerError) -> SecretRelease {
        do {
            var sender = try HPKE.Sender(recipientKey: recipient, ciphersuite: .P256_SHA256_AES_GCM_256, info: info(name: name, nonce: nonce))
            let ciphertext = try sender.seal(value)
            return SecretRelease(encapsulatedKey: Array(sender.encapsulatedKey), ciphertext: Array(ciphertext))
        } catch {
            throw .releaseFailed(reason: "HPKE seal: \(error)")
        }
    }

    /// Opens a released secret with the VM's runtime private key (the guest side).
    public func open(name: String, nonce: [UInt8], with privateKey: P256.KeyAgreement.PrivateKey) throws(KeyBrokerError) -> [UInt8] {
        guard suite == Self.suiteName else { throw .releaseFailed(reason: "unknown suite \"\(suite)\"") }
        do {
            var recipient = try HPKE.Recipient(privateKey: privateKey, ciphersuite: .P256_SHA256_AES_GCM_256,
                                               info: Self.info(name: name, nonce: nonce), encapsulatedKey: Data(encapsulatedKey))
            return Array(try recipient.open(ciphertext))
        } catch {
            throw .releaseFailed(reason: "HPKE open failed: wrong key, name or nonce, or altered ciphertext")
        }
    }

    /// The HPKE `info`: a label, the secret's name and the nonce, each separated by a zero byte.
    public static func info(name: String, nonce: [UInt8]) -> Data {
        Data("cvmkit secret release v1".utf8) + [0] + Data(name.utf8) + [0] + nonce
    }

    private enum CodingKeys: String, CodingKey { case encapsulatedKey, ciphertext, suite }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let enc = try container.decode(String.self, forKey: .encapsulatedKey)
        let sealed = try container.decode(String.self, forKey: .ciphertext)
        guard let encBytes = Data(base64Encoded: enc), let sealedBytes = Data(base64Encoded: sealed) else {
            throw DecodingError.dataCorrupted(.init(codingPath: container.codingPath, debugDescription: "encapsulatedKey and ciphertext must be base64"))
        }
        self.init(encapsulatedKey: Array(encBytes), ciphertext: Array(sealedBytes), suite: try container.decode(String.self, forKey: .suite))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Data(encapsulatedKey).base64EncodedString(), forKey: .encapsulatedKey)
        try container.encode(Data(ciphertext).base64EncodedString(), forKey: .ciphertext)
        try container.encode(suite, forKey: .suite)
    }
}
