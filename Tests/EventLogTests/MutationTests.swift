import EventLog
import Testing

/// Every variant derived from a real log must be refused with a typed error, replay to different
/// register values, or be reported as having a digest that contradicts its data.
@Suite("Mutations of real logs")
struct MutationTests {
    @Test("truncating inside any record or at a record boundary is refused or changes the replay", arguments: TestData.logNames)
    func truncation(name: String) throws {
        let (bytes, log, registers, original) = try Self.load(name)
        for event in log.events.dropFirst() {
            Self.expectDetected(Array(bytes[..<event.offset]), registers: registers, original: original, "\(name): cut before event \(event.index)")
        }
        for event in log.events {
            let end = Self.end(of: event, in: log)
            for cut in Set([event.offset + 1, event.offset + 4, event.offset + 9, event.offset + 13, (event.offset + end) / 2, end - 1])
            where cut > event.offset && cut < end {
                Self.expectDetected(Array(bytes[..<cut]), registers: registers, original: original, "\(name): cut at \(cut) in event \(event.index)")
            }
        }
    }

    @Test("flipping a header byte or a digest byte is refused or changes the replay", arguments: TestData.logNames)
    func flips(name: String) throws {
        let (bytes, log, registers, original) = try Self.load(name)
        let result = log.replay(registers: registers)
        for event in log.events where !result.skippedEvents.contains(event.index) {
            for offset in Self.flipOffsets(event, in: log, unsupported: result.unsupportedBanks) {
                var mutated = bytes
                mutated[offset] ^= 0xFF
                Self.expectDetected(mutated, registers: registers, original: original, "\(name): byte \(offset) of event \(event.index) flipped")
            }
        }
    }

    @Test("appending garbage is refused or changes the replay", arguments: TestData.logNames)
    func garbage(name: String) throws {
        let (bytes, _, registers, original) = try Self.load(name)
        var generator = SplitMix64(seed: UInt64(bytes.count))
        for length in [1, 3, 8, 17, 40, 64, 300] {
            var tail = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            tail[0] = 0x5A
            Self.expectDetected(bytes + tail, registers: registers, original: original, "\(name): \(length) garbage bytes appended")
        }
    }

    static func load(_ name: String) throws -> ([UInt8], EventLog, MeasurementRegisters, Outcome) {
        let bytes = try TestData.bytes(name)
        let registers = TestData.registers(name)
        return (bytes, try EventLog(bytes: bytes), registers, Outcome(bytes, registers: registers))
    }

    static func expectDetected(_ bytes: [UInt8], registers: MeasurementRegisters, original: Outcome, _ comment: String) {
        switch Outcome(bytes, registers: registers) {
        case .refused:
            return
        case .replayed(let values, let extended, let mismatches):
            guard case .replayed(let originalValues, let originalExtended, _) = original else {
                Issue.record("the original log was refused")
                return
            }
            #expect(values != originalValues || extended != originalExtended || !mismatches.isEmpty, Comment(rawValue: comment))
        }
    }

    /// The offset just past a record.
    static func end(of event: TCGPCREvent2, in log: EventLog) -> Int {
        event.index + 1 < log.events.count ? log.events[event.index + 1].offset : event.offset + headerSize(event, in: log) + event.data.count
    }

    static func headerSize(_ event: TCGPCREvent2, in log: EventLog) -> Int {
        log.format == .sha1 || event.index == 0 ? 32 : 16 + event.digests.reduce(0) { $0 + 2 + $1.bytes.count }
    }

    /// PCR index and event size bytes, the digest count and algorithm IDs, and the first and last
    /// byte of each digest of a bank that can be replayed. The event type is not covered by any
    /// digest, and the index of an EV_NO_ACTION event other than StartupLocality is never
    /// extended, so neither is mutated. Nor is the size of the last event of a padded log: growing
    /// it only swallows padding bytes, which no parser can tell from event data.
    static func flipOffsets(_ event: TCGPCREvent2, in log: EventLog, unsupported: [TPMAlgorithm]) -> [Int] {
        let start = event.offset
        var offsets: [Int] = []
        let startupLocality = if case .startupLocality = event.content { true } else { false }
        if event.eventType != .noAction || startupLocality || event.index == 0 {
            offsets.append(start)
        }
        if log.format == .sha1 || event.index == 0 {
            offsets += [start + 8, start + 27, start + 28, start + 29]
            if let specID = log.specID, event.index == 0 {
                // Spec ID Event03 (PFP v1.06 §10.4.5.1): numberOfAlgorithms at data offset 24, then
                // (algorithmId, digestSize) pairs, then vendorInfoSize.
                let table = start + 32 + 28
                offsets.append(table - 4)
                for entry in specID.algorithms.indices {
                    offsets += [table + 4 * entry, table + 4 * entry + 2]
                }
                offsets.append(table + 4 * specID.algorithms.count)
            }
            return offsets
        }
        offsets.append(start + 8)
        var position = start + 12
        for digest in event.digests {
            offsets.append(position)
            if !unsupported.contains(digest.algorithm) {
                offsets += [position + 2, position + 1 + digest.bytes.count]
            }
            position += 2 + digest.bytes.count
        }
        if log.padding == nil || event.index + 1 < log.events.count {
            offsets += [position, position + 1]
        }
        return offsets
    }
}

/// A small deterministic generator (SplitMix64) so that failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Random damage")
struct RandomDamageTests {
    @Test("random byte changes anywhere, event data included, never crash the parser, decoders, replay or summaries", arguments: TestData.logNames)
    func randomDamage(name: String) throws {
        let bytes = try TestData.bytes(name)
        let end = try EventLog(bytes: bytes).padding.map { bytes.count - $0.count } ?? bytes.count
        let expected = TestData.logsWithPCRs.contains(name) ? try TestData.expectedPCRs(name) : PCRValues()
        var generator = SplitMix64(seed: UInt64(end))
        for _ in 0..<60 {
            var mutated = bytes
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                mutated[Int.random(in: 0..<end, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            guard let log = try? EventLog(bytes: mutated) else { continue }
            let result = log.replay(registers: TestData.registers(name))
            #expect(result.compare(with: expected).entries.count == expected.banks.values.reduce(0) { $0 + $1.count })
            #expect(log.events.map(\.summary).count == log.events.count)
        }
    }
}
