/// Building a crypto-agile log record by record, as firmware writes one while it measures a boot
/// (PFP v1.06 §10.2.2, §10.4.5.1); ``EventLog/encoded()`` then gives its bytes. Every record is
/// decoded as a parsed one would be, so a built log and the log parsed from its bytes agree.
extension SpecIDEvent {
    /// The Spec ID Event03 of a PC Client log recording `algorithms` (PFP v1.06 §10.4.5.1):
    /// platformClass 0 (client), spec version 2.0 errata 0, 64-bit UINTN, no vendor information.
    public init(algorithms: [TPMAlgorithm]) throws(EventLogError) {
        var sizes: [AlgorithmSize] = []
        for algorithm in algorithms {
            guard let size = algorithm.digestSize else {
                throw .invalidSpecIDEvent(offset: 0, reason: "\(algorithm) has no known digest size")
            }
            guard !sizes.contains(where: { $0.algorithm == algorithm }) else {
                throw .invalidSpecIDEvent(offset: 0, reason: "\(algorithm) is declared twice")
            }
            sizes.append(AlgorithmSize(algorithm: algorithm, digestSize: size))
        }
        guard !sizes.isEmpty else { throw .invalidSpecIDEvent(offset: 0, reason: "it declares no digest algorithm") }
        self.platformClass = 0
        self.specVersionMinor = 0
        self.specVersionMajor = 2
        self.specErrata = 0
        self.uintnSize = 2
        self.algorithms = sizes
        self.vendorInfo = []
    }

    /// The TCG_EfiSpecIDEventStruct: the inverse of parsing the first record's data.
    var bytes: [UInt8] {
        var out = Self.signature
        out.appendLittleEndian(platformClass)
        out += [specVersionMinor, specVersionMajor, specErrata, uintnSize]
        out.appendLittleEndian(UInt32(algorithms.count))
        for entry in algorithms {
            out.appendLittleEndian(entry.algorithm.rawValue)
            out.appendLittleEndian(UInt16(entry.digestSize))
        }
        out.append(UInt8(vendorInfo.count))
        return out + vendorInfo
    }
}

extension EventLog {
    /// An empty crypto-agile log: just the Spec ID record (an EV_NO_ACTION event in PCR 0 with a
    /// zero SHA-1 digest, PFP v1.06 §10.4.5.1) declaring `algorithms`.
    public init(algorithms: [TPMAlgorithm]) throws(EventLogError) {
        let specID = try SpecIDEvent(algorithms: algorithms)
        let header = TCGPCREvent2(
            index: 0, offset: 0, pcrIndex: 0, eventType: .noAction,
            digests: [TCGDigest(algorithm: .sha1, bytes: [UInt8](repeating: 0, count: 20))],
            data: specID.bytes, content: .specID(specID))
        self.format = .cryptoAgile
        self.specID = specID
        self.events = [header]
        self.padding = nil
    }

    /// Appends a TCG_PCR_EVENT2 record (PFP v1.06 §10.2.2) with one digest per algorithm the
    /// Spec ID declares, in the declared order.
    public mutating func append(pcrIndex: UInt32, eventType: EventType, digests: [TCGDigest], data: [UInt8]) throws(EventLogError) {
        let index = events.count
        let offset = events.last.map { $0.offset + Self.recordSize($0) } ?? 0
        guard let specID, format == .cryptoAgile else {
            throw .invalidDigestList(event: index, offset: offset, reason: "records are appended only to a crypto-agile log")
        }
        guard digests.map(\.algorithm) == specID.algorithms.map(\.algorithm),
              zip(digests, specID.algorithms).allSatisfy({ $0.bytes.count == $1.digestSize }) else {
            throw .invalidDigestList(
                event: index, offset: offset,
                reason: "it must hold one digest of the declared size for each of \(specID.algorithms.map(\.algorithm.description)), in that order")
        }
        events.append(TCGPCREvent2(
            index: index, offset: offset, pcrIndex: pcrIndex, eventType: eventType, digests: digests, data: data,
            content: EventContent(eventType: eventType, data: data[...], event: index)))
    }

    /// Appends a record whose digest in every bank is the hash of `measured` (by default the event
    /// data itself), as firmware logs what it extends.
    public mutating func appendMeasurement(pcrIndex: UInt32, eventType: EventType, data: [UInt8], measured: [UInt8]? = nil) throws(EventLogError) {
        var digests: [TCGDigest] = []
        for algorithm in algorithms {
            guard let digest = algorithm.hash(measured ?? data) else {
                throw .invalidDigestList(event: events.count, offset: 0, reason: "\(algorithm) cannot be computed")
            }
            digests.append(TCGDigest(algorithm: algorithm, bytes: digest))
        }
        try append(pcrIndex: pcrIndex, eventType: eventType, digests: digests, data: data)
    }

    /// The size ``encoded()`` gives a record.
    private static func recordSize(_ event: TCGPCREvent2) -> Int {
        let digests = event.index == 0 ? 20 : 4 + event.digests.reduce(0) { $0 + 2 + $1.bytes.count }
        return 8 + digests + 4 + event.data.count
    }
}
