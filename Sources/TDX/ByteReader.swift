/// A cursor over the little-endian bytes of a quote (Intel TDX DCAP Quoting Library API,
/// Appendix A: "all multi-byte integers are little-endian"; ECDSA values inside them are big-endian
/// byte strings and are read as plain bytes).
///
/// It works on a slice of the whole quote, so `offset` is always the absolute offset that errors
/// report, and checks every length against what remains before slicing.
struct ByteReader {
    private let bytes: ArraySlice<UInt8>
    /// Absolute offset of the next unread byte.
    private(set) var offset: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.offset = bytes.startIndex
    }

    /// Bytes left to read.
    var remaining: Int { self.bytes.endIndex - self.offset }

    mutating func u16(_ field: String) throws(TDXError) -> UInt16 {
        UInt16(truncatingIfNeeded: try self.integer(2, field))
    }

    mutating func u32(_ field: String) throws(TDXError) -> UInt32 {
        UInt32(truncatingIfNeeded: try self.integer(4, field))
    }

    mutating func u64(_ field: String) throws(TDXError) -> UInt64 {
        try self.integer(8, field)
    }

    /// Reads `count` bytes.
    mutating func bytes(_ count: Int, _ field: String) throws(TDXError) -> [UInt8] {
        Array(try self.slice(count, field))
    }

    /// Reads `count` bytes without copying them.
    mutating func slice(_ count: Int, _ field: String) throws(TDXError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= self.remaining else {
            throw .truncated(field: field, offset: self.offset, needed: count, available: self.remaining)
        }
        defer { self.offset += count }
        return self.bytes[self.offset..<(self.offset + count)]
    }

    /// Reads a size field of `width` bytes and then that many bytes, refusing a size larger than
    /// what remains before anything is sliced.
    mutating func sized(width: Int, _ field: String) throws(TDXError) -> ArraySlice<UInt8> {
        let at = self.offset
        let size = Int(try self.integer(width, "\(field) size"))
        guard size <= self.remaining else {
            throw .sizeExceedsData(field: field, offset: at, declared: size, available: self.remaining)
        }
        return try self.slice(size, field)
    }

    /// Consumes `count` bytes that the specification reserves as zero.
    mutating func reserved(_ count: Int, _ field: String) throws(TDXError) {
        let raw = try self.slice(count, field)
        if let index = raw.firstIndex(where: { $0 != 0 }) {
            throw .reservedFieldNotZero(field: field, offset: index)
        }
    }

    /// The unread bytes, consuming them.
    mutating func rest() -> ArraySlice<UInt8> {
        defer { self.offset = self.bytes.endIndex }
        return self.bytes[self.offset...]
    }

    private mutating func integer(_ width: Int, _ field: String) throws(TDXError) -> UInt64 {
        let raw = try self.slice(width, field)
        return raw.reversed().reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
    }
}

/// Appends little-endian values; the inverse of ``ByteReader`` for re-encoding parsed structures.
extension Array where Element == UInt8 {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        for index in 0..<(T.bitWidth / 8) {
            self.append(UInt8(truncatingIfNeeded: value >> (8 * index)))
        }
    }
}

/// Lowercase hex, two digits per byte.
func hexString(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: text, as: UTF8.self)
}

/// Parses hex of either case and even length; nil otherwise.
func decodeHex(_ hex: some StringProtocol) -> [UInt8]? {
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
