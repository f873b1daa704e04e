import Foundation

/// The guest policy the hypervisor launched the guest with, reported at 0x008
/// (SEV-SNP Firmware ABI, pub. 56860 rev 1.57, §4.3 "Guest Policy", Table 10 "Guest Policy Structure").
public struct SNPGuestPolicy: Sendable, Hashable {
    /// The 64-bit POLICY value.
    public let rawValue: UInt64

    /// Wraps a POLICY value, rejecting it unless bit 17 is one and bits 63:26 are zero as the
    /// specification requires. `offset` is where the field sits, for error messages.
    public init(rawValue: UInt64, offset: Int = 0x08) throws(SNPError) {
        guard rawValue & (1 << 17) != 0 else {
            throw .reservedBitNotOne(field: "POLICY bit 17", offset: offset + 2)
        }
        try requireZero(rawValue, above: 25, field: "POLICY bits 63:26", offset: offset)
        self.rawValue = rawValue
    }

    /// Minimum ABI minor version the firmware must implement (bits 7:0).
    public var abiMinor: UInt8 { UInt8(truncatingIfNeeded: self.rawValue) }
    /// Minimum ABI major version the firmware must implement (bits 15:8).
    public var abiMajor: UInt8 { UInt8(truncatingIfNeeded: self.rawValue >> 8) }
    /// Bit 16: simultaneous multithreading is allowed.
    public var smtAllowed: Bool { bit(self.rawValue, 16) }
    /// Bit 18: association with a migration agent is allowed.
    public var migrationAgentAllowed: Bool { bit(self.rawValue, 18) }
    /// Bit 19: debugging (and so host access to guest memory) is allowed.
    public var debugAllowed: Bool { bit(self.rawValue, 19) }
    /// Bit 20: the guest may only run on a single socket.
    public var singleSocketRequired: Bool { bit(self.rawValue, 20) }
    /// Bit 21: CXL memory may be populated with guest memory.
    public var cxlAllowed: Bool { bit(self.rawValue, 21) }
    /// Bit 22: AES-256-XTS memory encryption is required.
    public var memAES256XTSRequired: Bool { bit(self.rawValue, 22) }
    /// Bit 23: running average power limit (RAPL) must be disabled.
    public var raplDisabledRequired: Bool { bit(self.rawValue, 23) }
    /// Bit 24: ciphertext hiding for DRAM must be enabled.
    public var ciphertextHidingRequired: Bool { bit(self.rawValue, 24) }
    /// Bit 25: the guest's pages may not be swapped (SNP_PAGE_MOVE and friends are disabled).
    public var pageSwapDisabled: Bool { bit(self.rawValue, 25) }
}

/// What the platform had enabled when the report was made, reported at 0x040
/// (SEV-SNP Firmware ABI, pub. 56860 rev 1.57, §7.3, Table 23 "ATTESTATION_REPORT Structure",
/// PLATFORM_INFO at 0x040).
public struct SNPPlatformInfo: Sendable, Hashable {
    /// The 64-bit PLATFORM_INFO value.
    public let rawValue: UInt64

    /// Wraps a PLATFORM_INFO value, rejecting reserved bit 6 and bits 63:8.
    public init(rawValue: UInt64, offset: Int = 0x40) throws(SNPError) {
        guard !bit(rawValue, 6) else {
            throw .reservedFieldNotZero(field: "PLATFORM_INFO bit 6", offset: offset)
        }
        try requireZero(rawValue, above: 7, field: "PLATFORM_INFO bits 63:8", offset: offset)
        self.rawValue = rawValue
    }

    /// Bit 0: SMT is enabled in the system.
    public var smtEnabled: Bool { bit(self.rawValue, 0) }
    /// Bit 1: transparent SME is enabled.
    public var tsmeEnabled: Bool { bit(self.rawValue, 1) }
    /// Bit 2: the platform uses error-correcting memory.
    public var eccEnabled: Bool { bit(self.rawValue, 2) }
    /// Bit 3: running average power limit is disabled.
    public var raplDisabled: Bool { bit(self.rawValue, 3) }
    /// Bit 4: ciphertext hiding for DRAM is enabled.
    public var ciphertextHidingEnabled: Bool { bit(self.rawValue, 4) }
    /// Bit 5: the memory alias check completed since the last boot.
    public var aliasCheckComplete: Bool { bit(self.rawValue, 5) }
    /// Bit 7: SEV-TIO (trusted I/O) is enabled.
    public var tioEnabled: Bool { bit(self.rawValue, 7) }
}

/// The key that signed a report, bits 4:2 of the word at 0x048 (SEV-SNP Firmware ABI, pub. 56860,
/// rev 1.57, §7.3, Table 23 "ATTESTATION_REPORT Structure", SIGNING_KEY).
/// Encodes in JSON by ``name``.
public enum SNPSigningKey: UInt8, Sendable, Hashable, Codable, CaseIterable {
    /// Versioned Chip Endorsement Key, unique to the chip and its TCB.
    case vcek = 0
    /// Versioned Loaded Endorsement Key, provisioned by a cloud provider through AMD.
    case vlek = 1
    /// The report is unsigned.
    case none = 7

    /// The key's name as AMD spells it.
    public var name: String {
        switch self {
        case .vcek: "VCEK"
        case .vlek: "VLEK"
        case .none: "none"
        }
    }

    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let key = Self.allCases.first(where: { $0.name.caseInsensitiveCompare(name) == .orderedSame }) else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath, debugDescription: "\"\(name)\" is not VCEK, VLEK or none"))
        }
        self = key
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.name)
    }
}

private func bit(_ value: UInt64, _ index: Int) -> Bool {
    value & (1 << index) != 0
}

/// Throws if any bit above `bit` is set, naming the byte offset of the lowest offending byte.
func requireZero(_ value: UInt64, above bit: Int, field: String, offset: Int) throws(SNPError) {
    let excess = (value >> (bit + 1)) << (bit + 1)
    guard excess == 0 else {
        throw .reservedFieldNotZero(field: field, offset: offset + excess.trailingZeroBitCount / 8)
    }
}
