/// A value in the field listing of a piece of evidence: what `cvm snp show` and `cvm tdx show`
/// print as indented `name: value` lines (``description``) or encode as JSON.
public indirect enum ListingValue: Sendable, Encodable, CustomStringConvertible {
    case integer(UInt64)
    case flag(Bool)
    /// Bytes, shown as lowercase hex.
    case bytes([UInt8])
    case text(String)
    /// Named values, in order; a JSON object.
    case group([ListingField])
    /// Values without names, in order; a JSON array, shown on one line when no value has parts.
    case list([ListingValue])

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .integer(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .flag(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .bytes(let value):
            var container = encoder.singleValueContainer()
            try container.encode(hexString(value))
        case .text(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .group(let fields):
            var container = encoder.container(keyedBy: AnyCodingKey.self)
            for field in fields {
                try container.encode(field.value, forKey: AnyCodingKey(stringValue: field.name))
            }
        case .list(let values):
            var container = encoder.unkeyedContainer()
            for value in values {
                try container.encode(value)
            }
        }
    }

    /// Indented `name: value` lines, a group's fields two spaces deeper than its name.
    public var description: String {
        let lines = self.lines(indent: "")
        return (lines[0].isEmpty ? Array(lines.dropFirst()) : lines).joined(separator: "\n")
    }

    /// What follows the value's name on its own line ("" when the value has parts), then the
    /// lines of its parts, indented by `indent`.
    fileprivate func lines(indent: String) -> [String] {
        switch self {
        case .integer(let value): [String(value)]
        case .flag(let value): [String(value)]
        case .bytes(let value): [hexString(value)]
        case .text(let value): [value]
        case .group(let fields): [""] + fields.flatMap { $0.lines(indent: indent) }
        case .list(let values) where values.allSatisfy(\.isScalar):
            ["[" + values.map { $0.lines(indent: "")[0] }.joined(separator: ", ") + "]"]
        case .list(let values):
            [""] + values.enumerated().flatMap { ListingField("[\($0.offset)]", $0.element).lines(indent: indent) }
        }
    }

    private var isScalar: Bool {
        switch self {
        case .group, .list: false
        default: true
        }
    }
}

/// One named value of a listing, named as the specification's table names the field (lowercased).
public struct ListingField: Sendable, Encodable {
    public let name: String
    public let value: ListingValue

    /// Names a value.
    public init(_ name: String, _ value: ListingValue) {
        self.name = name
        self.value = value
    }

    /// `name: value`, or `name:` followed by the value's parts two spaces deeper.
    fileprivate func lines(indent: String) -> [String] {
        let rendered = self.value.lines(indent: indent + "  ")
        let head = rendered[0].isEmpty ? "" : " \(rendered[0])"
        return ["\(indent)\(self.name):\(head)"] + rendered.dropFirst()
    }
}

/// A coding key for any name: listing field names, and the keys of a JSON object checked by
/// ``requireKnownKeys(_:_:)``.
package struct AnyCodingKey: CodingKey {
    package let stringValue: String
    package var intValue: Int? { nil }
    package init(stringValue: String) { self.stringValue = stringValue }
    package init?(intValue: Int) { nil }
}

/// Throws if the JSON object being decoded holds a key `Keys` does not name, so that a misspelt
/// policy key fails loudly instead of silently switching a check off.
package func requireKnownKeys<Keys: CodingKey>(_ decoder: any Decoder, _: Keys.Type) throws {
    let unknown = try decoder.container(keyedBy: AnyCodingKey.self).allKeys.map(\.stringValue).filter { Keys(stringValue: $0) == nil }
    guard unknown.isEmpty else {
        throw DecodingError.dataCorrupted(.init(
            codingPath: decoder.codingPath, debugDescription: "unknown policy key(s): \(unknown.sorted().joined(separator: ", "))"))
    }
}
