/// One record of a TCG event log: a TCG_PCR_EVENT2 (PFP v1.06 §10.2.2) in a crypto-agile log, or
/// a TCG_PCClientPCREvent (§10.2.1) in a SHA-1 log and as the first (Spec ID) record of a
/// crypto-agile log. `data` always holds the raw event bytes; `content` is their decoded form.
public struct TCGPCREvent2: Sendable {
    /// Position in the log; 0 is the first record.
    public var index: Int
    /// Byte offset of the record in the log.
    public var offset: Int
    /// The PCR index, or for a confidential-computing log (CCEL) the measurement-register index.
    public var pcrIndex: UInt32
    public var eventType: EventType
    /// The digests in the order the log lists them.
    public var digests: [TCGDigest]
    public var data: [UInt8]
    public var content: EventContent

    /// The digest for `algorithm`, if the record has one.
    public func digest(_ algorithm: TPMAlgorithm) -> [UInt8]? {
        digests.first { $0.algorithm == algorithm }?.bytes
    }
}

/// A parsed TCG event log: the crypto-agile format (a Spec ID Event03 record then TCG_PCR_EVENT2
/// records, PFP v1.06 §10.2.2 and §10.4.5.1) or the SHA-1 format (TCG_PCClientPCREvent records,
/// §10.2.1). Confidential-computing event logs (UEFI 2.10 §38, TDX CCEL) use the crypto-agile
/// format and are parsed the same way.
public struct EventLog: Sendable {
    /// The two log formats of PFP v1.06 §10.2.
    public enum Format: Sendable, CustomStringConvertible {
        /// Only TCG_PCClientPCREvent records, SHA-1 digests.
        case sha1
        /// A Spec ID Event03 record, then TCG_PCR_EVENT2 records.
        case cryptoAgile

        public var description: String { self == .sha1 ? "SHA-1" : "crypto-agile" }
    }

    /// Filler after the last record: confidential-computing log areas (CCEL) are fixed-size
    /// buffers whose unused tail is all 0xFF or all 0x00.
    public struct Padding: Hashable, Sendable {
        public var byte: UInt8
        public var count: Int

        public init(byte: UInt8, count: Int) {
            self.byte = byte
            self.count = count
        }
    }

    public var format: Format
    /// The Spec ID header of a crypto-agile log; nil for a SHA-1 log.
    public var specID: SpecIDEvent?
    /// All records, including the Spec ID record of a crypto-agile log.
    public var events: [TCGPCREvent2]
    public var padding: Padding?

    /// The digest algorithms (PCR banks) the log records.
    public var algorithms: [TPMAlgorithm] { specID?.algorithms.map(\.algorithm) ?? [.sha1] }

    /// Parses a whole log. Framing errors (a length past the end, an undeclared algorithm, a
    /// malformed Spec ID header) throw; event data that does not decode is kept as
    /// `EventContent.malformed` so that the log can still be replayed.
    public init(bytes: [UInt8]) throws(EventLogError) {
        guard !bytes.isEmpty, EventLog.padding(in: bytes[...]) == nil else { throw .empty }
        var reader = LittleEndianReader(bytes[...], event: 0)
        let header = try EventLog.readLegacyRecord(&reader, index: 0)
        if header.data.starts(with: SpecIDEvent.signature) {
            guard header.eventType == .noAction else {
                throw .invalidSpecIDEvent(offset: 0, reason: "its event type is \(header.eventType), not EV_NO_ACTION")
            }
            guard header.pcrIndex <= 1 else {
                throw .invalidSpecIDEvent(offset: 0, reason: "its PCR index is \(header.pcrIndex), not 0 (or 1 in a CCEL log)")
            }
            guard header.digests[0].bytes.allSatisfy({ $0 == 0 }) else {
                throw .invalidSpecIDEvent(offset: 8, reason: "its digest is not all zeros")
            }
            let specID = try SpecIDEvent(bytes[(header.offset + 32)...].prefix(header.data.count))
            var first = header
            first.content = .specID(specID)
            self.format = .cryptoAgile
            self.specID = specID
            self.events = [first]
        } else {
            self.format = .sha1
            self.specID = nil
            self.events = [header]
        }
        while !reader.isAtEnd {
            if let padding = EventLog.padding(in: bytes[reader.offset...]) {
                self.padding = padding
                break
            }
            reader.event = events.count
            let event = if let specID {
                try EventLog.readAgileRecord(&reader, index: events.count, specID: specID)
            } else {
                try EventLog.readLegacyRecord(&reader, index: events.count)
            }
            events.append(event)
        }
    }

    /// The rest of the buffer as padding, if it is all 0xFF or all 0x00.
    private static func padding(in rest: ArraySlice<UInt8>) -> Padding? {
        guard let byte = rest.first, byte == 0 || byte == 0xFF, rest.allSatisfy({ $0 == byte }) else { return nil }
        return Padding(byte: byte, count: rest.count)
    }

    /// TCG_PCClientPCREvent (PFP v1.06 §10.2.1): PCRIndex, EventType, SHA-1 digest, EventSize, Event.
    private static func readLegacyRecord(_ reader: inout LittleEndianReader, index: Int) throws(EventLogError) -> TCGPCREvent2 {
        let offset = reader.offset
        let pcrIndex = try reader.read(UInt32.self, "PCRIndex")
        let eventType = EventType(rawValue: try reader.read(UInt32.self, "EventType"))
        let digest = TCGDigest(algorithm: .sha1, bytes: Array(try reader.bytes(20, "SHA-1 digest")))
        return try readEventData(&reader, index: index, offset: offset, pcrIndex: pcrIndex, eventType: eventType, digests: [digest])
    }

    /// TCG_PCR_EVENT2 (PFP v1.06 §10.2.2): PCRIndex, EventType, TPML_DIGEST_VALUES, EventSize, Event.
    /// Each digest's size comes from the Spec ID header, so algorithms this library cannot compute
    /// are still skipped correctly.
    private static func readAgileRecord(_ reader: inout LittleEndianReader, index: Int, specID: SpecIDEvent) throws(EventLogError) -> TCGPCREvent2 {
        let offset = reader.offset
        let pcrIndex = try reader.read(UInt32.self, "PCRIndex")
        let eventType = EventType(rawValue: try reader.read(UInt32.self, "EventType"))
        let countOffset = reader.offset
        let count = try reader.read(UInt32.self, "TPML_DIGEST_VALUES.count")
        guard count > 0, count <= specID.algorithms.count else {
            throw .invalidDigestList(event: index, offset: countOffset, reason: "it holds \(count) digests but the log declares \(specID.algorithms.count) algorithms")
        }
        var digests: [TCGDigest] = []
        digests.reserveCapacity(Int(count))
        for _ in 0..<count {
            let algorithmOffset = reader.offset
            let algorithm = TPMAlgorithm(rawValue: try reader.read(UInt16.self, "TPMT_HA.hashAlg"))
            guard let size = specID.digestSize(of: algorithm) else {
                throw .undeclaredAlgorithm(event: index, offset: algorithmOffset, algorithm: algorithm.rawValue)
            }
            guard !digests.contains(where: { $0.algorithm == algorithm }) else {
                throw .invalidDigestList(event: index, offset: algorithmOffset, reason: "\(algorithm) appears twice")
            }
            digests.append(TCGDigest(algorithm: algorithm, bytes: Array(try reader.bytes(size, "TPMT_HA.digest"))))
        }
        return try readEventData(&reader, index: index, offset: offset, pcrIndex: pcrIndex, eventType: eventType, digests: digests)
    }

    private static func readEventData(
        _ reader: inout LittleEndianReader, index: Int, offset: Int, pcrIndex: UInt32, eventType: EventType, digests: [TCGDigest]
    ) throws(EventLogError) -> TCGPCREvent2 {
        let size = Int(try reader.read(UInt32.self, "EventSize"))
        let data = try reader.bytes(size, "event data")
        return TCGPCREvent2(
            index: index, offset: offset, pcrIndex: pcrIndex, eventType: eventType, digests: digests,
            data: Array(data), content: EventContent(eventType: eventType, data: data, event: index)
        )
    }

    /// Encodes the log back to its binary form: each record in the layout of its format (the
    /// first record of a crypto-agile log as a TCG_PCClientPCREvent), then the padding.
    /// For a parsed log the result is identical to the parsed bytes.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(events.reduce(padding?.count ?? 0) { $0 + $1.data.count + 16 + $1.digests.reduce(0) { $0 + $1.bytes.count + 2 } })
        for event in events {
            out.appendLittleEndian(event.pcrIndex)
            out.appendLittleEndian(event.eventType.rawValue)
            if format == .sha1 || event.index == 0 {
                out += event.digests.first?.bytes ?? []
            } else {
                out.appendLittleEndian(UInt32(event.digests.count))
                for digest in event.digests {
                    out.appendLittleEndian(digest.algorithm.rawValue)
                    out += digest.bytes
                }
            }
            out.appendLittleEndian(UInt32(event.data.count))
            out += event.data
        }
        if let padding {
            out += repeatElement(padding.byte, count: padding.count)
        }
        return out
    }
}
