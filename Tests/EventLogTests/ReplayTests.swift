import Crypto
import EventLog
import Foundation
import Testing

@Suite("Replay")
struct ReplayTests {
    @Test("every log with a PCR file replays to exactly the values the README says it does", arguments: TestData.logsWithPCRs)
    func replayMatchesPCRFile(name: String) throws {
        let facts = TestData.readme(name)
        let log = try EventLog(bytes: try TestData.bytes(name))
        let result = log.replay(registers: TestData.registers(name))
        let comparison = result.compare(with: try TestData.expectedPCRs(name))
        #expect(comparison.firstMismatch == nil)
        #expect(!facts.matching.isEmpty)
        for entry in comparison.entries {
            let bank = entry.bank.description
            if facts.matching[bank]?.contains(entry.index) == true {
                #expect(entry.status == .match, "\(bank)[\(entry.index)]")
            } else if facts.notReplayable[bank]?.contains(entry.index) == true {
                #expect(entry.status == .notExtended(isResetValue: false), "\(bank)[\(entry.index)]")
            } else if facts.resetValues[bank]?.contains(entry.index) == true {
                #expect(entry.status == .notExtended(isResetValue: true), "\(bank)[\(entry.index)]")
            } else {
                // The README lists only the banks its checker replayed; every other register
                // in the file must still be reproduced or be an untouched reset value.
                #expect(entry.status == .match || entry.status == .notExtended(isResetValue: true), "\(bank)[\(entry.index)]")
            }
        }
        for (bank, indices) in facts.matching {
            for index in indices {
                #expect(comparison.entries.contains { $0.bank.description == bank && $0.index == index && $0.status == .match },
                        "\(bank)[\(index)] is not reproduced")
            }
        }
    }

    @Test("no real log has an event whose digest contradicts its data", arguments: TestData.logNames)
    func realDigestsMatchData(name: String) throws {
        let result = try EventLog(bytes: try TestData.bytes(name)).replay(registers: TestData.registers(name))
        #expect(result.digestMismatches.isEmpty)
    }

    @Test("PCR 0 does not reproduce when the StartupLocality byte is changed from 3 to 0")
    func startupLocalityMatters() throws {
        let name = "laptop-glinux-no-secureboot.bin"
        var bytes = try TestData.bytes(name)
        let log = try EventLog(bytes: bytes)
        let event = try #require(log.events.first { if case .startupLocality = $0.content { true } else { false } })
        let dataStart = try #require(findSubsequence(Array("StartupLocality\0".utf8), in: bytes, from: event.offset))
        #expect(bytes[dataStart + 16] == 3)
        bytes[dataStart + 16] = 0
        let comparison = try EventLog(bytes: bytes).replay().compare(with: try TestData.expectedPCRs(name))
        #expect(comparison.firstMismatch?.index == 0)
    }

    @Test("MR indices name the TDX registers as the README's convention says (1 = RTMR[0], 0 = MRTD)")
    func tdxRegisterNames() {
        #expect((0...4).map { MeasurementRegisters.tdxRTMRs.name(of: $0) } == ["MRTD", "RTMR[0]", "RTMR[1]", "RTMR[2]", "RTMR[3]"])
        #expect(MeasurementRegisters.tpmPCRs.name(of: 7) == "PCR 7")
    }

    @Test("the SM3 log parses and its bank is reported as unsupported instead of replayed")
    func sm3IsUnsupported() throws {
        let log = try EventLog(bytes: try TestData.bytes("hygon-csv-ccel-sm3.bin"))
        #expect(log.algorithms == [.sm3_256])
        let result = log.replay(registers: .tdxRTMRs)
        #expect(result.unsupportedBanks == [.sm3_256])
        #expect(result.values.banks.isEmpty)
        let expected = PCRValues(banks: [.sm3_256: [1: [UInt8](repeating: 0, count: 32)]])
        #expect(result.compare(with: expected).entries.map(\.status) == [.bankUnsupported])
    }

    @Test("a bank the log does not record is reported as absent")
    func absentBank() throws {
        let result = try EventLog(bytes: try TestData.bytes("intel-nuc-sha1-format.bin")).replay()
        let expected = PCRValues(banks: [.sha256: [0: [UInt8](repeating: 0, count: 32)]])
        #expect(result.compare(with: expected).entries.map(\.status) == [.bankAbsent])
    }

    @Test("a changed PCR value is reported as the first mismatch with index, bank and both values")
    func reportsFirstMismatch() throws {
        let name = "gce-cos85-amd-sev.bin"
        var expected = try TestData.expectedPCRs(name)
        let original = try #require(expected[.sha256, 4])
        var changed = original
        changed[0] ^= 1
        expected.banks[.sha256]?[4] = changed
        let mismatch = try #require(try EventLog(bytes: try TestData.bytes(name)).replay().compare(with: expected).firstMismatch)
        #expect(mismatch.index == 4)
        #expect(mismatch.bank == .sha256)
        #expect(mismatch.expected == changed)
        #expect(mismatch.actual == original)
    }
}

@Suite("Hand-built logs (PFP v1.06 §10.2 layouts)")
struct HandBuiltLogTests {
    /// A Spec ID Event03 record (PFP v1.06 §10.4.5.1) declaring `algorithms` (id, size).
    static func specIDRecord(_ algorithms: [(UInt16, UInt16)], pcrIndex: UInt32 = 0) -> [UInt8] {
        var data = Array("Spec ID Event03\0".utf8)
        data += le(UInt32(0)) + [0, 2, 0, 2] + le(UInt32(algorithms.count))
        for (id, size) in algorithms { data += le(id) + le(size) }
        data += [0]
        return le(pcrIndex) + le(UInt32(3)) + [UInt8](repeating: 0, count: 20) + le(UInt32(data.count)) + data
    }

    /// A TCG_PCR_EVENT2 record (PFP v1.06 §10.2.2).
    static func record(pcr: UInt32, type: UInt32, digests: [(UInt16, [UInt8])], data: [UInt8]) -> [UInt8] {
        var out = le(pcr) + le(type) + le(UInt32(digests.count))
        for (id, digest) in digests { out += le(id) + digest }
        return out + le(UInt32(data.count)) + data
    }

    static func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    @Test("a digest of an algorithm the library does not know is skipped by its declared size")
    func unknownAlgorithmIsSkipped() throws {
        let separator: [UInt8] = [0, 0, 0, 0]
        let sha256 = Array(SHA256.hash(data: separator))
        let bytes = Self.specIDRecord([(0x00FF, 7), (0x000B, 32)])
            + Self.record(pcr: 7, type: 4, digests: [(0x00FF, [1, 2, 3, 4, 5, 6, 7]), (0x000B, sha256)], data: separator)
        let log = try EventLog(bytes: bytes)
        #expect(log.events.count == 2)
        #expect(log.events[1].digest(TPMAlgorithm(rawValue: 0x00FF)) == [1, 2, 3, 4, 5, 6, 7])
        let result = log.replay()
        #expect(result.unsupportedBanks == [TPMAlgorithm(rawValue: 0x00FF)])
        // TPM 2.0 Part 1 §17.2 extend: new = H(old || digest), old = 32 zero bytes.
        let expected = Array(SHA256.hash(data: [UInt8](repeating: 0, count: 32) + sha256))
        #expect(result.values[.sha256, 7] == expected)
        #expect(result.digestMismatches.isEmpty)
        #expect(log.encoded() == bytes)
    }

    @Test("PCR 0 starts at 00…03 after a StartupLocality event with locality 3 (PFP v1.06 §10.4.5.3)")
    func startupLocalityThree() throws {
        let digest = [UInt8](repeating: 0xAB, count: 32)
        let bytes = Self.specIDRecord([(0x000B, 32)])
            + Self.record(pcr: 0, type: 3, digests: [(0x000B, [UInt8](repeating: 0, count: 32))], data: Array("StartupLocality\0".utf8) + [3])
            + Self.record(pcr: 0, type: 0x8000_0008, digests: [(0x000B, digest)], data: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        let result = try EventLog(bytes: bytes).replay()
        let initial = [UInt8](repeating: 0, count: 31) + [3]
        #expect(result.values[.sha256, 0] == Array(SHA256.hash(data: initial + digest)))
    }

    @Test("an EV_SEPARATOR whose digest is not the hash of its data is reported")
    func separatorDigestMismatch() throws {
        let wrong = [UInt8](repeating: 0x11, count: 32)
        let bytes = Self.specIDRecord([(0x000B, 32)])
            + Self.record(pcr: 4, type: 4, digests: [(0x000B, wrong)], data: [0, 0, 0, 0])
        let mismatches = try EventLog(bytes: bytes).replay().digestMismatches
        #expect(mismatches.count == 1)
        let mismatch = try #require(mismatches.first)
        #expect(mismatch.event == 1 && mismatch.eventType == .separator && mismatch.pcrIndex == 4 && mismatch.algorithm == .sha256)
        #expect(mismatch.logged == wrong)
        #expect(mismatch.expected == Array(SHA256.hash(data: [0, 0, 0, 0])))
    }

    @Test("only event types whose digest the spec defines as the hash of their data are checked")
    func onlyDataDigestTypesAreChecked() throws {
        let arbitrary = [UInt8](repeating: 0x22, count: 32)
        // Boot Guard firmware (e.g. go-tpm-tools' gdc-host.bin) logs an EV_S_CRTM_VERSION whose
        // digest is not the hash of the version string; the TPM still holds the extended value.
        let version: [UInt8] = "2.3.5".utf16.flatMap { [UInt8(truncatingIfNeeded: $0), 0] } + [0, 0]
        let bytes = Self.specIDRecord([(0x000B, 32)])
            + Self.record(pcr: 0, type: 0x8, digests: [(0x000B, arbitrary)], data: version)
            + Self.record(pcr: 8, type: 0xD, digests: [(0x000B, arbitrary)], data: Array("grub_cmd: linux /vmlinuz\0".utf8))
        let mismatches = try EventLog(bytes: bytes).replay().digestMismatches
        #expect(mismatches.map(\.event) == [2])
        #expect(mismatches.first?.expected == Array(SHA256.hash(data: Array("linux /vmlinuz".utf8))))
    }

    @Test("an EV_EVENT_TAG that is a bare string (older TDVF) decodes as text, a tagged event as a tag")
    func eventTagForms() throws {
        let zero = [UInt8](repeating: 0, count: 32)
        let tagged = Self.le(UInt32(0x8F3B_22ED)) + Self.le(UInt32(3)) + [1, 2, 3]
        let bytes = Self.specIDRecord([(0x000B, 32)])
            + Self.record(pcr: 2, type: 6, digests: [(0x000B, zero)], data: Array("LOADED_IMAGE::LoadOptions\0".utf8))
            + Self.record(pcr: 2, type: 6, digests: [(0x000B, zero)], data: tagged)
        let events = try EventLog(bytes: bytes).events
        guard case .text("LOADED_IMAGE::LoadOptions") = events[1].content else {
            Issue.record("bare string: \(events[1].content)")
            return
        }
        guard case .taggedEvent(let tag) = events[2].content else {
            Issue.record("tagged event: \(events[2].content)")
            return
        }
        #expect(tag.taggedEventID == 0x8F3B_22ED && tag.taggedEventData == [1, 2, 3])
    }

    @Test("an absurd event size is refused with the event index and the offset of the size field")
    func absurdEventSize() throws {
        let header = Self.specIDRecord([(0x000B, 32)])
        var event = Self.record(pcr: 4, type: 4, digests: [(0x000B, [UInt8](repeating: 0, count: 32))], data: [0, 0, 0, 0])
        let sizeOffset = 4 + 4 + 4 + 2 + 32
        event.replaceSubrange(sizeOffset..<sizeOffset + 4, with: Self.le(UInt32.max))
        #expect(throws: EventLogError.truncated(event: 1, offset: header.count + sizeOffset + 4, field: "event data", needed: Int(UInt32.max), available: 4)) {
            try EventLog(bytes: header + event)
        }
    }

    @Test("a digest for an algorithm the Spec ID event does not declare is refused")
    func undeclaredAlgorithm() throws {
        let header = Self.specIDRecord([(0x000B, 32)])
        let event = Self.record(pcr: 4, type: 4, digests: [(0x0004, [UInt8](repeating: 0, count: 20))], data: [0, 0, 0, 0])
        #expect(throws: EventLogError.undeclaredAlgorithm(event: 1, offset: header.count + 12, algorithm: 4)) {
            try EventLog(bytes: header + event)
        }
    }

    @Test("a Spec ID event declaring SHA-256 with a 20-byte digest is refused")
    func wrongDeclaredSize() throws {
        #expect(throws: EventLogError.self) { try EventLog(bytes: Self.specIDRecord([(0x000B, 20)])) }
    }

    @Test("padding after the last event is kept and written back; garbage after padding is refused")
    func padding() throws {
        let log = Self.specIDRecord([(0x000B, 32)])
            + Self.record(pcr: 1, type: 4, digests: [(0x000B, Array(SHA256.hash(data: [0, 0, 0, 0])))], data: [0, 0, 0, 0])
        let padded = log + [UInt8](repeating: 0xFF, count: 100)
        let parsed = try EventLog(bytes: padded)
        #expect(parsed.padding == EventLog.Padding(byte: 0xFF, count: 100))
        #expect(parsed.encoded() == padded)
        #expect(throws: EventLogError.self) { try EventLog(bytes: padded + [0x01]) }
    }

    @Test("an empty buffer, or one holding only padding, is refused", arguments: [[], [UInt8](repeating: 0, count: 64), [UInt8](repeating: 0xFF, count: 64)])
    func empty(bytes: [UInt8]) {
        #expect(throws: EventLogError.empty) { try EventLog(bytes: bytes) }
    }
}

func findSubsequence(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
    guard haystack.count >= needle.count else { return nil }
    return (start...(haystack.count - needle.count)).first { haystack[$0..<$0 + needle.count].elementsEqual(needle) }
}
