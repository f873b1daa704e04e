import Foundation

/// Byte encodings the JSON formats of this library use: standard base64 with padding (RFC 4648
/// §4) for evidence blobs, base64url without padding (RFC 4648 §5, as JWK and JWT require) for
/// key coordinates and EAR nonces, and lowercase hex for human-written reference values.
enum ByteEncoding {
    /// Standard base64 with padding; nil unless `text` is exactly that (no whitespace, no
    /// URL alphabet), so one value has one spelling.
    static func base64(_ text: String) -> [UInt8]? {
        guard let data = Data(base64Encoded: text), data.base64EncodedString() == text else { return nil }
        return Array(data)
    }

    static func base64(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
    }

    /// Base64url without padding; nil unless `text` is exactly that.
    static func base64URL(_ text: String) -> [UInt8]? {
        guard !text.contains(where: { "+/=".contains($0) }) else { return nil }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.count % 4) % 4)
        guard let bytes = base64(standard), base64URL(bytes) == text else { return nil }
        return bytes
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        base64(bytes).replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Lowercase hex, two digits per byte.
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] })
    }

    /// Hex in either case; nil for odd length or a non-hex digit.
    static func hex(_ text: String) -> [UInt8]? {
        let digits = text.map(\.hexDigitValue)
        guard digits.count % 2 == 0, !digits.contains(nil) else { return nil }
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(digits[$0]! << 4 | digits[$0 + 1]!) }
    }
}

/// A coding key for any member name, so that decoders can list the members an object has.
struct AnyCodingKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { self.stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension Decoder {
    /// Refuses an object that has a member outside `known`, so that a misspelt member is an
    /// error rather than silently ignored.
    func requireMembers(in known: Set<String>) throws {
        let container = try self.container(keyedBy: AnyCodingKey.self)
        if let unknown = container.allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) {
            throw DecodingError.dataCorrupted(.init(
                codingPath: self.codingPath + [AnyCodingKey(unknown)], debugDescription: "no member of that name is defined"))
        }
    }
}

extension KeyedDecodingContainer where Key == AnyCodingKey {
    func string(_ name: String) throws -> String {
        try self.decode(String.self, forKey: AnyCodingKey(name))
    }

    func optionalString(_ name: String) throws -> String? {
        try self.decodeIfPresent(String.self, forKey: AnyCodingKey(name))
    }

    /// A required member holding standard base64.
    func base64(_ name: String) throws -> [UInt8] {
        try self.decodeBase64(try self.string(name), name)
    }

    /// An optional member holding standard base64.
    func optionalBase64(_ name: String) throws -> [UInt8]? {
        try self.optionalString(name).map { try self.decodeBase64($0, name) }
    }

    private func decodeBase64(_ text: String, _ name: String) throws -> [UInt8] {
        guard let bytes = ByteEncoding.base64(text) else {
            throw DecodingError.dataCorruptedError(forKey: AnyCodingKey(name), in: self, debugDescription: "it is not standard base64 with padding")
        }
        return bytes
    }
}

/// Turns a decoding error into the path of the member it concerns ("(document)" for the whole
/// document) and a reason without a final full stop, for the sentences of ``AttestationError``.
func describe(_ error: any Error) -> (field: String, reason: String) {
    guard let error = error as? DecodingError else { return ("(document)", String(describing: error)) }
    let path: [any CodingKey]
    let reason: String
    switch error {
    case .dataCorrupted(let context):
        (path, reason) = (context.codingPath, context.debugDescription)
    case .keyNotFound(let key, let context):
        (path, reason) = (context.codingPath + [key], "it is missing")
    case .typeMismatch(let type, let context):
        (path, reason) = (context.codingPath, "it is not \(type == String.self ? "a string" : "of type \(type)")")
    case .valueNotFound(let type, let context):
        (path, reason) = (context.codingPath, "it is null where \(type) is required")
    @unknown default:
        return ("(document)", String(describing: error))
    }
    let field = path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    return (field.isEmpty ? "(document)" : String(field.drop { $0 == "." }), withoutFullStop(reason))
}

/// `text` without its final full stops, to go inside a sentence of ``AttestationError``.
func withoutFullStop(_ text: String) -> String {
    var sentence = text
    while sentence.hasSuffix(".") { sentence.removeLast() }
    return sentence
}
