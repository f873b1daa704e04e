import Crypto
import Foundation

/// A secret encrypted at rest by envelope encryption: a fresh 256-bit data key seals the value
/// with AES-256-GCM, and the operator's ``MasterKey`` seals the data key. Both seals
/// authenticate the secret's name, so a record moved to another name does not open.
///
/// Stored layout (this library's own format): version byte 1, the sealed data key (AES-GCM
/// combined form: 12-byte nonce, 32-byte ciphertext, 16-byte tag), then the sealed value
/// (nonce, ciphertext, tag).
public struct SecretEnvelope: Sendable, Equatable {
    /// The largest secret value accepted: secrets are keys and credentials, not files.
    public static let maximumValueSize = 64 * 1024

    /// The stored bytes.
    public let bytes: [UInt8]

    private static let version: UInt8 = 1
    private static let sealedKeySize = 12 + 32 + 16

    /// Seals `value` under a fresh data key wrapped by `masterKey`.
    public static func seal(_ value: [UInt8], name: String, masterKey: MasterKey) throws(KeyBrokerError) -> SecretEnvelope {
        try SecretName.validate(name)
        guard (1...maximumValueSize).contains(value.count) else { throw .secretValueSize(value.count) }
        let dataKey = SymmetricKey(size: .bits256)
        do {
            let sealedKey = try dataKey.withUnsafeBytes { try AES.GCM.seal($0, using: masterKey.key, authenticating: associatedData(name, role: "key")) }
            let sealedValue = try AES.GCM.seal(value, using: dataKey, authenticating: associatedData(name, role: "value"))
            guard let keyBytes = sealedKey.combined, let valueBytes = sealedValue.combined else {
                throw KeyBrokerError.envelopeMalformed(secret: name, reason: "AES-GCM produced no combined form")
            }
            return SecretEnvelope(bytes: [version] + Array(keyBytes) + Array(valueBytes))
        } catch let error as KeyBrokerError {
            throw error
        } catch {
            throw .envelopeMalformed(secret: name, reason: "sealing failed")
        }
    }

    /// An envelope read back from storage.
    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// Opens the envelope; the caller owns (and should clear) the returned value.
    public func open(name: String, masterKey: MasterKey) throws(KeyBrokerError) -> [UInt8] {
        guard bytes.first == Self.version else {
            throw .envelopeMalformed(secret: name, reason: "version \(bytes.first.map(String.init) ?? "missing") is not 1")
        }
        guard bytes.count > 1 + Self.sealedKeySize + 28 else {
            throw .envelopeMalformed(secret: name, reason: "\(bytes.count) bytes is too short")
        }
        do {
            let sealedKey = try AES.GCM.SealedBox(combined: bytes[1..<(1 + Self.sealedKeySize)])
            var keyBytes = try AES.GCM.open(sealedKey, using: masterKey.key, authenticating: Self.associatedData(name, role: "key"))
            defer { keyBytes.resetBytes(in: 0..<keyBytes.count) }
            let sealedValue = try AES.GCM.SealedBox(combined: bytes[(1 + Self.sealedKeySize)...])
            return Array(try AES.GCM.open(sealedValue, using: SymmetricKey(data: keyBytes), authenticating: Self.associatedData(name, role: "value")))
        } catch {
            throw .envelopeUnreadable(secret: name)
        }
    }

    private static func associatedData(_ name: String, role: String) -> [UInt8] {
        Array("cvmkit secret envelope v1 \(role)\u{0}\(name)".utf8)
    }
}

/// The rule for secret names: they appear in URLs, logs and audit records, so they are short
/// and plain.
public enum SecretName {
    /// Throws unless `name` is 1–128 characters from `A-Z a-z 0-9 . _ -`.
    public static func validate(_ name: String) throws(KeyBrokerError) {
        let allowed = name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"): true
            default: false
            }
        }
        guard allowed, (1...128).contains(name.utf8.count) else { throw .secretNameInvalid(name) }
    }
}
