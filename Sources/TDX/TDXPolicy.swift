import EventLog
import EvidenceCore

/// Reference values a verified quote is appraised against: what the relying party accepts,
/// separate from ``TDXVerifier``'s question of whether the quote is genuine. Field meanings follow
/// the TD report body (Intel TDX DCAP Quoting Library API, Appendix A.3.2) and TDATTRIBUTES (Intel
/// TDX Module ABI specification). Every value left nil is not checked; decodes from JSON with hex
/// strings for bytes, and refuses unknown keys.
public struct TDXPolicy: Sendable, Hashable, Codable {
    /// Accept TDs whose TDATTRIBUTES.DEBUG (bit 0) is set. Default: forbidden.
    public var allowDebug: Bool = false
    /// MRTD must be one of these.
    public var mrTD: [TDXHexBytes]?
    /// RTMR[0] must be one of these.
    public var rtmr0: [TDXHexBytes]?
    /// RTMR[1] must be one of these.
    public var rtmr1: [TDXHexBytes]?
    /// RTMR[2] must be one of these.
    public var rtmr2: [TDXHexBytes]?
    /// RTMR[3] must be one of these.
    public var rtmr3: [TDXHexBytes]?
    /// MRCONFIGID must be one of these.
    public var mrConfigID: [TDXHexBytes]?
    /// MROWNER must be one of these.
    public var mrOwner: [TDXHexBytes]?
    /// MROWNERCONFIG must be one of these.
    public var mrOwnerConfig: [TDXHexBytes]?
    /// The TCB status must be one of these; a quote verified without TCB Info fails this rule.
    public var acceptedTCBStatuses: [TCBStatus]?
    /// REPORTDATA must equal this (typically the nonce or key hash the verifier chose); shorter
    /// values are compared with REPORTDATA's first bytes and the rest must be zero.
    public var reportData: TDXHexBytes?

    /// Creates a policy with the defaults: debug forbidden, nothing else checked.
    public init() {}

    /// Decodes a policy; absent keys keep their defaults and unknown keys are an error.
    public init(from decoder: any Decoder) throws {
        try requireKnownKeys(decoder, CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.allowDebug = try container.decodeIfPresent(Bool.self, forKey: .allowDebug) ?? false
        self.mrTD = try container.decodeIfPresent([TDXHexBytes].self, forKey: .mrTD)
        self.rtmr0 = try container.decodeIfPresent([TDXHexBytes].self, forKey: .rtmr0)
        self.rtmr1 = try container.decodeIfPresent([TDXHexBytes].self, forKey: .rtmr1)
        self.rtmr2 = try container.decodeIfPresent([TDXHexBytes].self, forKey: .rtmr2)
        self.rtmr3 = try container.decodeIfPresent([TDXHexBytes].self, forKey: .rtmr3)
        self.mrConfigID = try container.decodeIfPresent([TDXHexBytes].self, forKey: .mrConfigID)
        self.mrOwner = try container.decodeIfPresent([TDXHexBytes].self, forKey: .mrOwner)
        self.mrOwnerConfig = try container.decodeIfPresent([TDXHexBytes].self, forKey: .mrOwnerConfig)
        self.acceptedTCBStatuses = try container.decodeIfPresent([TCBStatus].self, forKey: .acceptedTCBStatuses)
        self.reportData = try container.decodeIfPresent(TDXHexBytes.self, forKey: .reportData)
    }

    private enum CodingKeys: String, CodingKey {
        case allowDebug, mrTD, rtmr0, rtmr1, rtmr2, rtmr3, mrConfigID, mrOwner, mrOwnerConfig, acceptedTCBStatuses, reportData
    }

    /// Appraises a verified quote, listing every configured rule with its outcome. With a CC event
    /// log (a TDX CCEL, UEFI 2.10 §38), RTMR[0…3] must also equal the log's SHA-384 replay.
    public func appraise(_ verified: VerifiedTDXQuote, eventLog: EventLog? = nil) -> TDXAppraisal {
        let body = verified.body
        var rules = [
            TDXAppraisal.Rule(
                name: "debug", passed: self.allowDebug || !body.tdAttributes.debug,
                expected: self.allowDebug ? "allowed" : "TDATTRIBUTES.DEBUG clear", actual: body.tdAttributes.debug ? "set" : "clear"),
        ]
        let allowlists: [(String, [TDXHexBytes]?, [UInt8])] = [
            ("mrtd", self.mrTD, body.mrTD), ("rtmr0", self.rtmr0, body.rtmrs[0]), ("rtmr1", self.rtmr1, body.rtmrs[1]),
            ("rtmr2", self.rtmr2, body.rtmrs[2]), ("rtmr3", self.rtmr3, body.rtmrs[3]), ("mrconfigid", self.mrConfigID, body.mrConfigID),
            ("mrowner", self.mrOwner, body.mrOwner), ("mrownerconfig", self.mrOwnerConfig, body.mrOwnerConfig),
        ]
        for (name, allowed, actual) in allowlists {
            guard let allowed else { continue }
            rules.append(TDXAppraisal.Rule(
                name: name, passed: allowed.contains(TDXHexBytes(actual)),
                expected: allowed.isEmpty ? "(empty allowlist)" : allowed.map(\.description).joined(separator: " or "),
                actual: hexString(actual)))
        }
        if let accepted = self.acceptedTCBStatuses {
            let status = verified.tcb?.status
            let advisories = verified.tcb.map { $0.advisoryIDs.isEmpty ? "" : " (\($0.advisoryIDs.joined(separator: ", ")))" } ?? ""
            rules.append(TDXAppraisal.Rule(
                name: "tcb status", passed: status.map(accepted.contains) ?? false,
                expected: accepted.map(\.rawValue).joined(separator: " or "),
                actual: status.map { "\($0.rawValue)\(advisories)" } ?? "not evaluated (no TCB Info)"))
        }
        if let expected = self.reportData?.bytes {
            let padded = expected + [UInt8](repeating: 0, count: max(0, 64 - expected.count))
            rules.append(TDXAppraisal.Rule(
                name: "reportdata", passed: padded == body.reportData, expected: hexString(padded), actual: hexString(body.reportData)))
        }
        if let eventLog {
            rules += Self.replayRules(eventLog, body: body)
        }
        return TDXAppraisal(rules: rules)
    }

    /// RTMR[i] must be the SHA-384 replay of the log's events with MR index i + 1 (an RTMR no
    /// event extends must still be zero), and the log's digests must match their event data.
    private static func replayRules(_ log: EventLog, body: TDReportBody) -> [TDXAppraisal.Rule] {
        let replay = log.replay(registers: .tdxRTMRs)
        guard let bank = replay.values.banks[.sha384] else {
            return [TDXAppraisal.Rule(
                name: "event log", passed: false, expected: "a SHA-384 bank",
                actual: "banks \(log.algorithms.map(\.description).joined(separator: ", "))")]
        }
        var rules = [
            TDXAppraisal.Rule(
                name: "event log digests", passed: replay.digestMismatches.isEmpty, expected: "every digest matches its event data",
                actual: replay.digestMismatches.isEmpty ? "all match" : replay.digestMismatches.map(\.description).joined(separator: " ")),
        ]
        for index in 0..<4 {
            let replayed = bank[UInt32(index + 1)] ?? [UInt8](repeating: 0, count: 48)
            rules.append(TDXAppraisal.Rule(
                name: "rtmr\(index) replay", passed: replayed == body.rtmrs[index],
                expected: "\(hexString(replayed)) (\(replay.extendedEvents[UInt32(index + 1)]?.count ?? 0) events)",
                actual: hexString(body.rtmrs[index])))
        }
        return rules
    }
}

/// The outcome of ``TDXPolicy/appraise(_:eventLog:)``: every rule checked, with what was expected
/// and found.
public typealias TDXAppraisal = RuleAppraisal

/// Bytes that encode to and decode from JSON as a hex string, for policies.
public typealias TDXHexBytes = HexBytes
