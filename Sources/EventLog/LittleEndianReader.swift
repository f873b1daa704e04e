/// A cursor over little-endian bytes (TCG event logs are little-endian, PFP v1.06 §10.1).
///
/// Works on an `ArraySlice` of the whole log so that `offset` is always the absolute byte offset
/// in the log, which every error reports. Reading never copies more than the requested range and
/// every length is checked against the bytes that remain before anything is sliced.
struct LittleEndianReader {
    private let bytes: ArraySlice<UInt8>
    /// Absolute offset of the next unread byte.
    private(set) var offset: Int
    /// Index of the event being read, for error messages.
    var event: Int

    init(_ bytes: ArraySlice<UInt8>, event: Int) {
        self.bytes = bytes
        self.offset = bytes.startIndex
        self.event = event
    }

    var remaining: Int { bytes.endIndex - offset }
    var isAtEnd: Bool { offset == bytes.endIndex }

    /// Reads an unsigned little-endian integer of `T`'s width.
    mutating func read<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, _ field: String) throws(EventLogError) -> T {
        let width = T.bitWidth / 8
        try require(width, field)
        var value: T = 0
        for i in 0..<width {
            value |= T(bytes[offset + i]) << (8 * i)
        }
        offset += width
        return value
    }

    /// Reads `count` bytes without copying them.
    mutating func bytes(_ count: Int, _ field: String) throws(EventLogError) -> ArraySlice<UInt8> {
        try require(count, field)
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    /// Reads a length that the format stores as a 64-bit integer and that must fit in what remains,
    /// scaled by `unit` bytes per element. Refuses absurd values before anything is allocated.
    mutating func count(_ field: String, unit: Int, width: Int = 8) throws(EventLogError) -> Int {
        let at = offset
        let raw: UInt64 = width == 8 ? try read(UInt64.self, field) : UInt64(try read(UInt32.self, field))
        guard unit > 0, raw <= UInt64(remaining / unit) else {
            throw .sizeExceedsData(event: event, offset: at, field: field, size: raw, available: remaining)
        }
        return Int(raw) * unit
    }

    /// The unread bytes, consuming them.
    mutating func rest() -> ArraySlice<UInt8> {
        defer { offset = bytes.endIndex }
        return bytes[offset...]
    }

    private func require(_ count: Int, _ field: String) throws(EventLogError) {
        guard count >= 0, count <= remaining else {
            throw .truncated(event: event, offset: offset, field: field, needed: count, available: remaining)
        }
    }
}

extension Array where Element == UInt8 {
    /// Appends `value` in little-endian byte order.
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        for i in 0..<(T.bitWidth / 8) {
            append(UInt8(truncatingIfNeeded: value >> (8 * i)))
        }
    }
}
