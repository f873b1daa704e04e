import Crypto

/// The 4096-byte binary header that starts each LUKS2 header copy (LUKS2 On-Disk Format
/// Specification §2.1, `struct luks2_hdr_disk`). Integers are big-endian; strings are
/// NUL-terminated in fixed-size fields.
public struct LUKS2BinaryHeader: Sendable, Equatable {
    /// Size of the binary part of a header copy.
    public static let size = 4096
    /// Header sizes (binary header plus JSON area) the specification allows (§2, 16 KiB to 4 MiB).
    public static let allowedHeaderSizes: [UInt64] = (0...8).map { UInt64(16384) << $0 }

    public var copy: LUKS2HeaderCopy
    /// Size of binary header plus JSON area, `hdr_size`.
    public var headerSize: UInt64
    /// `seqid`: incremented on every metadata update; the copy with the higher value wins.
    public var sequenceID: UInt64
    public var label: String
    /// `csum_alg`, such as `sha256`.
    public var checksumAlgorithm: String
    /// `salt`: 64 random bytes, different in each copy.
    public var salt: [UInt8]
    public var uuid: String
    public var subsystem: String
    /// `hdr_offset`: where this copy starts on the device.
    public var headerOffset: UInt64
    /// `csum`: the checksum as stored, zero-padded to 64 bytes.
    public var checksum: [UInt8]

    public init(
        copy: LUKS2HeaderCopy, headerSize: UInt64, sequenceID: UInt64, label: String = "",
        checksumAlgorithm: String = "sha256", salt: [UInt8], uuid: String, subsystem: String = "",
        headerOffset: UInt64, checksum: [UInt8] = [UInt8](repeating: 0, count: 64)
    ) {
        self.copy = copy
        self.headerSize = headerSize
        self.sequenceID = sequenceID
        self.label = label
        self.checksumAlgorithm = checksumAlgorithm
        self.salt = salt
        self.uuid = uuid
        self.subsystem = subsystem
        self.headerOffset = headerOffset
        self.checksum = checksum
    }

    enum Offset {
        static let version = 6, headerSize = 8, seqid = 16, label = 24, checksumAlgorithm = 72, salt = 104
        static let uuid = 168, subsystem = 208, headerOffset = 256, checksum = 448
    }

    /// Parses the fixed fields of one copy; `bytes` must hold at least the 4096-byte binary header.
    public init(bytes: [UInt8], copy: LUKS2HeaderCopy) throws(LUKS2HeaderProblem) {
        guard bytes.count >= Self.size else { throw .truncated }
        guard Array(bytes[0..<6]) == copy.magic else { throw .badMagic }
        let version = UInt16(bytes[Offset.version]) << 8 | UInt16(bytes[Offset.version + 1])
        guard version == 2 else { throw .unsupportedVersion(version) }
        self.copy = copy
        headerSize = Self.readUInt64(bytes, Offset.headerSize)
        guard Self.allowedHeaderSizes.contains(headerSize) else { throw .badHeaderSize(headerSize) }
        sequenceID = Self.readUInt64(bytes, Offset.seqid)
        label = Self.readString(bytes, Offset.label, 48)
        checksumAlgorithm = Self.readString(bytes, Offset.checksumAlgorithm, 32)
        salt = Array(bytes[Offset.salt..<Offset.salt + 64])
        uuid = Self.readString(bytes, Offset.uuid, 40)
        subsystem = Self.readString(bytes, Offset.subsystem, 48)
        headerOffset = Self.readUInt64(bytes, Offset.headerOffset)
        checksum = Array(bytes[Offset.checksum..<Offset.checksum + 64])
    }

    /// The 4096 bytes of this binary header, with `checksum` in place.
    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: Self.size)
        out.replaceSubrange(0..<6, with: copy.magic)
        out[Offset.version + 1] = 2
        Self.write(headerSize, into: &out, at: Offset.headerSize)
        Self.write(sequenceID, into: &out, at: Offset.seqid)
        Self.write(label, into: &out, at: Offset.label, width: 48)
        Self.write(checksumAlgorithm, into: &out, at: Offset.checksumAlgorithm, width: 32)
        out.replaceSubrange(Offset.salt..<Offset.salt + 64, with: salt.prefix(64))
        Self.write(uuid, into: &out, at: Offset.uuid, width: 40)
        Self.write(subsystem, into: &out, at: Offset.subsystem, width: 48)
        Self.write(headerOffset, into: &out, at: Offset.headerOffset)
        out.replaceSubrange(Offset.checksum..<Offset.checksum + 64, with: checksum.prefix(64))
        return out
    }

    /// The checksum of a whole header area (binary header and JSON area) computed with the `csum`
    /// field zeroed (§2.1), zero-padded to 64 bytes.
    static func computeChecksum(area: [UInt8], algorithm: String) throws(LUKS2HeaderProblem) -> [UInt8] {
        var zeroed = area
        zeroed.replaceSubrange(Offset.checksum..<Offset.checksum + 64, with: repeatElement(0, count: 64))
        let digest: [UInt8]
        switch algorithm {
        case "sha256": digest = Array(SHA256.hash(data: zeroed))
        case "sha384": digest = Array(SHA384.hash(data: zeroed))
        case "sha512": digest = Array(SHA512.hash(data: zeroed))
        case "sha1": digest = Array(Insecure.SHA1.hash(data: zeroed))
        default: throw .unsupportedChecksumAlgorithm(algorithm)
        }
        return digest + [UInt8](repeating: 0, count: 64 - digest.count)
    }

    private static func readUInt64(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
        bytes[offset..<offset + 8].reduce(0) { $0 << 8 | UInt64($1) }
    }

    private static func readString(_ bytes: [UInt8], _ offset: Int, _ width: Int) -> String {
        let field = bytes[offset..<offset + width]
        return String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }

    private static func write(_ value: UInt64, into out: inout [UInt8], at offset: Int) {
        for index in 0..<8 { out[offset + index] = UInt8(truncatingIfNeeded: value >> (56 - 8 * index)) }
    }

    private static func write(_ value: String, into out: inout [UInt8], at offset: Int, width: Int) {
        let utf8 = Array(value.utf8.prefix(width - 1))
        out.replaceSubrange(offset..<offset + utf8.count, with: utf8)
    }
}
