import Foundation
import TDX
import TPM2

/// What a relying party requires of verified evidence: a list of rules in a declarative JSON
/// document (docs/policy.md; examples in examples/policies/). ``appraise(_:referenceValues:at:)``
/// checks every rule and returns an ``Appraisal`` listing each outcome; rules that need
/// reference values take them from ``ReferenceValues``.
public struct AppraisalPolicy: Sendable, Hashable {
    /// The policy format version this library reads.
    public static let version = 1

    /// An identifier for the policy, reported as EAR's `ear.appraisal-policy-id`.
    public var id: String?
    /// The rules, checked in order.
    public var rules: [Rule]

    /// One requirement and how much its failure weighs.
    public struct Rule: Sendable, Hashable {
        public var requirement: Requirement
        public var severity: Severity

        /// A rule whose failure is `severity` (contraindicated unless stated).
        public init(_ requirement: Requirement, severity: Severity = .contraindicated) {
            self.requirement = requirement
            self.severity = severity
        }
    }

    /// How a failed rule counts: a warning lets the overall status be at most `warning`, a
    /// contraindication makes it `contraindicated` (AR4SI tiers, draft-ietf-rats-ar4si §2.3.1).
    public enum Severity: String, Sendable, Hashable, Codable {
        case warning
        case contraindicated
    }

    /// The requirements a rule can state; the JSON name of each is in ``name``.
    public enum Requirement: Sendable, Hashable {
        /// The evidence type is one of these (`platform`, member `in`).
        case platform([EvidenceType])
        /// No root the evidence chained to is emulated (`non-emulated-root`).
        case nonEmulatedRoot
        /// The event log shows SecureBoot enabled (`secure-boot`).
        case secureBoot
        /// The SNP launch measurement is one of the reference measurements (`snp-measurement`).
        case snpMeasurement
        /// Each listed PCR of `bank` equals one of its reference values; all PCRs the reference
        /// values list for the bank when `indices` is nil (`pcrs`, members `bank`, `indices`).
        case pcrs(bank: TPMAlgorithmID, indices: [Int]?)
        /// Every EFI application in the event log has a reference digest (`boot-files`).
        case bootFiles
        /// Every component of the SNP REPORTED_TCB is at least the reference minimum (`min-tcb`).
        case minimumTCB
        /// The guest cannot be debugged: the SNP guest policy's DEBUG bit or the TD attributes'
        /// DEBUG bit is clear (`debug-forbidden`).
        case debugForbidden
        /// The SNP guest policy sets only reference-allowed flags (`snp-policy-flags`).
        case snpPolicyFlags
        /// The evidence was verified at most this many seconds before appraisal (`max-report-age`,
        /// member `seconds`).
        case maximumAge(seconds: Int)
        /// The evidence binds a runtime key (`runtime-key`).
        case runtimeKey
        /// The TDX MRTD is one of the reference MRTDs (`tdx-mrtd`).
        case tdxMRTD
        /// Each listed TDX RTMR equals one of its reference values; all RTMRs the reference values
        /// list when `indices` is nil (`tdx-rtmrs`, member `indices`).
        case tdxRTMRs(indices: [Int]?)
        /// The TDX TCB status Intel's collateral gives is one of these (`tdx-tcb-status`, member
        /// `in`, `["UpToDate"]` when absent).
        case tdxTCBStatus([TCBStatus])

        /// The rule's name in the JSON format.
        public var name: String {
            switch self {
            case .platform: "platform"
            case .nonEmulatedRoot: "non-emulated-root"
            case .secureBoot: "secure-boot"
            case .snpMeasurement: "snp-measurement"
            case .pcrs: "pcrs"
            case .bootFiles: "boot-files"
            case .minimumTCB: "min-tcb"
            case .debugForbidden: "debug-forbidden"
            case .snpPolicyFlags: "snp-policy-flags"
            case .maximumAge: "max-report-age"
            case .runtimeKey: "runtime-key"
            case .tdxMRTD: "tdx-mrtd"
            case .tdxRTMRs: "tdx-rtmrs"
            case .tdxTCBStatus: "tdx-tcb-status"
            }
        }
    }

    /// A policy.
    public init(id: String? = nil, rules: [Rule]) {
        self.id = id
        self.rules = rules
    }

    /// Decodes a policy from its JSON document.
    public init(json: some Collection<UInt8>) throws(AttestationError) {
        do {
            self = try JSONDecoder().decode(AppraisalPolicy.self, from: Data(json))
        } catch {
            let (field, reason) = describe(error)
            throw .policyInvalid(reason: field == "(document)" ? reason : "member \(field): \(reason)")
        }
    }
}

extension AppraisalPolicy: Codable {
    public init(from decoder: any Decoder) throws {
        try decoder.requireMembers(in: ["version", "id", "rules"])
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        let version = try container.decode(Int.self, forKey: AnyCodingKey("version"))
        guard version == Self.version else {
            throw DecodingError.dataCorruptedError(forKey: AnyCodingKey("version"), in: container, debugDescription: "version \(version) is not 1")
        }
        self.id = try container.optionalString("id")
        self.rules = try container.decode([Rule].self, forKey: AnyCodingKey("rules"))
        guard !self.rules.isEmpty else {
            throw DecodingError.dataCorruptedError(forKey: AnyCodingKey("rules"), in: container, debugDescription: "a policy needs at least one rule")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        try container.encode(Self.version, forKey: AnyCodingKey("version"))
        try container.encodeIfPresent(self.id, forKey: AnyCodingKey("id"))
        try container.encode(self.rules, forKey: AnyCodingKey("rules"))
    }
}

extension AppraisalPolicy.Rule: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        let name = try container.string("rule")
        let parameters: Set<String>
        switch name {
        case "platform":
            parameters = ["in"]
            self.requirement = .platform(try container.decode([EvidenceType].self, forKey: AnyCodingKey("in")))
        case "pcrs":
            parameters = ["bank", "indices"]
            let bankName = try container.optionalString("bank") ?? "sha256"
            guard let bank = TPMAlgorithmID(name: bankName), TPMHashAlgorithm(bank) != nil else {
                throw DecodingError.dataCorruptedError(forKey: AnyCodingKey("bank"), in: container, debugDescription: "\"\(bankName)\" is not sha1, sha256, sha384 or sha512")
            }
            let indices = try container.decodeIfPresent([Int].self, forKey: AnyCodingKey("indices"))
            if let bad = indices?.first(where: { !(0...23).contains($0) }) {
                throw DecodingError.dataCorruptedError(forKey: AnyCodingKey("indices"), in: container, debugDescription: "\(bad) is not a PCR index 0-23")
            }
            self.requirement = .pcrs(bank: bank, indices: indices)
        case "max-report-age":
            parameters = ["seconds"]
            let seconds = try container.decode(Int.self, forKey: AnyCodingKey("seconds"))
            guard seconds >= 0 else {
                throw DecodingError.dataCorruptedError(forKey: AnyCodingKey("seconds"), in: container, debugDescription: "a maximum age cannot be negative")
            }
            self.requirement = .maximumAge(seconds: seconds)
        case "tdx-rtmrs":
            parameters = ["indices"]
            let indices = try container.decodeIfPresent([Int].self, forKey: AnyCodingKey("indices"))
            if let bad = indices?.first(where: { !(0...3).contains($0) }) {
                throw DecodingError.dataCorruptedError(forKey: AnyCodingKey("indices"), in: container, debugDescription: "\(bad) is not an RTMR index 0-3")
            }
            self.requirement = .tdxRTMRs(indices: indices)
        case "tdx-tcb-status":
            parameters = ["in"]
            let statuses = try container.decodeIfPresent([TCBStatus].self, forKey: AnyCodingKey("in")) ?? [.upToDate]
            guard !statuses.isEmpty else {
                throw DecodingError.dataCorruptedError(forKey: AnyCodingKey("in"), in: container, debugDescription: "no TCB status would be accepted")
            }
            self.requirement = .tdxTCBStatus(statuses)
        default:
            let simple: [AppraisalPolicy.Requirement] = [
                .nonEmulatedRoot, .secureBoot, .snpMeasurement, .bootFiles, .minimumTCB, .debugForbidden, .snpPolicyFlags, .runtimeKey, .tdxMRTD,
            ]
            guard let requirement = simple.first(where: { $0.name == name }) else {
                throw DecodingError.dataCorruptedError(forKey: AnyCodingKey("rule"), in: container, debugDescription: "\"\(name)\" is not a rule (see docs/policy.md)")
            }
            parameters = []
            self.requirement = requirement
        }
        try decoder.requireMembers(in: parameters.union(["rule", "severity"]))
        self.severity = try container.decodeIfPresent(AppraisalPolicy.Severity.self, forKey: AnyCodingKey("severity")) ?? .contraindicated
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        try container.encode(self.requirement.name, forKey: AnyCodingKey("rule"))
        switch self.requirement {
        case .platform(let types):
            try container.encode(types, forKey: AnyCodingKey("in"))
        case .pcrs(let bank, let indices):
            try container.encode(bank.description, forKey: AnyCodingKey("bank"))
            try container.encodeIfPresent(indices, forKey: AnyCodingKey("indices"))
        case .maximumAge(let seconds):
            try container.encode(seconds, forKey: AnyCodingKey("seconds"))
        case .tdxRTMRs(let indices):
            try container.encodeIfPresent(indices, forKey: AnyCodingKey("indices"))
        case .tdxTCBStatus(let statuses):
            try container.encode(statuses, forKey: AnyCodingKey("in"))
        case .nonEmulatedRoot, .secureBoot, .snpMeasurement, .bootFiles, .minimumTCB, .debugForbidden, .snpPolicyFlags, .runtimeKey, .tdxMRTD:
            break
        }
        if self.severity != .contraindicated { try container.encode(self.severity, forKey: AnyCodingKey("severity")) }
    }
}
