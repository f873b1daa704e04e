/// Generates fuzz inputs for a TPM command parser (TPM 2.0 Part 3 §5 command frames): random
/// byte strings, and valid frames with bit flips, byte overwrites, interesting 16/32-bit
/// values (zero, all ones, sizes at their limits, handle-type bytes), insertions, deletions,
/// truncation, splicing, another command code (any of TPM_CC_FIRST...TPM_CC_LAST, so every
/// command's parser sees foreign parameters) and a switched session tag. Most mutations land
/// after the 10-byte header and most frames get their commandSize repaired, so that parsing
/// goes past the header. Deterministic for a given seed and corpus.
public struct FrameFuzzer: Sendable {
    public let corpus: [[UInt8]]
    private var random: SplitMix64

    public init(seed: UInt64, corpus: [[UInt8]]) {
        precondition(!corpus.isEmpty, "the fuzzer needs at least one valid frame")
        self.corpus = corpus
        random = SplitMix64(seed: seed)
    }

    static let headerSize = 10
    /// TPM_CC_FIRST and TPM_CC_LAST of the commands this engine knows (Part 2 §6.5.2).
    static let commandCodes: ClosedRange<UInt32> = 0x11F...0x193
    static let interesting16: [UInt16] = [0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x400, 0x401, 0x800, 0x801, 0x7FFF, 0x8000, 0xFFFF, 0x000B, 0x0023, 0x0001, 0x0010]
    static let interesting32: [UInt32] = [0, 1, 9, 10, 0x7FFF_FFFF, 0x8000_0000, 0x8000_0001, 0xFFFF_FFFF, 0x4000_0001, 0x4000_0007, 0x4000_0009, 0x4000_000B, 0x0200_0000, 0x0300_0000, 0x0150_0001, 0x8100_0001]

    /// The next input.
    public mutating func next() -> [UInt8] {
        if chance(1, in: 32) { return randomBytes(count: Int(random.next() % 80)) }
        var frame = corpus[Int(random.next() % UInt64(corpus.count))]
        for _ in 0...(random.next() % 4) { mutate(&frame) }
        if !chance(1, in: 16), frame.count >= 6 { setU32(&frame, at: 2, UInt32(frame.count)) }
        return frame
    }

    private mutating func chance(_ numerator: UInt64, in denominator: UInt64) -> Bool {
        random.next() % denominator < numerator
    }

    private mutating func randomBytes(count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    /// An offset at which `width` bytes fit, usually after the header; nil if none does.
    private mutating func offset(in frame: [UInt8], width: Int = 1) -> Int? {
        guard frame.count >= width else { return nil }
        let lowest = frame.count - width >= Self.headerSize && !chance(1, in: 8) ? Self.headerSize : 0
        return lowest + Int(random.next() % UInt64(frame.count - width - lowest + 1))
    }

    private mutating func mutate(_ frame: inout [UInt8]) {
        switch random.next() % 11 {
        case 0:
            if let at = offset(in: frame) { frame[at] ^= 1 << (random.next() % 8) }
        case 1:
            if let at = offset(in: frame) { frame[at] = UInt8(truncatingIfNeeded: random.next()) }
        case 2:
            if let at = offset(in: frame, width: 2) {
                let value = Self.interesting16[Int(random.next() % UInt64(Self.interesting16.count))]
                frame[at] = UInt8(value >> 8)
                frame[at + 1] = UInt8(truncatingIfNeeded: value)
            }
        case 3:
            if let at = offset(in: frame, width: 4) {
                setU32(&frame, at: at, Self.interesting32[Int(random.next() % UInt64(Self.interesting32.count))])
            }
        case 4:
            frame.insert(contentsOf: randomBytes(count: 1 + Int(random.next() % 16)), at: offset(in: frame, width: 0) ?? 0)
        case 5:
            if let start = offset(in: frame) { frame.removeSubrange(start..<min(frame.count, start + 1 + Int(random.next() % 16))) }
        case 6:
            frame.removeLast(Int(random.next() % UInt64(min(frame.count, 24) + 1)))
        case 7:
            let other = corpus[Int(random.next() % UInt64(corpus.count))]
            frame = Array(frame.prefix(offset(in: frame, width: 0) ?? 0)) + other.suffix(from: offset(in: other, width: 0) ?? 0)
        case 8 where frame.count >= Self.headerSize:
            let span = UInt64(Self.commandCodes.count)
            setU32(&frame, at: 6, Self.commandCodes.lowerBound + UInt32(random.next() % span))
        case 9 where frame.count >= 2:
            frame[1] ^= 0x03
        default:
            frame += randomBytes(count: 1 + Int(random.next() % 8))
        }
    }

    private func setU32(_ frame: inout [UInt8], at offset: Int, _ value: UInt32) {
        for i in 0..<4 { frame[offset + i] = UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32(i))) }
    }
}
