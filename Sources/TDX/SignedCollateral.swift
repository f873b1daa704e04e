import EvidenceCore
import Foundation

/// A collateral document as Intel's PCS serves it: `{"<body>": {…}, "signature": "<hex>"}`, where
/// the signature is ECDSA P-256 with SHA-256, r ‖ s in 128 hex digits, over the exact bytes of the
/// body value (Intel SGX and TDX PCS API, "Get TDX TCB Info" and "Get TDX QE Identity": "signature
/// calculated over tcbInfo/enclaveIdentity body").
///
/// The body's bytes are located with a small hand-written scanner, since no JSON parser keeps the
/// source text of a value; the body itself is then decoded with Foundation's JSONDecoder.
struct SignedCollateral: Sendable, Hashable {
    /// The document's name in errors, e.g. "TCB Info".
    let document: String
    /// The exact bytes of the body value.
    let body: [UInt8]
    /// r ‖ s, 64 bytes.
    let signature: [UInt8]

    init(json: [UInt8], bodyKey: String, document: String) throws(TDXError) {
        self.document = document
        var scanner = JSONScanner(bytes: json, document: document)
        let members = try scanner.topLevelMembers()
        guard let body = members[bodyKey] else { throw .collateralMalformed(document: document, reason: "it has no \"\(bodyKey)\" member") }
        guard let signature = members["signature"] else { throw .collateralMalformed(document: document, reason: "it has no \"signature\" member") }
        if let other = members.keys.sorted().first(where: { $0 != bodyKey && $0 != "signature" }) {
            throw .collateralMalformed(document: document, reason: "it has the unexpected member \"\(other)\"")
        }
        guard json[body.lowerBound] == UInt8(ascii: "{") else {
            throw .collateralMalformed(document: document, reason: "\"\(bodyKey)\" is not an object")
        }
        let hexText = json[signature]
        guard hexText.count == 130, hexText.first == UInt8(ascii: "\""), hexText.last == UInt8(ascii: "\""),
              let raw = decodeHex(String(decoding: hexText.dropFirst().dropLast(), as: UTF8.self)) else {
            throw .collateralMalformed(document: document, reason: "\"signature\" is not 128 hex digits")
        }
        self.body = Array(json[body])
        self.signature = raw
    }

    /// Decodes the body as `T`.
    func decode<T: Decodable>(_: T.Type) throws(TDXError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(self.body))
        } catch let error as TDXError {
            throw error
        } catch {
            throw .collateralMalformed(document: self.document, reason: Self.reason(error))
        }
    }

    /// A one-line reason naming the JSON path, instead of DecodingError's debug dump.
    private static func reason(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return String(describing: error) }
        let path: [CodingKey]
        let detail: String
        switch error {
        case .keyNotFound(let key, let context):
            path = context.codingPath + [key]
            detail = "is missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            path = context.codingPath
            detail = context.debugDescription
        @unknown default:
            return String(describing: error)
        }
        let name = path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        return "\(name.isEmpty ? "the body" : String(name.dropFirst())) \(detail)"
    }
}

/// Finds the byte ranges of the member values of a JSON document's top-level object (RFC 8259
/// grammar), checking that strings, brackets and the document's end are well formed.
private struct JSONScanner {
    let bytes: [UInt8]
    let document: String
    var index = 0

    init(bytes: [UInt8], document: String) {
        self.bytes = bytes
        self.document = document
    }

    mutating func topLevelMembers() throws(TDXError) -> [String: Range<Int>] {
        var members: [String: Range<Int>] = [:]
        try self.expect("{")
        self.skipWhitespace()
        if self.peek() == UInt8(ascii: "}") {
            self.index += 1
        } else {
            while true {
                self.skipWhitespace()
                let keyRange = try self.skipString()
                guard let key = try? JSONDecoder().decode(String.self, from: Data(self.bytes[keyRange])) else {
                    throw self.failure("a member name is not a valid string")
                }
                try self.expect(":")
                self.skipWhitespace()
                let start = self.index
                try self.skipValue()
                guard members.updateValue(start..<self.index, forKey: key) == nil else {
                    throw self.failure("the member \"\(key)\" occurs twice")
                }
                self.skipWhitespace()
                if self.peek() == UInt8(ascii: ",") {
                    self.index += 1
                    continue
                }
                try self.expect("}")
                break
            }
        }
        self.skipWhitespace()
        guard self.index == self.bytes.count else { throw self.failure("text follows the top-level object") }
        return members
    }

    private func peek() -> UInt8? {
        self.index < self.bytes.count ? self.bytes[self.index] : nil
    }

    private func failure(_ reason: String) -> TDXError {
        .collateralMalformed(document: self.document, reason: "\(reason) (at byte \(self.index))")
    }

    private mutating func skipWhitespace() {
        while let byte = self.peek(), [0x20, 0x09, 0x0A, 0x0D].contains(byte) { self.index += 1 }
    }

    private mutating func expect(_ character: Unicode.Scalar) throws(TDXError) {
        self.skipWhitespace()
        guard self.peek() == UInt8(ascii: character) else { throw self.failure("expected '\(character)'") }
        self.index += 1
    }

    /// Skips a string, returning its range including the quotes.
    private mutating func skipString() throws(TDXError) -> Range<Int> {
        let start = self.index
        guard self.peek() == UInt8(ascii: "\"") else { throw self.failure("expected a string") }
        self.index += 1
        while let byte = self.peek() {
            self.index += 1
            if byte == UInt8(ascii: "\\") {
                self.index += 1
            } else if byte == UInt8(ascii: "\"") {
                return start..<self.index
            } else if byte < 0x20 {
                throw self.failure("a string holds a control character")
            }
        }
        throw self.failure("a string is not terminated")
    }

    /// Skips one value: an object or array by bracket depth (strings skipped whole), or a scalar
    /// up to the next delimiter.
    private mutating func skipValue() throws(TDXError) {
        guard let first = self.peek() else { throw self.failure("a value is missing") }
        switch first {
        case UInt8(ascii: "\""):
            _ = try self.skipString()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var closers: [UInt8] = []
            repeat {
                guard let byte = self.peek() else { throw self.failure("an object or array is not closed") }
                switch byte {
                case UInt8(ascii: "\""):
                    _ = try self.skipString()
                    continue
                case UInt8(ascii: "{"): closers.append(UInt8(ascii: "}"))
                case UInt8(ascii: "["): closers.append(UInt8(ascii: "]"))
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    guard closers.popLast() == byte else { throw self.failure("brackets do not match") }
                default: break
                }
                self.index += 1
            } while !closers.isEmpty
        default:
            let start = self.index
            while let byte = self.peek(), ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D].contains(byte) {
                self.index += 1
            }
            guard self.index > start else { throw self.failure("a value is missing") }
        }
    }
}
