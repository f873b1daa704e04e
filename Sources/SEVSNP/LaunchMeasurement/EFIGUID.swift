/// A GUID in the mixed-endian byte order UEFI stores it (UEFI Specification 2.10, Appendix A
/// "GUID and Time Formats"): the first three fields little-endian, the last eight bytes as written.
struct EFIGUID: Hashable, Sendable, CustomStringConvertible {
    /// The 16 bytes as they appear in a firmware image.
    let bytes: [UInt8]

    /// The GUID written in registry form, `aabbccdd-eeff-gghh-iijj-kkllmmnnoopp`. Only for the
    /// constants of this module, so a malformed literal is a programming error.
    init(_ text: StaticString) {
        let hexDigits = Array(text.description.filter { $0 != "-" })
        precondition(hexDigits.count == 32, "GUID literal \(text) must have 32 hex digits")
        let written = stride(from: 0, to: 32, by: 2).map { UInt8(String(hexDigits[$0..<($0 + 2)]), radix: 16)! }
        self.bytes = Self.swappingFieldOrder(written)
    }

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    var description: String {
        let digits = Self.swappingFieldOrder(self.bytes).map { ($0 < 0x10 ? "0" : "") + String($0, radix: 16) }
        return [digits[0..<4], digits[4..<6], digits[6..<8], digits[8..<10], digits[10...]]
            .map { $0.joined() }.joined(separator: "-")
    }

    /// Converts between registry (big-endian) and UEFI byte order; the conversion is its own inverse.
    private static func swappingFieldOrder(_ bytes: [UInt8]) -> [UInt8] {
        bytes[0..<4].reversed() + bytes[4..<6].reversed() + bytes[6..<8].reversed() + bytes[8...]
    }
}
