import EventLog
import TPM2

/// Step `event log`: a TCG event log (PC Client PFP §10) is trusted only as far as a verified
/// quote confirms it. Every PCR the log extends must be quoted and equal to the replayed value,
/// in every bank that both record; event types whose digest is the hash of their data must
/// match it (PFP §10.4.1), since claims such as the SecureBoot state are read from that data.
/// Claims are then read only from events in those PCRs, so an event outside them (an index the
/// TPM never extended, an EV_NO_ACTION) cannot add a claim.
enum EventLogVerification {
    static func verify(_ bytes: [UInt8]?, against quote: VerifiedQuote) throws(AttestationError) -> EventLogClaims? {
        guard let bytes else { return nil }
        let log: EventLog
        do {
            log = try EventLog(bytes: bytes)
        } catch {
            throw .eventLogMalformed(error)
        }
        let replay = log.replay()
        if let mismatch = replay.digestMismatches.first { throw .eventLogEventDataMismatch(mismatch.description) }
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
        var verified = log
        verified.events = log.events.filter { $0.eventType != .noAction && verifiedPCRs.contains($0.pcrIndex) }
        return EventLogClaims(
            verifiedBanks: banks.map { TPMAlgorithmID($0.rawValue) }, verifiedPCRs: verifiedPCRs.sorted().map(Int.init),
            secureBoot: verified.secureBootReport().secureBoot,
            bootFiles: banks.contains(.sha256) ? bootFiles(in: verified) : nil)
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
