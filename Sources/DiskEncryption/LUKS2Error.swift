/// Which of the two LUKS2 header copies a problem was found in (LUKS2 On-Disk Format §2: the
/// primary copy at offset 0, the secondary copy right after it at `hdr_size`).
public enum LUKS2HeaderCopy: String, Sendable, Equatable, CaseIterable {
    case primary
    case secondary

    /// The magic the copy's binary header starts with (§2.1: `LUKS\xba\xbe` / `SKUL\xba\xbe`).
    public var magic: [UInt8] {
        switch self {
        case .primary: [0x4C, 0x55, 0x4B, 0x53, 0xBA, 0xBE]
        case .secondary: [0x53, 0x4B, 0x55, 0x4C, 0xBA, 0xBE]
        }
    }
}

/// Why one header copy was refused.
public enum LUKS2HeaderProblem: Error, Sendable, Equatable {
    case truncated
    case badMagic
    case unsupportedVersion(UInt16)
    case badHeaderSize(UInt64)
    case offsetMismatch(expected: UInt64, found: UInt64)
    case unsupportedChecksumAlgorithm(String)
    case checksumMismatch
    case badJSON(String)
}

/// Errors of the LUKS2 implementation.
public enum LUKS2Error: Error, Sendable, Equatable {
    /// Neither header copy is usable; each problem names its copy.
    case noValidHeader(primary: LUKS2HeaderProblem, secondary: LUKS2HeaderProblem)
    /// One header copy is unusable.
    case invalidHeader(LUKS2HeaderCopy, LUKS2HeaderProblem)
    /// The JSON metadata decodes but breaks a rule of the specification.
    case invalidMetadata(String)
    /// A valid feature this implementation does not handle (cipher, KDF, hash, mandatory requirement).
    case unsupported(String)
    /// No keyslot opened with the passphrase (or the keyslot asked for did not).
    case wrongPassphrase
    case noSuchKeyslot(Int)
    case noFreeKeyslot
    /// The keyslots area has no room left for another keyslot.
    case keyslotsAreaFull
    case invalidArgument(String)
    /// A read or write of the device failed or came up short.
    case io(String)
}

extension LUKS2Error: CustomStringConvertible {
    public var description: String {
        switch self {
        case .noValidHeader(let primary, let secondary): "no valid LUKS2 header: primary copy \(primary), secondary copy \(secondary)"
        case .invalidHeader(let copy, let problem): "\(copy.rawValue) LUKS2 header copy: \(problem)"
        case .invalidMetadata(let reason): "invalid LUKS2 metadata: \(reason)"
        case .unsupported(let what): "unsupported: \(what)"
        case .wrongPassphrase: "no keyslot opens with this passphrase"
        case .noSuchKeyslot(let id): "no keyslot \(id)"
        case .noFreeKeyslot: "all 32 keyslots are in use"
        case .keyslotsAreaFull: "no room left in the keyslots area"
        case .invalidArgument(let reason): reason
        case .io(let reason): reason
        }
    }
}

extension LUKS2HeaderProblem: CustomStringConvertible {
    public var description: String {
        switch self {
        case .truncated: "the device ends inside the header"
        case .badMagic: "no LUKS2 magic"
        case .unsupportedVersion(let version): "version \(version) is not 2"
        case .badHeaderSize(let size): "hdr_size \(size) is not 16 KiB to 4 MiB in powers of two"
        case .offsetMismatch(let expected, let found): "hdr_offset \(found) where the copy is at \(expected)"
        case .unsupportedChecksumAlgorithm(let name): "checksum algorithm \(name) is not supported"
        case .checksumMismatch: "checksum mismatch"
        case .badJSON(let reason): "JSON metadata: \(reason)"
        }
    }
}
