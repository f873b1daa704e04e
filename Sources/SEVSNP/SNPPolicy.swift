import EvidenceCore

/// Reference values a verified report is appraised against: what the relying party accepts,
/// separate from ``SNPVerifier``'s question of whether the report is genuine. Field meanings
/// follow the SEV-SNP Firmware ABI (pub. 56860 rev 1.57): Table 23 "ATTESTATION_REPORT Structure" and §4.3
/// "Guest Policy". Every value left nil is not checked. Decodes from JSON with hex strings for bytes.
public struct SNPPolicy: Sendable, Hashable, Codable {
    /// Accept guests whose policy allows debugging (POLICY.DEBUG). Default: forbidden.
    public var allowDebug: Bool = false
    /// Accept guests whose policy allows a migration agent (POLICY.MIGRATE_MA). Default: forbidden.
    public var allowMigrationAgent: Bool = false
    /// Accept platforms with SMT enabled (PLATFORM_INFO.SMT_EN). Default: allowed.
    public var allowSMT: Bool = true
    /// Minimum SPL per component of REPORTED_TCB, the TCB the VCEK certifies.
    public var minimumTCB: MinimumTCB?
    /// Minimum firmware ABI version (CURRENT_MAJOR.CURRENT_MINOR).
    public var minimumABI: ABIVersion?
    /// Minimum firmware build (CURRENT_BUILD).
    public var minimumBuild: UInt8?
    /// Minimum GUEST_SVN.
    public var minimumGuestSVN: UInt32?
    /// MEASUREMENT must be one of these.
    public var allowedMeasurements: [SNPHexBytes]?
    /// HOST_DATA must equal this.
    public var hostData: SNPHexBytes?
    /// FAMILY_ID must equal this.
    public var familyID: SNPHexBytes?
    /// IMAGE_ID must equal this.
    public var imageID: SNPHexBytes?
    /// ID_KEY_DIGEST must be one of these.
    public var idKeyDigests: [SNPHexBytes]?
    /// AUTHOR_KEY_DIGEST must be one of these.
    public var authorKeyDigests: [SNPHexBytes]?
    /// REPORT_DATA must equal this (typically the nonce or key hash the verifier chose).
    public var reportData: SNPHexBytes?
    /// VMPL must equal this.
    public var vmpl: UInt32?
    /// MASK_CHIP_KEY must equal this.
    public var maskChipKey: Bool?
    /// The report must be signed by this key.
    public var signingKey: SNPSigningKey?

    /// Creates a policy with the defaults: debug and migration agents forbidden, SMT allowed,
    /// nothing else checked.
    public init() {}

    /// Decodes a policy; absent keys keep their defaults and unknown keys are an error.
    public init(from decoder: any Decoder) throws {
        try requireKnownKeys(decoder, CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.allowDebug = try container.decodeIfPresent(Bool.self, forKey: .allowDebug) ?? false
        self.allowMigrationAgent = try container.decodeIfPresent(Bool.self, forKey: .allowMigrationAgent) ?? false
        self.allowSMT = try container.decodeIfPresent(Bool.self, forKey: .allowSMT) ?? true
        self.minimumTCB = try container.decodeIfPresent(MinimumTCB.self, forKey: .minimumTCB)
        self.minimumABI = try container.decodeIfPresent(ABIVersion.self, forKey: .minimumABI)
        self.minimumBuild = try container.decodeIfPresent(UInt8.self, forKey: .minimumBuild)
        self.minimumGuestSVN = try container.decodeIfPresent(UInt32.self, forKey: .minimumGuestSVN)
        self.allowedMeasurements = try container.decodeIfPresent([SNPHexBytes].self, forKey: .allowedMeasurements)
        self.hostData = try container.decodeIfPresent(SNPHexBytes.self, forKey: .hostData)
        self.familyID = try container.decodeIfPresent(SNPHexBytes.self, forKey: .familyID)
        self.imageID = try container.decodeIfPresent(SNPHexBytes.self, forKey: .imageID)
        self.idKeyDigests = try container.decodeIfPresent([SNPHexBytes].self, forKey: .idKeyDigests)
        self.authorKeyDigests = try container.decodeIfPresent([SNPHexBytes].self, forKey: .authorKeyDigests)
        self.reportData = try container.decodeIfPresent(SNPHexBytes.self, forKey: .reportData)
        self.vmpl = try container.decodeIfPresent(UInt32.self, forKey: .vmpl)
        self.maskChipKey = try container.decodeIfPresent(Bool.self, forKey: .maskChipKey)
        self.signingKey = try container.decodeIfPresent(SNPSigningKey.self, forKey: .signingKey)
    }

    /// Minimum security patch levels per TCB component (SEV-SNP Firmware ABI, Table 3 "TCB_VERSION Structure").
    public struct MinimumTCB: Sendable, Hashable, Codable {
        public var fmc: UInt8?
        public var bootloader: UInt8?
        public var tee: UInt8?
        public var snp: UInt8?
        public var microcode: UInt8?

        /// Creates a minimum; nil components are not checked.
        public init(fmc: UInt8? = nil, bootloader: UInt8? = nil, tee: UInt8? = nil, snp: UInt8? = nil, microcode: UInt8? = nil) {
            self.fmc = fmc
            self.bootloader = bootloader
            self.tee = tee
            self.snp = snp
            self.microcode = microcode
        }

        /// Decodes a minimum; unknown keys are an error.
        public init(from decoder: any Decoder) throws {
            try requireKnownKeys(decoder, CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.fmc = try container.decodeIfPresent(UInt8.self, forKey: .fmc)
            self.bootloader = try container.decodeIfPresent(UInt8.self, forKey: .bootloader)
            self.tee = try container.decodeIfPresent(UInt8.self, forKey: .tee)
            self.snp = try container.decodeIfPresent(UInt8.self, forKey: .snp)
            self.microcode = try container.decodeIfPresent(UInt8.self, forKey: .microcode)
        }

        var named: [(name: String, value: UInt8?)] {
            [("fmc", self.fmc), ("bootloader", self.bootloader), ("tee", self.tee), ("snp", self.snp),
             ("microcode", self.microcode)]
        }
    }

    /// A firmware ABI version, major.minor.
    public struct ABIVersion: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
        public var major: UInt8
        public var minor: UInt8

        /// Creates a version.
        public init(major: UInt8, minor: UInt8) {
            self.major = major
            self.minor = minor
        }

        /// Decodes a version; unknown keys are an error.
        public init(from decoder: any Decoder) throws {
            try requireKnownKeys(decoder, CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.major = try container.decode(UInt8.self, forKey: .major)
            self.minor = try container.decode(UInt8.self, forKey: .minor)
        }

        public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.major, lhs.minor) < (rhs.major, rhs.minor) }
        public var description: String { "\(self.major).\(self.minor)" }
    }

    /// Appraises a verified report, listing every configured rule with its outcome.
    public func appraise(_ verified: VerifiedSNPReport) -> SNPAppraisal {
        let report = verified.report
        var rules = [
            Self.permission("debug", allowed: self.allowDebug, present: report.policy.debugAllowed),
            Self.permission("migration agent", allowed: self.allowMigrationAgent, present: report.policy.migrationAgentAllowed),
            Self.permission("SMT", allowed: self.allowSMT, present: report.platformInfo.smtEnabled),
        ]
        if let minimumTCB {
            let actual = verified.reportedTCB.named
            for (minimum, component) in zip(minimumTCB.named, actual) {
                guard let minimum = minimum.value else { continue }
                let rule = "reported_tcb.\(component.name)"
                rules.append(component.value.map { Self.atLeast(rule, minimum: minimum, actual: $0) }
                    ?? SNPAppraisal.Rule(name: rule, passed: false, expected: "≥ \(minimum)", actual: "absent on \(verified.product.rawValue)"))
            }
        }
        let abi = ABIVersion(major: report.currentFirmware.major, minor: report.currentFirmware.minor)
        rules += [
            self.minimumABI.map { Self.atLeast("firmware ABI", minimum: $0, actual: abi) },
            self.minimumBuild.map { Self.atLeast("firmware build", minimum: $0, actual: report.currentFirmware.build) },
            self.minimumGuestSVN.map { Self.atLeast("guest_svn", minimum: $0, actual: report.guestSVN) },
            self.allowedMeasurements.map { Self.oneOf("measurement", allowed: $0, actual: report.measurement) },
            self.hostData.map { Self.oneOf("host_data", allowed: [$0], actual: report.hostData) },
            self.familyID.map { Self.oneOf("family_id", allowed: [$0], actual: report.familyID) },
            self.imageID.map { Self.oneOf("image_id", allowed: [$0], actual: report.imageID) },
            self.idKeyDigests.map { Self.oneOf("id_key_digest", allowed: $0, actual: report.idKeyDigest) },
            self.authorKeyDigests.map { Self.oneOf("author_key_digest", allowed: $0, actual: report.authorKeyDigest) },
            self.reportData.map { Self.oneOf("report_data", allowed: [$0], actual: report.reportData) },
            self.vmpl.map { Self.equal("vmpl", expected: $0, actual: report.vmpl) },
            self.maskChipKey.map { Self.equal("mask_chip_key", expected: $0, actual: report.maskChipKey) },
            self.signingKey.map { Self.equal("signing_key", expected: $0.name, actual: report.signingKey.name) },
        ].compactMap { $0 }
        return SNPAppraisal(rules: rules)
    }

    private static func permission(_ name: String, allowed: Bool, present: Bool) -> SNPAppraisal.Rule {
        SNPAppraisal.Rule(
            name: name, passed: allowed || !present, expected: allowed ? "allowed" : "disabled",
            actual: present ? "enabled" : "disabled")
    }

    private static func atLeast<T: Comparable & CustomStringConvertible>(_ name: String, minimum: T, actual: T) -> SNPAppraisal.Rule {
        SNPAppraisal.Rule(name: name, passed: actual >= minimum, expected: "≥ \(minimum)", actual: "\(actual)")
    }

    private static func equal<T: Equatable & CustomStringConvertible>(_ name: String, expected: T, actual: T) -> SNPAppraisal.Rule {
        SNPAppraisal.Rule(name: name, passed: expected == actual, expected: "\(expected)", actual: "\(actual)")
    }

    private static func oneOf(_ name: String, allowed: [SNPHexBytes], actual: [UInt8]) -> SNPAppraisal.Rule {
        SNPAppraisal.Rule(
            name: name, passed: allowed.contains(SNPHexBytes(actual)),
            expected: allowed.map(\.description).joined(separator: " or "), actual: SNPHexBytes(actual).description)
    }
}

/// The outcome of ``SNPPolicy/appraise(_:)``: every rule checked, with what was expected and found.
public typealias SNPAppraisal = RuleAppraisal

/// Bytes that encode to and decode from JSON as a hex string, for policies and listings.
public typealias SNPHexBytes = HexBytes
