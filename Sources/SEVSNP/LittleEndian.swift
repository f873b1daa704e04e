/// Cursor over a little-endian byte buffer, the encoding every SEV-SNP firmware ABI structure uses
/// (SEV Secure Nested Paging Firmware ABI Specification, pub. 56860: all fields are little-endian).
///
/// Reads past the end throw ``SNPError/truncated(field:offset:)`` naming the field being read.
/// Package-visible so that GuestAttestation encodes the Linux sev-guest structures (also
/// little-endian) with the same reader and writer.
package struct LittleEndianReader {
    private let bytes: [UInt8]
    /// Offset of the next byte to read, from the start of the buffer.
    package private(set) var offset: Int

    package init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    package mutating func integer<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, field: String) throws(SNPError) -> T {
        let raw = try self.bytes(MemoryLayout<T>.size, field: field)
        return raw.reversed().reduce(T(0)) { ($0 << 8) | T($1) }
    }

    package mutating func bytes(_ count: Int, field: String) throws(SNPError) -> [UInt8] {
        guard count >= 0, self.offset + count <= self.bytes.count else {
            throw .truncated(field: field, offset: self.offset)
        }
        defer { self.offset += count }
        return Array(self.bytes[self.offset..<(self.offset + count)])
    }

    /// Consumes `count` bytes that the specification marks reserved and requires to be zero.
    package mutating func reserved(_ count: Int, field: String) throws(SNPError) {
        let start = self.offset
        let raw = try self.bytes(count, field: field)
        if let index = raw.firstIndex(where: { $0 != 0 }) {
            throw .reservedFieldNotZero(field: field, offset: start + index)
        }
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

    package mutating func bytes(_ raw: [UInt8]) {
        self.bytes.append(contentsOf: raw)
    }

    package mutating func zeros(_ count: Int) {
        self.bytes.append(contentsOf: repeatElement(0, count: count))
    }
}
