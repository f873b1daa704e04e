/// Errors from unmarshaling TPM 2.0 wire structures (TPM 2.0 Library Part 2, §5 and the
/// marshaling rules of Part 4 §Marshal). Each case names the field and the byte offset.
public enum TPMMarshalError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The input ended before `field` was complete.
    case truncated(field: String, offset: Int, needed: Int, available: Int)
    /// A sized buffer declared more bytes than its type allows.
    case oversize(field: String, offset: Int, size: Int, maximum: Int)
    /// A union selector or enumerated value outside the set the type allows.
    case unknownSelector(field: String, offset: Int, value: UInt32)
    /// A value that is structurally well formed but not allowed (a reserved bit, a bad magic).
    case invalidValue(field: String, offset: Int, value: UInt64)
    /// A structure that should have consumed the whole input left bytes behind.
    case trailingBytes(count: Int, offset: Int)

    public var description: String {
        switch self {
        case let .truncated(field, offset, needed, available):
            return "\(field) at offset \(offset) needs \(needed) bytes but only \(available) remain"
        case let .oversize(field, offset, size, maximum):
            return "\(field) at offset \(offset) declares \(size) bytes; at most \(maximum) are allowed"
        case let .unknownSelector(field, offset, value):
            return "\(field) at offset \(offset) has the unsupported value 0x\(String(value, radix: 16))"
        case let .invalidValue(field, offset, value):
            return "\(field) at offset \(offset) has the invalid value 0x\(String(value, radix: 16))"
        case let .trailingBytes(count, offset):
            return "\(count) unexpected trailing bytes at offset \(offset)"
        }
    }
}

/// Reads big-endian TPM 2.0 wire data (Part 1 §18.2: all TPM integers are big-endian).
public struct TPMReader: Sendable {
    public let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: some Collection<UInt8>) {
        self.bytes = Array(bytes)
        self.offset = 0
    }

    /// A reader over an array, sharing its storage.
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.offset = 0
    }

    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset == bytes.count }

    private mutating func take(_ count: Int, _ field: String) throws(TPMMarshalError) -> ArraySlice<UInt8> {
        guard count <= remaining else {
            throw .truncated(field: field, offset: offset, needed: count, available: remaining)
        }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    public mutating func u8(_ field: String) throws(TPMMarshalError) -> UInt8 {
        try take(1, field).first!
    }

    public mutating func u16(_ field: String) throws(TPMMarshalError) -> UInt16 {
        try take(2, field).reduce(0) { $0 << 8 | UInt16($1) }
    }

    public mutating func u32(_ field: String) throws(TPMMarshalError) -> UInt32 {
        try take(4, field).reduce(0) { $0 << 8 | UInt32($1) }
    }

    public mutating func u64(_ field: String) throws(TPMMarshalError) -> UInt64 {
        try take(8, field).reduce(0) { $0 << 8 | UInt64($1) }
    }

    public mutating func bytes(_ count: Int, _ field: String) throws(TPMMarshalError) -> [UInt8] {
        Array(try take(count, field))
    }

    /// A TPM2B: a UINT16 size followed by that many bytes, at most `maximum` (Part 2 §10.4).
    public mutating func sized(_ field: String, maximum: Int) throws(TPMMarshalError) -> [UInt8] {
        let start = offset
        let size = Int(try u16(field + ".size"))
        guard size <= maximum else {
            throw .oversize(field: field, offset: start, size: size, maximum: maximum)
        }
        return try bytes(size, field)
    }

    /// Reads a sized structure (TPM2B_PUBLIC, TPM2B_SENSITIVE_CREATE...) whose size must equal
    /// the bytes its content consumed.
    public mutating func sizedStructure<T>(
        _ field: String, allowEmpty: Bool = false,
        _ body: (inout TPMReader) throws(TPMMarshalError) -> T
    ) throws(TPMMarshalError) -> T? {
        let start = offset
        let size = Int(try u16(field + ".size"))
        if size == 0 {
            guard allowEmpty else { throw .invalidValue(field: field + ".size", offset: start, value: 0) }
            return nil
        }
        var inner = TPMReader(try take(size, field))
        let value = try body(&inner)
        guard inner.isAtEnd else { throw .trailingBytes(count: inner.remaining, offset: start + 2 + inner.offset) }
        return value
    }

    /// Parses `bytes` as exactly one sized structure (a TPM2B_SENSITIVE, say) whose content
    /// `body` reads.
    public static func sizedValue<T>(_ bytes: [UInt8], _ body: (inout TPMReader) throws(TPMMarshalError) -> T) throws(TPMMarshalError) -> T {
        var reader = TPMReader(bytes)
        let value = try reader.sizedStructure("TPM2B", body)!
        try reader.expectEnd()
        return value
    }

    /// Parses `bytes` as exactly one TPM2B buffer of at most `maximum` bytes.
    public static func sizedBuffer(_ bytes: [UInt8], maximum: Int) throws(TPMMarshalError) -> [UInt8] {
        var reader = TPMReader(bytes)
        let value = try reader.sized("TPM2B", maximum: maximum)
        try reader.expectEnd()
        return value
    }

    /// Fails unless every byte was consumed.
    public func expectEnd() throws(TPMMarshalError) {
        guard isAtEnd else { throw .trailingBytes(count: remaining, offset: offset) }
    }

    public func error(_ field: String, selector value: some BinaryInteger, at start: Int) -> TPMMarshalError {
        .unknownSelector(field: field, offset: start, value: UInt32(truncatingIfNeeded: value))
    }
}

/// Writes big-endian TPM 2.0 wire data.
public struct TPMWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// A writer with room for `capacity` bytes, for output whose size is known in advance.
    public init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func u8(_ value: UInt8) { bytes.append(value) }
    public mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }
    public mutating func u32(_ value: UInt32) { for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) } }
    public mutating func u64(_ value: UInt64) { for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) } }
    public mutating func bytes(_ value: some Sequence<UInt8>) { bytes.append(contentsOf: value) }

    /// Appends an array: the same as the generic form, without generic dispatch at run time.
    public mutating func bytes(_ value: [UInt8]) { bytes.append(contentsOf: value) }

    /// A TPM2B with a UINT16 size prefix.
    public mutating func sized(_ value: some Collection<UInt8>) {
        u16(UInt16(value.count))
        bytes.append(contentsOf: value)
    }

    /// A TPM2B from an array: the same as the generic form, without generic dispatch at run time.
    public mutating func sized(_ value: [UInt8]) {
        u16(UInt16(value.count))
        bytes.append(contentsOf: value)
    }

    /// A sized structure: the UINT16 size of what `body` writes, then those bytes.
    public mutating func sizedStructure(_ body: (inout TPMWriter) -> Void) {
        var inner = TPMWriter()
        body(&inner)
        sized(inner.bytes)
    }

    public mutating func write(_ value: some TPMMarshalable) { value.marshal(into: &self) }
}

/// A TPM 2.0 structure that has a canonical wire form (Part 2).
public protocol TPMMarshalable: Sendable {
    init(from reader: inout TPMReader) throws(TPMMarshalError)
    func marshal(into writer: inout TPMWriter)
}

extension TPMMarshalable {
    /// Parses exactly one value from `bytes`; trailing bytes are an error.
    public init(tpmBytes bytes: some Collection<UInt8>) throws(TPMMarshalError) {
        var reader = TPMReader(bytes)
        self = try Self(from: &reader)
        try reader.expectEnd()
    }

    /// The value's wire form.
    public var tpmBytes: [UInt8] {
        var writer = TPMWriter()
        marshal(into: &writer)
        return writer.bytes
    }
}
