import EventLog
import TDX
import TPM2

/// Step `event log`: a TCG event log (PC Client PFP §10) is trusted only as far as a verified
/// quote confirms it. Every PCR the log extends must be quoted and equal to the replayed value,
/// in every bank that both record; event types whose digest is the hash of their data must
/// match it (PFP §10.4.1), since claims such as the SecureBoot state are read from that data.
/// Claims are then read only from events in those PCRs, so an event outside them (an index the
/// TPM never extended, an EV_NO_ACTION) cannot add a claim. A TDX CC event log is held to the
/// same rules against the TD report's RTMRs.
enum EventLogVerification {
    static func verify(_ bytes: [UInt8]?, against quote: VerifiedQuote) throws(AttestationError) -> EventLogClaims? {
        guard let bytes else { return nil }
        let log = try parse(bytes)
        let replay = try replayed(log, registers: .tpmPCRs)
        let quoted = quote.pcrValues
        let banks = replay.values.banks.keys.filter { quoted[TPMAlgorithmID($0.rawValue)] != nil }.sorted()
        guard !banks.isEmpty else {
            throw .eventLogBanksNotQuoted(
                logged: log.algorithms.map(\.description), quoted: quoted.keys.sorted { $0.rawValue < $1.rawValue }.map(\.description))
        }
        var verifiedPCRs: Set<UInt32> = []
        for bank in banks {
            let quotedBank = quoted[TPMAlgorithmID(bank.rawValue), default: [:]]
            for (index, replayed) in replay.values.banks[bank, default: [:]].sorted(by: { $0.key < $1.key }) {
                guard let value = quotedBank[Int(index)] else { throw .eventLogPCRNotQuoted(bank: bank.description, index: Int(index)) }
                guard value == replayed else {
                    throw .eventLogReplayMismatch(bank: bank.description, index: Int(index), replayed: replayed, quoted: value)
                }
                verifiedPCRs.insert(index)
            }
        }
        let verified = verifiedEvents(of: log, registers: verifiedPCRs, banks: banks)
        return EventLogClaims(
            verifiedBanks: banks.map { TPMAlgorithmID($0.rawValue) }, verifiedPCRs: verifiedPCRs.sorted().map(Int.init),
            secureBoot: secureBoot(in: verified, register: 7),
            bootFiles: banks.contains(.sha256) ? bootFiles(in: verified) : nil)
    }

    /// A TDX CC event log (UEFI 2.10 §38, MR index 1…4 = RTMR[0…3]) against a verified TD report:
    /// replayed in its SHA-384 bank, the RTMRs' algorithm, every RTMR it extends must equal the
    /// report's. An RTMR it does not extend (RTMR[3] extended at run time, say) is reported as
    /// the TD report holds it, as a PCR a TPM log does not extend is.
    static func verifyCCEL(_ bytes: [UInt8]?, against body: TDReportBody) throws(AttestationError) -> TDXEventLogClaims? {
        guard let bytes else { return nil }
        let log = try parse(bytes)
        let replay = try replayed(log, registers: .tdxRTMRs)
        guard let bank = replay.values.banks[.sha384] else {
            throw .eventLogBanksNotQuoted(logged: log.algorithms.map(\.description), quoted: ["sha384"])
        }
        for (index, value) in bank.sorted(by: { $0.key < $1.key }) {
            let rtmr = Int(index) - 1
            guard value == body.rtmrs[rtmr] else { throw .eventLogRTMRMismatch(index: rtmr, replayed: value, reported: body.rtmrs[rtmr]) }
        }
        let verified = verifiedEvents(of: log, registers: Set(bank.keys), banks: [.sha384])
        // UEFI 2.10 §38.4.1: PCR 7's measurements go to MR index 1, RTMR[0].
        return TDXEventLogClaims(verifiedRTMRs: bank.keys.sorted().map { Int($0) - 1 }, secureBoot: secureBoot(in: verified, register: 1))
    }

    /// The events the replay vouched for: in a register that matched, with a digest in every
    /// matched bank (an event without one was skipped by that bank's replay, so nothing checked it).
    private static func verifiedEvents(of log: EventLog, registers: Set<UInt32>, banks: [TPMAlgorithm]) -> EventLog {
        var verified = log
        verified.events = log.events.filter { event in
            event.eventType != .noAction && registers.contains(event.pcrIndex) && banks.allSatisfy { event.digest($0) != nil }
        }
        return verified
    }

    /// The SecureBoot variable as measured into `register` (PFP §3.3.4.8: EV_EFI_VARIABLE_DRIVER_CONFIG
    /// in PCR 7), so an event extended into another register cannot stand in for it.
    private static func secureBoot(in log: EventLog, register: UInt32) -> Bool? {
        var measured = log
        measured.events = log.events.filter { $0.pcrIndex == register }
        return measured.secureBootReport().secureBoot
    }

    private static func parse(_ bytes: [UInt8]) throws(AttestationError) -> EventLog {
        do {
            return try EventLog(bytes: bytes)
        } catch {
            throw .eventLogMalformed(error)
        }
    }

    /// The log replayed; every event whose digest the PFP defines as the hash of its data must
    /// match it, since claims are read from that data.
    private static func replayed(_ log: EventLog, registers: MeasurementRegisters) throws(AttestationError) -> ReplayResult {
        let replay = log.replay(registers: registers)
        if let mismatch = replay.digestMismatches.first { throw .eventLogEventDataMismatch(mismatch.description) }
        return replay
    }

    /// The EV_EFI_BOOT_SERVICES_APPLICATION events (PFP §10.4.4) with their SHA-256 digests.
    private static func bootFiles(in log: EventLog) -> [BootFile] {
        log.events.compactMap { event in
            guard event.eventType == .efiBootServicesApplication, let digest = event.digest(.sha256) else { return nil }
            let path: String
            if case .imageLoad(let image) = event.content { path = image.devicePath.description } else { path = "" }
            return BootFile(event: event.index, sha256: digest, devicePath: path)
        }
    }
}
