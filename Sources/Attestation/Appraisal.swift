import Foundation
import SEVSNP
import TDX
import TPM2

/// The outcome of ``AppraisalPolicy/appraise(_:referenceValues:at:)``: every rule checked, with
/// what it expected and what the evidence holds, the AR4SI claim value each outcome assigns, the
/// trustworthiness vector and the overall status they give (draft-ietf-rats-ar4si §2.3).
public struct Appraisal: Sendable {
    /// The outcome of one check. A rule can give several (`pcrs` one per PCR, `tdx-rtmrs` one per
    /// RTMR, `boot-files` one per application, `min-tcb` one per component).
    public struct Result: Sendable, Hashable, Codable {
        /// The rule's name in the policy ("pcrs").
        public let rule: String
        /// What was checked ("PCR 4 (sha256)").
        public let subject: String
        public let passed: Bool
        public let expected: String
        public let actual: String
        /// The rule's severity, which decides the tier of a failure.
        public let severity: AppraisalPolicy.Severity
        /// The AR4SI claim the rule speaks to.
        public let claim: TrustworthinessClaim
        /// The AR4SI value this outcome assigns to `claim`.
        public let value: Int8
    }

    /// The evidence appraised.
    public let evidence: VerifiedEvidence
    /// The policy's identifier.
    public let policyID: String?
    /// When the appraisal ran.
    public let time: Date
    /// Every check, in policy order.
    public let results: [Result]

    /// The trustworthiness vector: per claim, the worst value any result assigned.
    public var trustworthinessVector: TrustworthinessVector {
        var vector = TrustworthinessVector()
        for result in self.results { vector.combine(result.claim, result.value) }
        return vector
    }

    /// The overall status: `affirming` when every check passed, otherwise the worst tier a failed
    /// check's severity gives — the worst tier of ``trustworthinessVector``.
    public var status: EARStatus { self.trustworthinessVector.status }

    /// The checks that failed.
    public var failures: [Result] { self.results.filter { !$0.passed } }

    /// One line per check — ✔ or ✘, what was checked, expected and actual, "(warning)" for a
    /// failed warning rule — then the status.
    public func explain() -> String {
        let lines = self.results.map { result in
            let mark = result.passed ? "✔" : "✘"
            let note = result.passed || result.severity == .contraindicated ? "" : " (warning)"
            return "\(mark) \(result.subject): expected \(result.expected), actual \(result.actual)\(note)"
        }
        let failed = self.failures.count
        let summary = "status: \(self.status.rawValue) (\(failed == 0 ? "all" : "\(failed) of") \(self.results.count) checks "
            + (failed == 0 ? "passed)" : "failed)")
        return (lines + [summary]).joined(separator: "\n")
    }
}

extension AppraisalPolicy {
    /// Checks every rule against `evidence`, taking reference values from `referenceValues` and
    /// measuring report age at `time`.
    public func appraise(_ evidence: VerifiedEvidence, referenceValues: ReferenceValues, at time: Date = Date()) -> Appraisal {
        let checker = RuleChecker(evidence: evidence, reference: referenceValues, time: time)
        let results = self.rules.flatMap { rule in
            checker.check(rule.requirement).map { outcome in
                let values = rule.requirement.claimValues
                var value = outcome.passed ? values.affirming : rule.severity == .warning ? values.warning : values.contraindicated
                // Emulated evidence proves nothing about hardware or memory encryption, so a
                // passing check claims nothing there.
                if outcome.passed, evidence.emulated, [.hardware, .runtimeOpaque].contains(values.claim) { value = 0 }
                return Appraisal.Result(
                    rule: rule.requirement.name, subject: outcome.subject, passed: outcome.passed, expected: outcome.expected,
                    actual: outcome.actual, severity: rule.severity, claim: values.claim, value: value)
            }
        }
        return Appraisal(evidence: evidence, policyID: self.id, time: time, results: results)
    }
}

extension AppraisalPolicy.Requirement {
    /// The AR4SI claim a rule speaks to and the values it assigns when it passes, fails as a
    /// warning and fails as a contraindication (draft-ietf-rats-ar4si §2.3.2; values as the
    /// Veraison EAR implementation names them: genuine/unsafe/unrecognized hardware 2/32/97,
    /// approved/unsafe/unsupportable configuration 2/32/96, approved boot/unrecognized/
    /// contraindicated executables 3/33/96, encrypted/isolated/visible memory 2/32/96,
    /// recognized/unrecognized instance 2/97).
    var claimValues: (claim: TrustworthinessClaim, affirming: Int8, warning: Int8, contraindicated: Int8) {
        switch self {
        case .platform, .nonEmulatedRoot: (.hardware, 2, 32, 97)
        case .minimumTCB, .tdxTCBStatus: (.hardware, 2, 32, 96)
        case .secureBoot, .snpPolicyFlags: (.configuration, 2, 32, 96)
        case .snpMeasurement, .pcrs, .bootFiles, .tdxMRTD, .tdxRTMRs: (.executables, 3, 33, 96)
        case .debugForbidden: (.runtimeOpaque, 2, 32, 96)
        case .maximumAge, .runtimeKey: (.instanceIdentity, 2, 32, 97)
        }
    }
}

/// One check's outcome before the policy gives it a severity and claim value.
private struct Outcome {
    let subject: String
    let passed: Bool
    let expected: String
    let actual: String
}

/// Evaluates requirements against one piece of evidence.
private struct RuleChecker {
    let evidence: VerifiedEvidence
    let reference: ReferenceValues
    let time: Date

    func check(_ requirement: AppraisalPolicy.Requirement) -> [Outcome] {
        switch requirement {
        case .platform(let types):
            return [Outcome(
                subject: "platform", passed: types.contains(self.evidence.type),
                expected: "one of \(types.map(\.rawValue).joined(separator: ", "))", actual: self.evidence.type.rawValue)]
        case .nonEmulatedRoot:
            let actual = self.evidence.roots.map { "\($0.name)\($0.emulated ? " (emulated)" : "")" }.joined(separator: ", ")
            return [Outcome(subject: "roots", passed: !self.evidence.emulated, expected: "genuine roots only", actual: actual)]
        case .secureBoot:
            return [self.secureBoot()]
        case .snpMeasurement:
            return [self.snp("SNP measurement") { snp in
                Self.oneOf(self.reference.snpMeasurements, actual: snp.measurement, subject: "SNP measurement", what: "reference measurement")
            }]
        case .pcrs(let bank, let indices):
            return self.pcrs(bank: bank, indices: indices)
        case .bootFiles:
            return self.bootFiles()
        case .minimumTCB:
            return self.minimumTCB()
        case .debugForbidden:
            return [self.debugForbidden()]
        case .snpPolicyFlags:
            return [self.snpPolicyFlags()]
        case .maximumAge(let seconds):
            let age = Int(self.time.timeIntervalSince(self.evidence.verificationTime).rounded(.down))
            return [Outcome(subject: "report age", passed: (0...seconds).contains(age), expected: "at most \(seconds) s",
                            actual: "\(age) s since verification")]
        case .runtimeKey:
            let key = self.evidence.runtimeKey.map { "P-256 key x=\($0.jwkX)" } ?? "none"
            return [Outcome(subject: "runtime key", passed: self.evidence.runtimeKey != nil, expected: "a runtime key bound with the nonce", actual: key)]
        case .tdxMRTD:
            return [self.tdx("TDX MRTD") { tdx in
                Self.oneOf(self.reference.tdxMRTDs, actual: tdx.mrTD, subject: "TDX MRTD", what: "reference MRTD")
            }]
        case .tdxRTMRs(let indices):
            return self.tdxRTMRs(indices: indices)
        case .tdxTCBStatus(let accepted):
            return [self.tdxTCBStatus(accepted: accepted)]
        }
    }

    /// An outcome that needs SNP claims, failing when the evidence has none.
    private func snp(_ subject: String, _ body: (SNPClaims) -> Outcome) -> Outcome {
        guard let snp = self.evidence.snp else { return self.noSNPReport(subject) }
        return body(snp)
    }

    private func noSNPReport(_ subject: String) -> Outcome {
        Outcome(subject: subject, passed: false, expected: "an SEV-SNP report", actual: "none in \(self.evidence.type.rawValue) evidence")
    }

    /// An outcome that needs TDX claims, failing when the evidence has none.
    private func tdx(_ subject: String, _ body: (TDXClaims) -> Outcome) -> Outcome {
        guard let tdx = self.evidence.tdx else { return self.noTDReport(subject) }
        return body(tdx)
    }

    private func noTDReport(_ subject: String) -> Outcome {
        Outcome(subject: subject, passed: false, expected: "a TDX quote", actual: "none in \(self.evidence.type.rawValue) evidence")
    }

    /// The DEBUG bit of whichever guest the evidence describes: the SNP guest policy's (SEV-SNP
    /// Firmware ABI §4.3) or the TD attributes' (Intel TDX Module ABI, TD_PARAMS.ATTRIBUTES bit 0).
    private func debugForbidden() -> Outcome {
        let debug: (subject: String, set: Bool)
        if let snp = self.evidence.snp {
            debug = ("SNP guest policy DEBUG", snp.policy.debugAllowed)
        } else if let tdx = self.evidence.tdx {
            debug = ("TD attributes DEBUG", tdx.tdAttributes.debug)
        } else {
            return Outcome(
                subject: "guest DEBUG", passed: false, expected: "an SEV-SNP report or a TDX quote", actual: "none in \(self.evidence.type.rawValue) evidence")
        }
        return Outcome(subject: debug.subject, passed: !debug.set, expected: "clear", actual: debug.set ? "set" : "clear")
    }

    /// Membership in reference values; more than two are summarised rather than listed.
    private static func oneOf(_ allowed: [[UInt8]], actual: [UInt8], subject: String, what: String) -> Outcome {
        let expected = switch allowed.count {
        case 0: "a \(what) (none configured)"
        case 1...2: "one of \(allowed.map(ByteEncoding.hex).joined(separator: ", "))"
        default: "one of the \(allowed.count) \(what)s"
        }
        return Outcome(subject: subject, passed: allowed.contains(actual), expected: expected, actual: ByteEncoding.hex(actual))
    }

    /// SecureBoot as the verified event log measured it: a TPM's (PCR 7) or a TD's CC event log
    /// (RTMR[0]).
    private func secureBoot() -> Outcome {
        let actual: String
        let log: (present: Bool, secureBoot: Bool?, register: String)
        if let tdx = self.evidence.tdx {
            log = (tdx.eventLog != nil, tdx.eventLog?.secureBoot, "RTMR[0]")
        } else if let tpm = self.evidence.tpm {
            log = (tpm.eventLog != nil, tpm.eventLog?.secureBoot, "PCR 7")
        } else {
            return Outcome(subject: "secure boot", passed: false, expected: "enabled", actual: "no TPM quote in \(self.evidence.type.rawValue) evidence")
        }
        switch log {
        case (false, _, _): actual = "no event log"
        case (true, nil, let register): actual = "SecureBoot not measured in \(register)"
        case (true, let enabled?, _): actual = enabled ? "enabled" : "disabled"
        }
        return Outcome(subject: "secure boot", passed: actual == "enabled", expected: "enabled", actual: actual)
    }

    private func tdxRTMRs(indices: [Int]?) -> [Outcome] {
        let references = self.reference.tdxRTMRs
        let checked = indices ?? references.keys.sorted()
        guard !checked.isEmpty else {
            return [Outcome(subject: "TDX RTMRs", passed: false, expected: "reference RTMR values", actual: "none configured")]
        }
        return checked.map { index in
            self.tdx("RTMR[\(index)]") { tdx in
                // Decoded policies hold 0...3 only; one built in code may name any index.
                guard tdx.rtmrs.indices.contains(index) else {
                    return Outcome(subject: "RTMR[\(index)]", passed: false, expected: "RTMR[0] to RTMR[\(tdx.rtmrs.count - 1)]", actual: "no such RTMR")
                }
                return Self.oneOf(references[index] ?? [], actual: tdx.rtmrs[index], subject: "RTMR[\(index)]", what: "reference value")
            }
        }
    }

    /// The TCB status of TCB Info's evaluation, with its advisories; a quote evaluated without TCB
    /// Info fails, saying why.
    private func tdxTCBStatus(accepted: [TCBStatus]) -> Outcome {
        let subject = "TDX TCB status"
        return self.tdx(subject) { tdx in
            let expected = "one of \(accepted.map(\.rawValue).joined(separator: ", "))"
            guard let tcb = tdx.tcb else {
                let reason = tdx.collateral == .none ? "no collateral" : "the collateral has no TCB Info"
                return Outcome(subject: subject, passed: false, expected: expected, actual: "not evaluated: \(reason)")
            }
            let advisories = tcb.advisoryIDs.isEmpty ? "" : " (\(tcb.advisoryIDs.joined(separator: ", ")))"
            return Outcome(subject: subject, passed: accepted.contains(tcb.status), expected: expected, actual: tcb.status.rawValue + advisories)
        }
    }

    private func pcrs(bank: TPMAlgorithmID, indices: [Int]?) -> [Outcome] {
        let references = self.reference.pcrs[bank] ?? [:]
        let checked = indices ?? references.keys.sorted()
        guard !checked.isEmpty else {
            return [Outcome(subject: "PCRs (\(bank))", passed: false, expected: "reference values for the \(bank) bank", actual: "none configured")]
        }
        return checked.map { index in
            let subject = "PCR \(index) (\(bank))"
            guard let tpm = self.evidence.tpm else {
                return Outcome(subject: subject, passed: false, expected: "a quoted value", actual: "no TPM quote in \(self.evidence.type.rawValue) evidence")
            }
            guard let value = tpm.pcrs[bank]?[index] else {
                return Outcome(subject: subject, passed: false, expected: "a quoted value", actual: "not quoted")
            }
            return Self.oneOf(references[index] ?? [], actual: value, subject: subject, what: "reference value")
        }
    }

    private func bootFiles() -> [Outcome] {
        let failure = { (actual: String) in
            [Outcome(subject: "boot files", passed: false, expected: "EFI applications with reference digests", actual: actual)]
        }
        guard let tpm = self.evidence.tpm else { return failure("no TPM quote in \(self.evidence.type.rawValue) evidence") }
        guard let log = tpm.eventLog else { return failure("no event log") }
        guard let files = log.bootFiles else { return failure("the SHA-256 bank was not verified against the quote") }
        guard !files.isEmpty else { return failure("no EV_EFI_BOOT_SERVICES_APPLICATION event") }
        return files.map { file in
            let path = file.devicePath.isEmpty ? "" : " \(file.devicePath)"
            return Self.oneOf(self.reference.bootFiles, actual: file.sha256, subject: "boot file (event \(file.event)\(path))", what: "reference digest")
        }
    }

    private func minimumTCB() -> [Outcome] {
        guard let minimum = self.reference.minimumTCB else {
            return [Outcome(subject: "reported TCB", passed: false, expected: "a reference minimum TCB", actual: "none configured")]
        }
        guard let snp = self.evidence.snp else { return [self.noSNPReport("reported TCB")] }
        let actual = snp.reportedTCB.named
        let required: [(name: String, value: UInt8?)] = [
            ("fmc", minimum.fmc), ("bootloader", minimum.bootloader), ("tee", minimum.tee), ("snp", minimum.snp), ("microcode", minimum.microcode),
        ]
        let outcomes = zip(required, actual).compactMap { requirement, component -> Outcome? in
            guard let minimum = requirement.value else { return nil }
            let subject = "reported TCB \(requirement.name)"
            guard let value = component.value else {
                return Outcome(subject: subject, passed: false, expected: "at least \(minimum)", actual: "absent on \(snp.product.rawValue)")
            }
            return Outcome(subject: subject, passed: value >= minimum, expected: "at least \(minimum)", actual: "\(value)")
        }
        return outcomes.isEmpty
            ? [Outcome(subject: "reported TCB", passed: false, expected: "a reference minimum TCB", actual: "the minimum names no component")]
            : outcomes
    }

    private func snpPolicyFlags() -> Outcome {
        let subject = "SNP guest policy flags"
        guard let allowed = self.reference.allowedSNPPolicyFlags else {
            return Outcome(subject: subject, passed: false, expected: "allowed flags in the reference values", actual: "none configured")
        }
        return self.snp(subject) { snp in
            let set = SNPPolicyFlag.allCases.filter { $0.isSet(in: snp.policy) }
            let names = { (flags: [SNPPolicyFlag]) in flags.isEmpty ? "none" : flags.map(\.rawValue).joined(separator: ", ") }
            return Outcome(
                subject: subject, passed: set.allSatisfy(allowed.contains),
                expected: "only \(names(SNPPolicyFlag.allCases.filter(allowed.contains)))", actual: names(set))
        }
    }
}

extension Appraisal: Encodable {
    private enum CodingKeys: String, CodingKey {
        case status, policyID, appraisedAt, trustworthinessVector, results, evidence
    }

    /// The appraisal as JSON (docs/policy.md, "Appraisal"): status, policy, time (seconds since
    /// the Unix epoch), AR4SI vector, every result, and the evidence's claims.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.status, forKey: .status)
        try container.encodeIfPresent(self.policyID, forKey: .policyID)
        try container.encode(Int(self.time.timeIntervalSince1970.rounded(.down)), forKey: .appraisedAt)
        try container.encode(self.trustworthinessVector, forKey: .trustworthinessVector)
        try container.encode(self.results, forKey: .results)
        try container.encode(self.evidence.claims, forKey: .evidence)
    }
}
