import EvidenceCore

/// An SEV-SNP attestation report: what the AMD Secure Processor says about a guest, signed with
/// the chip's VCEK or the provider's VLEK (SEV-SNP Firmware ABI, pub. 56860 rev 1.57, §7.3
/// "Attestation", Table 23 "ATTESTATION_REPORT Structure"). Versions 2, 3 and 5 are understood.
///
/// Parsing checks sizes, versions and every must-be-zero field; it proves nothing about origin —
/// pass the report to ``SNPVerifier`` for that. Encoding a parsed report gives back the same bytes.
public struct SNPReport: Sendable, Hashable {
    /// Size of a report: 1184 (0x4A0) bytes.
    public static let size = 0x4A0
    /// The signature covers bytes 0x000–0x29F.
    public static let signedSize = 0x2A0
    /// Report versions this library decodes.
    public static let supportedVersions: Set<UInt32> = [2, 3, 5]

    /// VERSION (0x000).
    public let version: UInt32
    /// GUEST_SVN (0x004): the guest's security version number from its ID block.
    public let guestSVN: UInt32
    /// POLICY (0x008).
    public let policy: SNPGuestPolicy
    /// FAMILY_ID (0x010, 16 bytes) from the ID block.
    public let familyID: [UInt8]
    /// IMAGE_ID (0x020, 16 bytes) from the ID block.
    public let imageID: [UInt8]
    /// VMPL (0x030): the privilege level that requested the report.
    public let vmpl: UInt32
    /// SIGNATURE_ALGO (0x034); always 1, ECDSA P-384 with SHA-384.
    public let signatureAlgorithm: UInt32
    /// CURRENT_TCB (0x038).
    public let currentTCB: TCBVersion
    /// PLATFORM_INFO (0x040).
    public let platformInfo: SNPPlatformInfo
    /// AUTHOR_KEY_EN (0x048 bit 0): AUTHOR_KEY_DIGEST is present.
    public let authorKeyEnabled: Bool
    /// MASK_CHIP_KEY (0x048 bit 1): the chip key is masked and the report signed with no VCEK.
    public let maskChipKey: Bool
    /// SIGNING_KEY (0x048 bits 4:2).
    public let signingKey: SNPSigningKey
    /// REPORT_DATA (0x050, 64 bytes): chosen by the guest, typically a nonce or key hash.
    public let reportData: [UInt8]
    /// MEASUREMENT (0x090, 48 bytes): the launch digest.
    public let measurement: [UInt8]
    /// HOST_DATA (0x0C0, 32 bytes): chosen by the hypervisor at launch.
    public let hostData: [UInt8]
    /// ID_KEY_DIGEST (0x0E0, 48 bytes): SHA-384 of the ID block's public key.
    public let idKeyDigest: [UInt8]
    /// AUTHOR_KEY_DIGEST (0x110, 48 bytes): SHA-384 of the ID author key.
    public let authorKeyDigest: [UInt8]
    /// REPORT_ID (0x140, 32 bytes).
    public let reportID: [UInt8]
    /// REPORT_ID_MA (0x160, 32 bytes): the migration agent's report ID.
    public let reportIDMA: [UInt8]
    /// REPORTED_TCB (0x180): the TCB the VCEK was derived from.
    public let reportedTCB: TCBVersion
    /// CPUID_FAM_ID, CPUID_MOD_ID, CPUID_STEP (0x188–0x18A), present from version 3.
    public let cpuid: SNPCPUID?
    /// CHIP_ID (0x1A0, 64 bytes); zero when MASK_CHIP_ID is set.
    public let chipID: [UInt8]
    /// COMMITTED_TCB (0x1E0).
    public let committedTCB: TCBVersion
    /// CURRENT_BUILD, CURRENT_MINOR, CURRENT_MAJOR (0x1E8–0x1EA).
    public let currentFirmware: SNPFirmwareVersion
    /// COMMITTED_BUILD, COMMITTED_MINOR, COMMITTED_MAJOR (0x1EC–0x1EE).
    public let committedFirmware: SNPFirmwareVersion
    /// LAUNCH_TCB (0x1F0): the TCB at the time the guest was launched or imported.
    public let launchTCB: TCBVersion
    /// LAUNCH_MIT_VECTOR (0x1F8), present from version 5.
    public let launchMitigationVector: UInt64?
    /// CURRENT_MIT_VECTOR (0x200), present from version 5.
    public let currentMitigationVector: UInt64?
    /// SIGNATURE (0x2A0).
    public let signature: SNPSignature
    /// The product whose TCB layout applies: from CPUID for version 3+, else as given to the parser.
    public let product: SNPProduct?

    /// Parses a report.
    ///
    /// - Parameters:
    ///   - bytes: exactly 1184 bytes.
    ///   - product: the chip generation, needed to decode TCB values of version-2 reports, which
    ///     carry no CPUID. For version 3+ the CPUID decides; a contradicting argument is an error.
    public init(bytes: some Collection<UInt8>, product: SNPProduct? = nil) throws(SNPError) {
        let bytes = Array(bytes)
        guard bytes.count == Self.size else { throw .wrongReportSize(actual: bytes.count) }
        var reader = LittleEndianReader<SNPError>(bytes)
        self.version = try reader.integer(UInt32.self, field: "VERSION")
        guard Self.supportedVersions.contains(self.version) else { throw .unsupportedVersion(self.version) }
        self.guestSVN = try reader.integer(UInt32.self, field: "GUEST_SVN")
        self.policy = try SNPGuestPolicy(rawValue: try reader.integer(UInt64.self, field: "POLICY"))
        self.familyID = try reader.bytes(16, field: "FAMILY_ID")
        self.imageID = try reader.bytes(16, field: "IMAGE_ID")
        self.vmpl = try reader.integer(UInt32.self, field: "VMPL")
        self.signatureAlgorithm = try reader.integer(UInt32.self, field: "SIGNATURE_ALGO")
        guard self.signatureAlgorithm == 1 else { throw .unsupportedSignatureAlgorithm(self.signatureAlgorithm) }
        self.currentTCB = TCBVersion(rawValue: try reader.integer(UInt64.self, field: "CURRENT_TCB"))
        self.platformInfo = try SNPPlatformInfo(rawValue: try reader.integer(UInt64.self, field: "PLATFORM_INFO"))
        let keyInfo = try reader.integer(UInt32.self, field: "AUTHOR_KEY_EN/MASK_CHIP_KEY/SIGNING_KEY")
        try requireZero(UInt64(keyInfo), above: 4, field: "0x048 bits 31:5", offset: 0x48)
        self.authorKeyEnabled = keyInfo & 1 != 0
        self.maskChipKey = keyInfo & 2 != 0
        guard let signingKey = SNPSigningKey(rawValue: UInt8((keyInfo >> 2) & 7)) else {
            throw .reservedValue(field: "SIGNING_KEY", value: UInt64((keyInfo >> 2) & 7))
        }
        self.signingKey = signingKey
        try reader.reserved(4, field: "RESERVED 0x04C")
        self.reportData = try reader.bytes(64, field: "REPORT_DATA")
        self.measurement = try reader.bytes(48, field: "MEASUREMENT")
        self.hostData = try reader.bytes(32, field: "HOST_DATA")
        self.idKeyDigest = try reader.bytes(48, field: "ID_KEY_DIGEST")
        self.authorKeyDigest = try reader.bytes(48, field: "AUTHOR_KEY_DIGEST")
        self.reportID = try reader.bytes(32, field: "REPORT_ID")
        self.reportIDMA = try reader.bytes(32, field: "REPORT_ID_MA")
        self.reportedTCB = TCBVersion(rawValue: try reader.integer(UInt64.self, field: "REPORTED_TCB"))
        if self.version >= 3 {
            let fms = try reader.bytes(3, field: "CPUID_FAM_ID/CPUID_MOD_ID/CPUID_STEP")
            self.cpuid = SNPCPUID(family: fms[0], model: fms[1], stepping: fms[2])
            try reader.reserved(0x15, field: "RESERVED 0x18B")
        } else {
            self.cpuid = nil
            try reader.reserved(0x18, field: "RESERVED 0x188")
        }
        self.chipID = try reader.bytes(64, field: "CHIP_ID")
        self.committedTCB = TCBVersion(rawValue: try reader.integer(UInt64.self, field: "COMMITTED_TCB"))
        self.currentFirmware = try SNPFirmwareVersion(reading: &reader, prefix: "CURRENT")
        self.committedFirmware = try SNPFirmwareVersion(reading: &reader, prefix: "COMMITTED")
        self.launchTCB = TCBVersion(rawValue: try reader.integer(UInt64.self, field: "LAUNCH_TCB"))
        if self.version >= 5 {
            self.launchMitigationVector = try reader.integer(UInt64.self, field: "LAUNCH_MIT_VECTOR")
            self.currentMitigationVector = try reader.integer(UInt64.self, field: "CURRENT_MIT_VECTOR")
            try reader.reserved(Self.signedSize - 0x208, field: "RESERVED 0x208")
        } else {
            self.launchMitigationVector = nil
            self.currentMitigationVector = nil
            try reader.reserved(Self.signedSize - 0x1F8, field: "RESERVED 0x1F8")
        }
        self.signature = try SNPSignature(reading: &reader)
        self.product = try Self.resolveProduct(cpuid: self.cpuid, given: product)
    }

    private static func resolveProduct(cpuid: SNPCPUID?, given: SNPProduct?) throws(SNPError) -> SNPProduct? {
        guard let reported = cpuid?.product else { return given }
        if let given, given != reported { throw .productMismatch(expected: given, actual: reported) }
        return reported
    }

    /// The report's 1184-byte encoding, identical to the bytes it was parsed from.
    public var bytes: [UInt8] {
        var writer = LittleEndianWriter()
        writer.integer(self.version)
        writer.integer(self.guestSVN)
        writer.integer(self.policy.rawValue)
        writer.bytes(self.familyID)
        writer.bytes(self.imageID)
        writer.integer(self.vmpl)
        writer.integer(self.signatureAlgorithm)
        writer.integer(self.currentTCB.rawValue)
        writer.integer(self.platformInfo.rawValue)
        let keyInfo = (self.authorKeyEnabled ? 1 : 0) | (self.maskChipKey ? 2 : 0) | UInt32(self.signingKey.rawValue) << 2
        writer.integer(keyInfo)
        writer.zeros(4)
        for field in [self.reportData, self.measurement, self.hostData, self.idKeyDigest, self.authorKeyDigest,
                      self.reportID, self.reportIDMA] {
            writer.bytes(field)
        }
        writer.integer(self.reportedTCB.rawValue)
        if let cpuid = self.cpuid {
            writer.bytes([cpuid.family, cpuid.model, cpuid.stepping])
            writer.zeros(0x15)
        } else {
            writer.zeros(0x18)
        }
        writer.bytes(self.chipID)
        writer.integer(self.committedTCB.rawValue)
        self.currentFirmware.write(to: &writer)
        self.committedFirmware.write(to: &writer)
        writer.integer(self.launchTCB.rawValue)
        if let launch = self.launchMitigationVector, let current = self.currentMitigationVector {
            writer.integer(launch)
            writer.integer(current)
        }
        writer.zeros(Self.signedSize - writer.bytes.count)
        self.signature.write(to: &writer)
        return writer.bytes
    }

    /// Bytes 0x000–0x29F, the part the signature covers.
    public var signedBytes: ArraySlice<UInt8> {
        self.bytes[0..<Self.signedSize]
    }

    /// Decodes a TCB value with this report's product, or with `product` for a version-2 report
    /// parsed without one.
    public func components(of tcb: TCBVersion, product: SNPProduct? = nil) throws(SNPError) -> TCBComponents {
        guard let resolved = try Self.resolveProduct(cpuid: self.cpuid, given: product ?? self.product) else {
            if let cpuid = self.cpuid { throw .unknownProduct(family: cpuid.family, model: cpuid.model) }
            throw .productRequired
        }
        return tcb.components(for: resolved)
    }
}

/// The CPUID(1) family, model and stepping a version-3+ report records at 0x188–0x18A
/// (SEV-SNP Firmware ABI, pub. 56860 rev 1.55+, Table 23 "ATTESTATION_REPORT Structure").
public struct SNPCPUID: Sendable, Hashable, Codable {
    /// Combined family (base + extended), e.g. 0x19 for Milan and Genoa.
    public let family: UInt8
    /// Combined model (extended << 4 | base).
    public let model: UInt8
    /// Stepping.
    public let stepping: UInt8

    /// Creates a CPUID triple.
    public init(family: UInt8, model: UInt8, stepping: UInt8) {
        self.family = family
        self.model = model
        self.stepping = stepping
    }

    /// The SEV-SNP product this CPUID names, if known.
    public var product: SNPProduct? { SNPProduct(family: self.family, model: self.model) }
}

/// A firmware version as three bytes — build, minor, major — followed by a reserved byte
/// (SEV-SNP Firmware ABI, pub. 56860, CURRENT_* and COMMITTED_* at 0x1E8 and 0x1EC).
public struct SNPFirmwareVersion: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public let major: UInt8
    public let minor: UInt8
    public let build: UInt8

    /// Creates a version.
    public init(major: UInt8, minor: UInt8, build: UInt8) {
        self.major = major
        self.minor = minor
        self.build = build
    }

    init(reading reader: inout LittleEndianReader<SNPError>, prefix: String) throws(SNPError) {
        self.build = try reader.integer(UInt8.self, field: "\(prefix)_BUILD")
        self.minor = try reader.integer(UInt8.self, field: "\(prefix)_MINOR")
        self.major = try reader.integer(UInt8.self, field: "\(prefix)_MAJOR")
        try reader.reserved(1, field: "RESERVED after \(prefix)_MAJOR")
    }

    func write(to writer: inout LittleEndianWriter) {
        writer.bytes([self.build, self.minor, self.major, 0])
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.major, lhs.minor, lhs.build) < (rhs.major, rhs.minor, rhs.build)
    }

    public var description: String { "\(self.major).\(self.minor).\(self.build)" }
}

/// The ECDSA P-384 signature at 0x2A0: R and S as 72-byte little-endian integers whose top 24
/// bytes must be zero, then 368 reserved bytes (SEV-SNP Firmware ABI, pub. 56860, table
/// "ECDSA P-384 with SHA-384 Signature").
public struct SNPSignature: Sendable, Hashable {
    /// R, 48 bytes little-endian.
    public let r: [UInt8]
    /// S, 48 bytes little-endian.
    public let s: [UInt8]

    init(reading reader: inout LittleEndianReader<SNPError>) throws(SNPError) {
        self.r = try reader.bytes(48, field: "SIGNATURE.R")
        try reader.reserved(24, field: "SIGNATURE.R padding")
        self.s = try reader.bytes(48, field: "SIGNATURE.S")
        try reader.reserved(24, field: "SIGNATURE.S padding")
        try reader.reserved(368, field: "SIGNATURE reserved")
    }

    func write(to writer: inout LittleEndianWriter) {
        for component in [self.r, self.s] {
            writer.bytes(component)
            writer.zeros(24)
        }
        writer.zeros(368)
    }

    /// R || S as 48-byte big-endian integers.
    public var rawBigEndian: [UInt8] {
        self.r.reversed() + self.s.reversed()
    }
}
