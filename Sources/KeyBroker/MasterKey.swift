import Crypto
import Foundation

/// The operator's key-encryption key: 32 bytes that wrap the per-secret data keys (envelope
/// encryption), supplied as a file or environment variable and never stored by CVMKit.
public struct MasterKey: Sendable {
    let key: SymmetricKey

    /// A master key from its 32 raw bytes.
    public init(bytes: some ContiguousBytes) throws(KeyBrokerError) {
        let count = bytes.withUnsafeBytes { $0.count }
        guard count == 32 else { throw .masterKeyInvalid(reason: "it has \(count) bytes, not 32") }
        self.key = SymmetricKey(data: bytes)
    }

    /// A master key from the text of a key file or variable: 64 hex digits or base64 of 32 bytes
    /// (surrounding white space ignored), or exactly 32 raw bytes.
    public init(encoded: [UInt8]) throws(KeyBrokerError) {
        let text = String(decoding: encoded, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.count == 64, let bytes = Self.hexBytes(text) {
            try self.init(bytes: bytes)
        } else if let bytes = Data(base64Encoded: text), bytes.count == 32 {
            try self.init(bytes: bytes)
        } else if encoded.count == 32 {
            try self.init(bytes: encoded)
        } else {
            throw .masterKeyInvalid(reason: "expected 64 hex digits, base64 of 32 bytes, or 32 raw bytes")
        }
    }

    /// A fresh random master key (for `cvm serve` with no key configured, which then says so).
    public static func random() -> MasterKey {
        MasterKey(key: SymmetricKey(size: .bits256))
    }

    private init(key: SymmetricKey) { self.key = key }

    /// The key as 64 lowercase hex digits, for writing a generated key to the operator's file.
    public var hexEncoded: String {
        key.withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() }
    }

    private static func hexBytes(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let high = iterator.next() {
            guard let low = iterator.next(), let h = Self.nibble(high), let l = Self.nibble(low) else { return nil }
            bytes.append(h << 4 | l)
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
