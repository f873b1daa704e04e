/// The TCG_EfiSpecIDEventStruct carried by the first record of a crypto-agile log
/// (PFP v1.06 §10.4.5.1, signature "Spec ID Event03"): the list of digest algorithms, with their
/// sizes, that every following TCG_PCR_EVENT2 uses.
public struct SpecIDEvent: Hashable, Sendable {
    /// One TCG_EfiSpecIdEventAlgorithmSize entry.
    public struct AlgorithmSize: Hashable, Sendable {
        public var algorithm: TPMAlgorithm
        public var digestSize: Int
    }

    public var platformClass: UInt32
    public var specVersionMinor: UInt8
    public var specVersionMajor: UInt8
    public var specErrata: UInt8
    /// 1 = UINTN fields are 32-bit, 2 = 64-bit.
    public var uintnSize: UInt8
    public var algorithms: [AlgorithmSize]
    public var vendorInfo: [UInt8]

    /// "Spec ID Event03" followed by a NUL (PFP v1.06 §10.4.5.1).
    static let signature = Array("Spec ID Event03\0".utf8)

    /// The declared digest size of `algorithm`, or nil if it is not declared.
    public func digestSize(of algorithm: TPMAlgorithm) -> Int? {
        algorithms.first { $0.algorithm == algorithm }?.digestSize
    }

    /// Decodes the event data of the first record, which must be exactly one TCG_EfiSpecIDEventStruct.
    init(_ data: ArraySlice<UInt8>) throws(EventLogError) {
        func invalid(_ reason: String) -> EventLogError { .invalidSpecIDEvent(offset: data.startIndex, reason: reason) }
        var reader = LittleEndianReader(data, event: 0)
        guard Array(try reader.bytes(16, "signature")) == SpecIDEvent.signature else {
            throw invalid("the signature is not \"Spec ID Event03\"")
        }
        platformClass = try reader.read(UInt32.self, "platformClass")
        specVersionMinor = try reader.read(UInt8.self, "specVersionMinor")
        specVersionMajor = try reader.read(UInt8.self, "specVersionMajor")
        specErrata = try reader.read(UInt8.self, "specErrata")
        uintnSize = try reader.read(UInt8.self, "uintnSize")
        let count = try reader.count("numberOfAlgorithms", unit: 4, width: 4) / 4
        guard count > 0 else { throw invalid("it declares no digest algorithm") }
        var algorithms: [AlgorithmSize] = []
        for _ in 0..<count {
            let algorithm = TPMAlgorithm(rawValue: try reader.read(UInt16.self, "algorithmId"))
            let size = Int(try reader.read(UInt16.self, "digestSize"))
            if let expected = algorithm.digestSize, expected != size {
                throw invalid("\(algorithm) is declared with \(size)-byte digests instead of \(expected)")
            }
            guard size > 0 else { throw invalid("\(algorithm) is declared with an empty digest") }
            guard !algorithms.contains(where: { $0.algorithm == algorithm }) else {
                throw invalid("\(algorithm) is declared twice")
            }
            algorithms.append(AlgorithmSize(algorithm: algorithm, digestSize: size))
        }
        self.algorithms = algorithms
        let vendorInfoSize = Int(try reader.read(UInt8.self, "vendorInfoSize"))
        vendorInfo = Array(try reader.bytes(vendorInfoSize, "vendorInfo"))
        guard reader.isAtEnd else { throw invalid("\(reader.remaining) bytes follow the vendor info") }
    }
}
