/// Bytes that encode to and decode from JSON as a lowercase hex string: reference values in
/// policies and byte fields in listings.
public struct HexBytes: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The bytes.
    public let bytes: [UInt8]

    /// Wraps bytes.
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Parses hex of either case and even length; nil otherwise.
    public init?(hex: String) {
        guard let parsed = decodeHex(hex) else { return nil }
        self.bytes = parsed
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = HexBytes(hex: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\"\(text)\" is not hex"))
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.description)
    }

    /// Lowercase hex.
    public var description: String { hexString(self.bytes) }
}

/// Lowercase hex, two digits per byte.
package func hexString(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    text.reserveCapacity(bytes.underestimatedCount * 2)
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: text, as: UTF8.self)
}

/// Parses ASCII hex of either case and even length; nil otherwise.
package func decodeHex(_ hex: some StringProtocol) -> [UInt8]? {
    let digits = hex.utf8.map { character -> UInt8? in
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
    guard digits.count % 2 == 0, !digits.contains(nil) else { return nil }
    return stride(from: 0, to: digits.count, by: 2).map { digits[$0]! << 4 | digits[$0 + 1]! }
}

/// Upper-case hexadecimal without prefix, for offsets and values in error sentences.
package func hex(_ value: some BinaryInteger) -> String {
    String(value, radix: 16, uppercase: true)
}

/// A 64-bit value as `0x` and sixteen lowercase hex digits, for raw bit-field values in listings.
package func hex64(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 16 - digits.count) + digits
}
