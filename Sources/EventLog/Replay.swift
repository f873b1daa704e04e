import Foundation

/// What the log's PCRIndex field names: TPM PCRs, or for a TDX CCEL (UEFI 2.10 §38,
/// EFI_CC_MEASUREMENT_PROTOCOL, and the TDX mapping) measurement registers, where MR index 1…4
/// are RTMR[0…3] and 0 is MRTD.
public enum MeasurementRegisters: Sendable {
    /// TPM PCRs 0–23. PCR 0 starts at the locality of TPM2_Startup (PFP v1.06 §10.4.5.3),
    /// the DRTM PCRs 17–22 start at all-0xFF (PC Client Platform TPM Profile PCR attributes), the
    /// others at zero.
    case tpmPCRs
    /// TDX RTMRs, addressed by MR index 1…4; all start at zero. MR index 0 (MRTD) is measured by
    /// the TDX module, never from the log.
    case tdxRTMRs

    /// The register an index names: `PCR 4`, or for TDX `RTMR[0]` (MR index 1) and `MRTD` (0).
    public func name(of index: UInt32) -> String {
        switch (self, index) {
        case (.tpmPCRs, _): "PCR \(index)"
        case (.tdxRTMRs, 0): "MRTD"
        case (.tdxRTMRs, 1...4): "RTMR[\(index - 1)]"
        case (.tdxRTMRs, _): "MR \(index)"
        }
    }

    /// Whether an event with this index is extended into a register during replay.
    func isReplayable(_ index: UInt32) -> Bool {
        self == .tpmPCRs ? index <= 23 : (1...4).contains(index)
    }

    /// The value of a register before anything is extended.
    func resetValue(_ index: UInt32, size: Int) -> [UInt8] {
        self == .tpmPCRs && (17...22).contains(index) ? [UInt8](repeating: 0xFF, count: size) : [UInt8](repeating: 0, count: size)
    }
}

/// Register values per bank: read from a `*.pcrs.json` file or computed by `EventLog.replay`.
public struct PCRValues: Sendable, Equatable {
    public var banks: [TPMAlgorithm: [UInt32: [UInt8]]]

    public init(banks: [TPMAlgorithm: [UInt32: [UInt8]]] = [:]) {
        self.banks = banks
    }

    /// Parses `{"<alg>": {"<index>": "<hex>"}}` with alg one of sha1, sha256, sha384, sha512.
    public init(json: [UInt8]) throws(EventLogError) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json)), let banks = object as? [String: Any] else {
            throw .invalidPCRFile(reason: "it is not a JSON object")
        }
        self.banks = [:]
        for (name, entries) in banks {
            guard let algorithm = TPMAlgorithm(name: name), let size = algorithm.digestSize else {
                throw .invalidPCRFile(reason: "unknown bank \"\(name)\"")
            }
            guard let entries = entries as? [String: String] else {
                throw .invalidPCRFile(reason: "bank \(name) is not an object of hex strings")
            }
            for (key, hex) in entries {
                guard let index = UInt32(key) else { throw .invalidPCRFile(reason: "\"\(key)\" in bank \(name) is not a register index") }
                guard let value = [UInt8](hex: hex), value.count == size else {
                    throw .invalidPCRFile(reason: "\(name)[\(key)] is not a \(size)-byte hex value")
                }
                self.banks[algorithm, default: [:]][index] = value
            }
        }
    }

    public subscript(bank: TPMAlgorithm, index: UInt32) -> [UInt8]? {
        banks[bank]?[index]
    }
}

/// An event whose digest is not the digest of its data, for an event type whose digest the spec
/// defines as a hash of the event data (PFP v1.06 §10.4.1), or an EV_NO_ACTION event whose digest
/// is not zero (§10.4.5).
public struct EventDigestMismatch: Sendable, Equatable, CustomStringConvertible {
    public var event: Int
    public var eventType: EventType
    public var pcrIndex: UInt32
    public var algorithm: TPMAlgorithm
    public var logged: [UInt8]
    public var expected: [UInt8]

    public var description: String {
        "Event \(event) (\(eventType), index \(pcrIndex)) has \(algorithm) digest \(logged.hexString) but its data hashes to \(expected.hexString)."
    }
}

/// The outcome of replaying a log: each extended register per bank, the banks that could not be
/// computed, and events whose digest contradicts their data.
public struct ReplayResult: Sendable {
    public var registers: MeasurementRegisters
    /// The final value of every register that at least one event extends.
    public var values: PCRValues
    /// Banks the log records that this library cannot compute (SM3_256, unknown algorithms).
    public var unsupportedBanks: [TPMAlgorithm]
    public var digestMismatches: [EventDigestMismatch]
    /// Events with an index that is never extended (e.g. Windows' 0xFFFFFFFF, or MR index 0).
    public var skippedEvents: [Int]
    /// The events extended into each register, in log order (the same for every bank).
    public var extendedEvents: [UInt32: [Int]]

    /// Compares with expected values, register by register, ordered by index then bank.
    public func compare(with expected: PCRValues) -> PCRComparison {
        var entries: [PCRComparison.Entry] = []
        for (bank, expectedValues) in expected.banks {
            for (index, value) in expectedValues {
                let status: PCRComparison.Status
                let actual = values[bank, index]
                if unsupportedBanks.contains(bank) {
                    status = .bankUnsupported
                } else if values.banks[bank] == nil {
                    status = .bankAbsent
                } else if let actual {
                    status = actual == value ? .match : .mismatch
                } else {
                    status = .notExtended(isResetValue: value == registers.resetValue(index, size: value.count))
                }
                entries.append(PCRComparison.Entry(bank: bank, index: index, expected: value, actual: actual, status: status))
            }
        }
        entries.sort { ($0.index, $0.bank) < ($1.index, $1.bank) }
        return PCRComparison(entries: entries)
    }
}

/// A register-by-register comparison of replayed values against expected ones.
public struct PCRComparison: Sendable {
    /// How one expected register value relates to the replay.
    public enum Status: Sendable, Equatable {
        /// The log reproduces the value.
        case match
        /// The log extends the register but reproduces a different value.
        case mismatch
        /// The log never extends the register; the expected value is (or is not) its reset value,
        /// so a non-reset value cannot be reproduced from this log.
        case notExtended(isResetValue: Bool)
        /// The log does not record this bank.
        case bankAbsent
        /// The log records this bank but this library cannot compute its hash (SM3_256).
        case bankUnsupported
    }

    /// One expected register value and what replay produced.
    public struct Entry: Sendable {
        public var bank: TPMAlgorithm
        public var index: UInt32
        public var expected: [UInt8]
        public var actual: [UInt8]?
        public var status: Status
    }

    public var entries: [Entry]

    /// The first register (lowest index, then bank) that the log extends but does not reproduce.
    public var firstMismatch: Entry? { entries.first { $0.status == .mismatch } }
}

extension EventLog {
    /// Replays the log: every register starts at its reset value (PCR 0 at the startup locality
    /// from the StartupLocality event, or 4 when an H-CRTM event is logged) and each event extends
    /// its register with new = H(old || digest), bank by bank. EV_NO_ACTION events are not extended
    /// (PFP v1.06 §10.4.5). Also checks the digests of events whose digest is defined as the hash
    /// of their data.
    public func replay(registers: MeasurementRegisters = .tpmPCRs) -> ReplayResult {
        var result = ReplayResult(registers: registers, values: PCRValues(), unsupportedBanks: [], digestMismatches: [], skippedEvents: [], extendedEvents: [:])
        let banks = specID?.algorithms.map { ($0.algorithm, $0.digestSize) } ?? [(.sha1, 20)]
        result.unsupportedBanks = banks.map(\.0).filter { !$0.isSupported }
        let locality = registers == .tpmPCRs ? startupLocality : 0
        for (bank, size) in banks where bank.isSupported {
            var values: [UInt32: [UInt8]] = [:]
            for event in events where event.eventType != .noAction {
                guard registers.isReplayable(event.pcrIndex) else { continue }
                guard let digest = event.digest(bank) else { continue }
                var current = values[event.pcrIndex] ?? initialValue(event.pcrIndex, size: size, registers: registers, locality: locality)
                current += digest
                values[event.pcrIndex] = bank.hash(current)
            }
            result.values.banks[bank] = values
        }
        for event in events where event.eventType != .noAction {
            if registers.isReplayable(event.pcrIndex) {
                result.extendedEvents[event.pcrIndex, default: []].append(event.index)
            } else {
                result.skippedEvents.append(event.index)
            }
        }
        result.digestMismatches = events.dropFirst(format == .cryptoAgile ? 1 : 0).flatMap(\.digestMismatches)
        return result
    }

    /// The locality of TPM2_Startup: from a StartupLocality event in PCR 0, else 4 if PCR 0 has an
    /// EV_EFI_HCRTM_EVENT (the H-CRTM sequence starts PCR 0 at locality 4), else 0.
    public var startupLocality: UInt8 {
        for event in events where event.pcrIndex == 0 {
            if case .startupLocality(let locality) = event.content { return locality }
        }
        return events.contains { $0.pcrIndex == 0 && $0.eventType == .efiHCRTMEvent } ? 4 : 0
    }

    private func initialValue(_ index: UInt32, size: Int, registers: MeasurementRegisters, locality: UInt8) -> [UInt8] {
        var value = registers.resetValue(index, size: size)
        if index == 0, registers == .tpmPCRs {
            value[size - 1] = locality
        }
        return value
    }
}

extension TCGPCREvent2 {
    /// GRUB logs each command and the kernel command line as EV_IPL text with these prefixes and
    /// measures the text after the prefix, without the terminating NUL.
    private static let grubPrefixes = [Array("grub_cmd: ".utf8), Array("kernel_cmdline: ".utf8)]

    /// The data whose hash the digest must be, as alternatives; empty if the event type does not
    /// define its digest as a hash of its data.
    private var measuredData: [ArraySlice<UInt8>] {
        switch eventType {
        case .separator, .efiAction, .efiVariableDriverConfig, .efiVariableBoot2, .efiGPTEvent:
            return [data[...]]
        case .efiVariableBoot:
            // EDK2 measures only VariableData for Boot#### / BootOrder; PFP v1.06 asks for the whole structure.
            guard case .variable(let variable) = content else { return [data[...]] }
            return [data[...], variable.variableData[...]]
        case .ipl:
            guard let prefix = TCGPCREvent2.grubPrefixes.first(where: { data.starts(with: $0) }) else { return [] }
            var text = data.dropFirst(prefix.count)
            while text.last == 0 { text = text.dropLast() }
            return [text]
        default:
            return []
        }
    }

    /// The digests that contradict the event data.
    var digestMismatches: [EventDigestMismatch] {
        if eventType == .noAction {
            return digests.filter { !$0.bytes.allSatisfy { $0 == 0 } }.map {
                EventDigestMismatch(event: index, eventType: eventType, pcrIndex: pcrIndex, algorithm: $0.algorithm,
                                    logged: $0.bytes, expected: [UInt8](repeating: 0, count: $0.bytes.count))
            }
        }
        let candidates = measuredData
        guard !candidates.isEmpty else { return [] }
        return digests.compactMap { digest in
            let hashes = candidates.compactMap { digest.algorithm.hash($0) }
            guard let first = hashes.first, !hashes.contains(digest.bytes) else { return nil }
            return EventDigestMismatch(event: index, eventType: eventType, pcrIndex: pcrIndex, algorithm: digest.algorithm,
                                       logged: digest.bytes, expected: first)
        }
    }
}
