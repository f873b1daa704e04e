import Foundation

/// A LUKS2 header: both binary header copies and the JSON metadata they carry (§2).
///
/// Reading takes the valid copy with the higher `seqid`; writing increments `seqid` and writes the
/// primary copy, syncs, then the secondary copy, as cryptsetup does, so a crash leaves at least one
/// copy whole.
public struct LUKS2Header: Sendable, Equatable {
    public var primary: LUKS2BinaryHeader
    public var secondary: LUKS2BinaryHeader
    public var metadata: LUKS2Metadata

    /// A problem found in one copy while the other was used.
    public private(set) var damagedCopy: (copy: LUKS2HeaderCopy, problem: LUKS2HeaderProblem)?

    public static func == (lhs: LUKS2Header, rhs: LUKS2Header) -> Bool {
        lhs.primary == rhs.primary && lhs.secondary == rhs.secondary && lhs.metadata == rhs.metadata
    }

    public init(primary: LUKS2BinaryHeader, secondary: LUKS2BinaryHeader, metadata: LUKS2Metadata) {
        self.primary = primary
        self.secondary = secondary
        self.metadata = metadata
    }

    public var headerSize: UInt64 { primary.headerSize }
    public var uuid: String { primary.uuid }
    public var sequenceID: UInt64 { primary.sequenceID }

    /// Parses one header copy: `area` is the copy's `hdr_size` bytes (or more) read at `offset`.
    public static func parseCopy(
        _ area: [UInt8], copy: LUKS2HeaderCopy, offset: UInt64
    ) throws(LUKS2HeaderProblem) -> (LUKS2BinaryHeader, LUKS2Metadata) {
        let binary = try LUKS2BinaryHeader(bytes: area, copy: copy)
        guard binary.headerOffset == offset else { throw .offsetMismatch(expected: offset, found: binary.headerOffset) }
        guard area.count >= Int(binary.headerSize) else { throw .truncated }
        let whole = Array(area[0..<Int(binary.headerSize)])
        let checksum = try LUKS2BinaryHeader.computeChecksum(area: whole, algorithm: binary.checksumAlgorithm)
        guard constantTimeEqual(checksum, binary.checksum) else { throw .checksumMismatch }
        let json = whole[LUKS2BinaryHeader.size...].prefix { $0 != 0 }
        let metadata: LUKS2Metadata
        do {
            metadata = try LUKS2Metadata.decode(Data(json))
        } catch {
            throw .badJSON("\(error)")
        }
        guard metadata.config.jsonSize == binary.headerSize - UInt64(LUKS2BinaryHeader.size) else {
            throw .badJSON("config.json_size \(metadata.config.jsonSize) does not match hdr_size \(binary.headerSize)")
        }
        do {
            try metadata.validate(headerSize: binary.headerSize)
        } catch {
            throw .badJSON("\(error)")
        }
        return (binary, metadata)
    }

    /// Serializes one copy: binary header with its checksum, then the JSON area zero-padded.
    public func serializeCopy(_ copy: LUKS2HeaderCopy) throws(LUKS2Error) -> [UInt8] {
        var binary = copy == .primary ? primary : secondary
        binary.checksum = [UInt8](repeating: 0, count: 64)
        let json = try Self.encodeJSON(metadata)
        let jsonSize = Int(binary.headerSize) - LUKS2BinaryHeader.size
        guard json.count < jsonSize else { throw .invalidMetadata("JSON metadata of \(json.count) bytes exceeds \(jsonSize)") }
        var area = binary.bytes + json
        area += [UInt8](repeating: 0, count: Int(binary.headerSize) - area.count)
        do {
            binary.checksum = try LUKS2BinaryHeader.computeChecksum(area: area, algorithm: binary.checksumAlgorithm)
        } catch {
            throw .invalidHeader(copy, error)
        }
        area.replaceSubrange(0..<LUKS2BinaryHeader.size, with: binary.bytes)
        return area
    }

    static func encodeJSON(_ metadata: LUKS2Metadata) throws(LUKS2Error) -> [UInt8] {
        do {
            return try metadata.encoded()
        } catch {
            throw .invalidMetadata("\(error)")
        }
    }

    /// Reads both copies from `device`. If the primary copy is unreadable the secondary is looked
    /// for at every allowed header size, as cryptsetup does; the problem reported for it is that of
    /// the first offset carrying its magic.
    public static func read(from device: LUKS2Device) throws(LUKS2Error) -> LUKS2Header {
        let deviceSize = try device.size()
        func load(_ copy: LUKS2HeaderCopy, at offset: UInt64) -> Result<(LUKS2BinaryHeader, LUKS2Metadata), LUKS2HeaderProblem> {
            guard offset + UInt64(LUKS2BinaryHeader.size) <= deviceSize,
                let head = try? device.read(at: offset, count: LUKS2BinaryHeader.size)
            else { return .failure(.truncated) }
            do {
                let binary = try LUKS2BinaryHeader(bytes: head, copy: copy)
                guard offset + binary.headerSize <= deviceSize,
                    let area = try? device.read(at: offset, count: Int(binary.headerSize))
                else { return .failure(.truncated) }
                return .success(try parseCopy(area, copy: copy, offset: offset))
            } catch {
                return .failure(error)
            }
        }
        let first = load(.primary, at: 0)
        let second: Result<(LUKS2BinaryHeader, LUKS2Metadata), LUKS2HeaderProblem>
        if case .success(let (binary, _)) = first {
            second = load(.secondary, at: binary.headerSize)
        } else {
            var found: (LUKS2BinaryHeader, LUKS2Metadata)?
            var firstProblem: LUKS2HeaderProblem?
            for size in LUKS2BinaryHeader.allowedHeaderSizes where found == nil {
                switch load(.secondary, at: size) {
                case .success(let copy): found = copy
                case .failure(.badMagic), .failure(.truncated): continue
                case .failure(let problem): firstProblem = firstProblem ?? problem
                }
            }
            second = found.map { .success($0) } ?? .failure(firstProblem ?? .badMagic)
        }
        switch (first, second) {
        case (.success(let p), .success(let s)):
            let newer = p.0.sequenceID >= s.0.sequenceID ? p : s
            return LUKS2Header(primary: p.0, secondary: s.0, metadata: newer.1).aligned(to: newer.0)
        case (.success(let p), .failure(let problem)):
            var header = LUKS2Header(primary: p.0, secondary: p.0.twin(.secondary), metadata: p.1)
            header.damagedCopy = (.secondary, problem)
            return header
        case (.failure(let problem), .success(let s)):
            var header = LUKS2Header(primary: s.0.twin(.primary), secondary: s.0, metadata: s.1)
            header.damagedCopy = (.primary, problem)
            return header
        case (.failure(let primaryProblem), .failure(let secondaryProblem)):
            throw .noValidHeader(primary: primaryProblem, secondary: secondaryProblem)
        }
    }

    /// Both binary headers carry the newer copy's sequence and identity; salts stay per copy.
    private func aligned(to newer: LUKS2BinaryHeader) -> LUKS2Header {
        var header = self
        for copy in LUKS2HeaderCopy.allCases {
            var salt = copy == .primary ? primary.salt : secondary.salt
            if salt.count != 64 { salt = newer.salt }
            var binary = newer.twin(copy)
            binary.salt = salt
            if copy == .primary { header.primary = binary } else { header.secondary = binary }
        }
        return header
    }

    /// Writes both copies with `seqid` incremented (§2.3): primary, sync, secondary, sync.
    public mutating func write(to device: LUKS2Device) throws(LUKS2Error) {
        primary.sequenceID += 1
        secondary.sequenceID = primary.sequenceID
        for copy in LUKS2HeaderCopy.allCases {
            let offset = copy == .primary ? primary.headerOffset : secondary.headerOffset
            try device.write(try serializeCopy(copy), at: offset)
            try device.synchronize()
        }
        damagedCopy = nil
    }
}

extension LUKS2BinaryHeader {
    /// The same header as the other copy: its magic and offset, a fresh salt.
    func twin(_ copy: LUKS2HeaderCopy) -> LUKS2BinaryHeader {
        var binary = self
        binary.copy = copy
        binary.headerOffset = copy == .primary ? 0 : headerSize
        if copy != self.copy { binary.salt = randomBytes(64) }
        return binary
    }
}

/// Compares two byte strings in time that depends only on their lengths.
func constantTimeEqual(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
    guard lhs.count == rhs.count else { return false }
    return zip(lhs, rhs).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
}

func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
}
