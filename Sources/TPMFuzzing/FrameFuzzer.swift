/// Generates fuzz inputs for a TPM command parser (TPM 2.0 Part 3 §5 command frames): random
/// byte strings, and valid frames with bit flips, byte overwrites, interesting 16/32-bit
/// values (zero, all ones, off-by-one sizes), insertions, deletions, truncation and splicing.
/// Half of the mutated frames get their commandSize repaired so that parsing goes past the
/// header. Deterministic for a given seed and corpus.
public struct FrameFuzzer: Sendable {
    public let corpus: [[UInt8]]
    private var random: SplitMix64

    public init(seed: UInt64, corpus: [[UInt8]]) {
        precondition(!corpus.isEmpty, "the fuzzer needs at least one valid frame")
        self.corpus = corpus
        random = SplitMix64(seed: seed)
    }

    static let interesting16: [UInt16] = [0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x400, 0x401, 0x7FFF, 0x8000, 0xFFFF]
    static let interesting32: [UInt32] = [0, 1, 9, 10, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x4000_0009, 0x8000_0000, 0x0300_0000, 0x0100_0000]

    /// The next input.
    public mutating func next() -> [UInt8] {
        if random.next() % 16 == 0 { return randomBytes(count: Int(random.next() % 80)) }
        var frame = corpus[Int(random.next() % UInt64(corpus.count))]
        for _ in 0...(random.next() % 4) { mutate(&frame) }
        if random.next() % 2 == 0, frame.count >= 6 { setU32(&frame, at: 2, UInt32(frame.count)) }
        return frame
    }

    private mutating func randomBytes(count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    private mutating func position(in frame: [UInt8]) -> Int {
        Int(random.next() % UInt64(max(frame.count, 1)))
    }

    private mutating func mutate(_ frame: inout [UInt8]) {
        switch random.next() % 9 {
        case 0 where !frame.isEmpty:
            frame[position(in: frame)] ^= 1 << (random.next() % 8)
        case 1 where !frame.isEmpty:
            frame[position(in: frame)] = UInt8(truncatingIfNeeded: random.next())
        case 2 where frame.count >= 2:
            let at = Int(random.next() % UInt64(frame.count - 1))
            let value = Self.interesting16[Int(random.next() % UInt64(Self.interesting16.count))]
            frame[at] = UInt8(value >> 8)
            frame[at + 1] = UInt8(truncatingIfNeeded: value)
        case 3 where frame.count >= 4:
            let at = Int(random.next() % UInt64(frame.count - 3))
            setU32(&frame, at: at, Self.interesting32[Int(random.next() % UInt64(Self.interesting32.count))])
        case 4:
            frame.insert(contentsOf: randomBytes(count: 1 + Int(random.next() % 16)), at: min(position(in: frame), frame.count))
        case 5 where !frame.isEmpty:
            let start = position(in: frame)
            frame.removeSubrange(start..<min(frame.count, start + 1 + Int(random.next() % 16)))
        case 6:
            frame.removeLast(Int(random.next() % UInt64(frame.count + 1)))
        case 7:
            let other = corpus[Int(random.next() % UInt64(corpus.count))]
            let cut = position(in: frame)
            frame = Array(frame.prefix(cut)) + other.suffix(from: min(position(in: other), other.count))
        default:
            frame += randomBytes(count: 1 + Int(random.next() % 8))
        }
    }

    private func setU32(_ frame: inout [UInt8], at offset: Int, _ value: UInt32) {
        for i in 0..<4 { frame[offset + i] = UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32(i))) }
    }
}
