/// How a little-endian structure failed to read, built as the reading library's own error so that
/// each library keeps its error enum and its sentences (``LittleEndianReader`` throws `Self`).
package protocol LittleEndianReadFailure: Error {
    /// The structure ended at `offset` with `available` bytes left, before the `needed` bytes of
    /// `field`.
    static func truncated(field: String, offset: Int, needed: Int, available: Int) -> Self
    /// A byte of the must-be-zero `field` at `offset` is not zero.
    static func reservedFieldNotZero(field: String, offset: Int) -> Self
}

/// A cursor over little-endian bytes, the byte order of every structure the evidence libraries
/// read: the SEV-SNP firmware ABI (pub. 56860: "all fields are little-endian"), Intel's TDX quotes
/// (DCAP Quoting Library API, Appendix A), and the Linux sev-guest and tdx-guest ioctl structures.
///
/// It works on a slice of the whole buffer, so `offset` and every error's offset are absolute, and
/// it checks every length against what remains before slicing.
package struct LittleEndianReader<Failure: LittleEndianReadFailure> {
    private let bytes: ArraySlice<UInt8>
    /// The absolute offset of the next unread byte.
    package private(set) var offset: Int

    /// Reads `bytes`, whose indices are the offsets errors report.
    package init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.offset = bytes.startIndex
    }

    /// Reads `bytes` from `offset` on.
    package init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes[...]
        self.offset = offset
    }

    /// The bytes left to read.
    package var remaining: Int { self.bytes.endIndex - self.offset }

    /// Reads an unsigned integer of `T`'s width.
    package mutating func integer<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, field: String) throws(Failure) -> T {
        let raw = try self.slice(MemoryLayout<T>.size, field: field)
        return raw.reversed().reduce(T(0)) { ($0 << 8) | T($1) }
    }

    /// Reads `count` bytes.
    package mutating func bytes(_ count: Int, field: String) throws(Failure) -> [UInt8] {
        Array(try self.slice(count, field: field))
    }

    /// Reads `count` bytes without copying them; the slice keeps the buffer's indices.
    package mutating func slice(_ count: Int, field: String) throws(Failure) -> ArraySlice<UInt8> {
        guard count >= 0, count <= self.remaining else {
            throw .truncated(field: field, offset: self.offset, needed: count, available: max(0, self.remaining))
        }
        defer { self.offset += count }
        return self.bytes[self.offset..<(self.offset + count)]
    }

    /// Consumes `count` bytes that the specification reserves and requires to be zero.
    package mutating func reserved(_ count: Int, field: String) throws(Failure) {
        let raw = try self.slice(count, field: field)
        if let index = raw.firstIndex(where: { $0 != 0 }) {
            throw .reservedFieldNotZero(field: field, offset: index)
        }
    }

    /// The unread bytes, consuming them.
    package mutating func rest() -> ArraySlice<UInt8> {
        defer { self.offset = self.bytes.endIndex }
        return self.bytes[self.offset...]
    }
}

/// Appends little-endian values to a growing byte buffer; the inverse of ``LittleEndianReader``.
package struct LittleEndianWriter {
    package private(set) var bytes: [UInt8] = []

    package init() {}

    package mutating func integer<T: FixedWidthInteger & UnsignedInteger>(_ value: T) {
        for index in 0..<MemoryLayout<T>.size {
            self.bytes.append(UInt8(truncatingIfNeeded: value >> (8 * index)))
        }
    }

    package mutating func bytes(_ raw: some Sequence<UInt8>) {
        self.bytes.append(contentsOf: raw)
    }

    package mutating func zeros(_ count: Int) {
        self.bytes.append(contentsOf: repeatElement(0, count: count))
    }
}
