import Crypto
import Foundation

/// A TPM_ALG_ID naming a hash algorithm (TPM 2.0 Library Part 2 §6.3, TCG Algorithm Registry).
/// The set is open: logs may declare algorithms this library does not know.
public struct TPMAlgorithm: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let sha1 = TPMAlgorithm(rawValue: 0x0004)
    public static let sha256 = TPMAlgorithm(rawValue: 0x000B)
    public static let sha384 = TPMAlgorithm(rawValue: 0x000C)
    public static let sha512 = TPMAlgorithm(rawValue: 0x000D)
    public static let sm3_256 = TPMAlgorithm(rawValue: 0x0012)

    /// The digest size fixed by the algorithm registry, or nil for an unknown algorithm.
    public var digestSize: Int? {
        switch self {
        case .sha1: 20
        case .sha256, .sm3_256: 32
        case .sha384: 48
        case .sha512: 64
        default: nil
        }
    }

    /// The lowercase name used in `*.pcrs.json` files and tools (`sha256`), or `alg_0x…`.
    public var description: String {
        switch self {
        case .sha1: "sha1"
        case .sha256: "sha256"
        case .sha384: "sha384"
        case .sha512: "sha512"
        case .sm3_256: "sm3_256"
        default: "alg_0x" + String(rawValue, radix: 16)
        }
    }

    /// Parses a name as printed by `description`.
    public init?(name: String) {
        guard let match = [TPMAlgorithm.sha1, .sha256, .sha384, .sha512, .sm3_256].first(where: { $0.description == name })
        else { return nil }
        self = match
    }

    /// Whether this library can compute the algorithm (swift-crypto has no SM3).
    public var isSupported: Bool { hash([]) != nil }

    /// The digest of `data`, or nil if the algorithm is not supported.
    public func hash<D: DataProtocol>(_ data: D) -> [UInt8]? {
        switch self {
        case .sha1: Array(Insecure.SHA1.hash(data: data))
        case .sha256: Array(SHA256.hash(data: data))
        case .sha384: Array(SHA384.hash(data: data))
        case .sha512: Array(SHA512.hash(data: data))
        default: nil
        }
    }

    public static func < (lhs: TPMAlgorithm, rhs: TPMAlgorithm) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One TPMT_HA entry of a TPML_DIGEST_VALUES (PFP v1.06 §10.2.2), or the SHA-1 digest of a
/// TCG_PCClientPCREvent (§10.2.1).
public struct TCGDigest: Hashable, Sendable {
    public var algorithm: TPMAlgorithm
    public var bytes: [UInt8]

    public init(algorithm: TPMAlgorithm, bytes: [UInt8]) {
        self.algorithm = algorithm
        self.bytes = bytes
    }
}

/// A TCG event type (PFP v1.06 §10.4.1, Table "Events"). Unknown values are kept as they are.
public struct EventType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let prebootCert = EventType(rawValue: 0x0000_0000)
    public static let postCode = EventType(rawValue: 0x0000_0001)
    public static let noAction = EventType(rawValue: 0x0000_0003)
    public static let separator = EventType(rawValue: 0x0000_0004)
    public static let action = EventType(rawValue: 0x0000_0005)
    public static let eventTag = EventType(rawValue: 0x0000_0006)
    public static let sCRTMContents = EventType(rawValue: 0x0000_0007)
    public static let sCRTMVersion = EventType(rawValue: 0x0000_0008)
    public static let cpuMicrocode = EventType(rawValue: 0x0000_0009)
    public static let platformConfigFlags = EventType(rawValue: 0x0000_000A)
    public static let tableOfDevices = EventType(rawValue: 0x0000_000B)
    public static let compactHash = EventType(rawValue: 0x0000_000C)
    public static let ipl = EventType(rawValue: 0x0000_000D)
    public static let iplPartitionData = EventType(rawValue: 0x0000_000E)
    public static let nonhostCode = EventType(rawValue: 0x0000_000F)
    public static let nonhostConfig = EventType(rawValue: 0x0000_0010)
    public static let nonhostInfo = EventType(rawValue: 0x0000_0011)
    public static let omitBootDeviceEvents = EventType(rawValue: 0x0000_0012)
    public static let efiVariableDriverConfig = EventType(rawValue: 0x8000_0001)
    public static let efiVariableBoot = EventType(rawValue: 0x8000_0002)
    public static let efiBootServicesApplication = EventType(rawValue: 0x8000_0003)
    public static let efiBootServicesDriver = EventType(rawValue: 0x8000_0004)
    public static let efiRuntimeServicesDriver = EventType(rawValue: 0x8000_0005)
    public static let efiGPTEvent = EventType(rawValue: 0x8000_0006)
    public static let efiAction = EventType(rawValue: 0x8000_0007)
    public static let efiPlatformFirmwareBlob = EventType(rawValue: 0x8000_0008)
    public static let efiHandoffTables = EventType(rawValue: 0x8000_0009)
    public static let efiPlatformFirmwareBlob2 = EventType(rawValue: 0x8000_000A)
    public static let efiHandoffTables2 = EventType(rawValue: 0x8000_000B)
    public static let efiVariableBoot2 = EventType(rawValue: 0x8000_000C)
    public static let efiGPTEvent2 = EventType(rawValue: 0x8000_000D)
    public static let efiHCRTMEvent = EventType(rawValue: 0x8000_0010)
    public static let efiVariableAuthority = EventType(rawValue: 0x8000_00E0)
    public static let efiSPDMFirmwareBlob = EventType(rawValue: 0x8000_00E1)
    public static let efiSPDMFirmwareConfig = EventType(rawValue: 0x8000_00E2)
    public static let efiSPDMDevicePolicy = EventType(rawValue: 0x8000_00E3)
    public static let efiSPDMDeviceAuthority = EventType(rawValue: 0x8000_00E4)

    private static let names: [UInt32: String] = [
        0x0: "EV_PREBOOT_CERT", 0x1: "EV_POST_CODE", 0x2: "EV_UNUSED", 0x3: "EV_NO_ACTION",
        0x4: "EV_SEPARATOR", 0x5: "EV_ACTION", 0x6: "EV_EVENT_TAG", 0x7: "EV_S_CRTM_CONTENTS",
        0x8: "EV_S_CRTM_VERSION", 0x9: "EV_CPU_MICROCODE", 0xA: "EV_PLATFORM_CONFIG_FLAGS",
        0xB: "EV_TABLE_OF_DEVICES", 0xC: "EV_COMPACT_HASH", 0xD: "EV_IPL", 0xE: "EV_IPL_PARTITION_DATA",
        0xF: "EV_NONHOST_CODE", 0x10: "EV_NONHOST_CONFIG", 0x11: "EV_NONHOST_INFO",
        0x12: "EV_OMIT_BOOT_DEVICE_EVENTS", 0x13: "EV_POST_CODE2",
        0x8000_0001: "EV_EFI_VARIABLE_DRIVER_CONFIG", 0x8000_0002: "EV_EFI_VARIABLE_BOOT",
        0x8000_0003: "EV_EFI_BOOT_SERVICES_APPLICATION", 0x8000_0004: "EV_EFI_BOOT_SERVICES_DRIVER",
        0x8000_0005: "EV_EFI_RUNTIME_SERVICES_DRIVER", 0x8000_0006: "EV_EFI_GPT_EVENT",
        0x8000_0007: "EV_EFI_ACTION", 0x8000_0008: "EV_EFI_PLATFORM_FIRMWARE_BLOB",
        0x8000_0009: "EV_EFI_HANDOFF_TABLES", 0x8000_000A: "EV_EFI_PLATFORM_FIRMWARE_BLOB2",
        0x8000_000B: "EV_EFI_HANDOFF_TABLES2", 0x8000_000C: "EV_EFI_VARIABLE_BOOT2",
        0x8000_000D: "EV_EFI_GPT_EVENT2", 0x8000_0010: "EV_EFI_HCRTM_EVENT",
        0x8000_00E0: "EV_EFI_VARIABLE_AUTHORITY", 0x8000_00E1: "EV_EFI_SPDM_FIRMWARE_BLOB",
        0x8000_00E2: "EV_EFI_SPDM_FIRMWARE_CONFIG", 0x8000_00E3: "EV_EFI_SPDM_DEVICE_POLICY",
        0x8000_00E4: "EV_EFI_SPDM_DEVICE_AUTHORITY",
    ]

    /// The spec name (`EV_SEPARATOR`), or the hex value for an unknown type.
    public var description: String {
        EventType.names[rawValue] ?? "0x" + String(rawValue, radix: 16, uppercase: true)
    }
}

/// An EFI_GUID (UEFI 2.10 Appendix A): stored as its 16 wire bytes, printed in the registry
/// format whose first three groups are little-endian.
public struct EFIGUID: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: some Collection<UInt8>) {
        precondition(bytes.count == 16, "an EFI_GUID is 16 bytes")
        self.bytes = Array(bytes)
    }

    /// Parses the registry format, e.g. `8BE4DF61-93CA-11D2-AA0D-00E098032B8C`.
    public init?(_ text: String) {
        let groups = text.split(separator: "-")
        guard groups.map(\.count) == [8, 4, 4, 4, 12] else { return nil }
        var wire: [UInt8] = []
        for (index, group) in groups.enumerated() {
            guard let value = [UInt8](hex: String(group)) else { return nil }
            wire += index < 3 ? value.reversed() : value
        }
        self.bytes = wire
    }

    public var description: String {
        let b = bytes
        let groups = [b[0..<4].reversed(), b[4..<6].reversed(), b[6..<8].reversed(), Array(b[8..<10]), Array(b[10..<16])]
        return groups.map { $0.hexString.uppercased() }.joined(separator: "-")
    }

    /// EFI_GLOBAL_VARIABLE (UEFI 2.10 §3.3): SecureBoot, PK, KEK, Boot####, BootOrder.
    public static let globalVariable = EFIGUID("8BE4DF61-93CA-11D2-AA0D-00E098032B8C")!
    /// EFI_IMAGE_SECURITY_DATABASE_GUID (UEFI 2.10 §32): the db and dbx variables.
    public static let imageSecurityDatabase = EFIGUID("D719B2CB-3D3A-4596-A3BC-DAD00E67656F")!
    /// EFI_CERT_X509_GUID (UEFI 2.10 §32.4.1).
    public static let certX509 = EFIGUID("A5C059A1-94E4-4AA7-87B5-AB155C2BF072")!
    /// EFI_CERT_SHA256_GUID (UEFI 2.10 §32.4.1).
    public static let certSHA256 = EFIGUID("C1C41626-504C-4092-ACA9-41F936934328")!
}

extension Collection where Element == UInt8 {
    /// Lowercase hex, two digits per byte.
    var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Array where Element == UInt8 {
    /// Parses an even-length hex string (either case); nil if it is not one.
    init?(hex: String) {
        let utf8 = Array(hex.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let high = nibble(utf8[i]), let low = nibble(utf8[i + 1]) else { return nil }
            bytes.append(high << 4 | low)
            i += 2
        }
        self = bytes
    }
}

extension TCGDigest: CustomStringConvertible {
    /// `sha256:ab12…` with the full digest in lowercase hex.
    public var description: String { "\(algorithm):\(bytes.hexString)" }
    /// The digest in lowercase hex.
    public var hex: String { bytes.hexString }
}
