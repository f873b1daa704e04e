/// TPM_HANDLE: a 32-bit handle whose top byte is its type (TPM 2.0 Part 2 §7).
public struct TPMHandle: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    /// TPM_HT: the handle types of Part 2 §7.2.
    public enum Kind: UInt8, Sendable {
        case pcr = 0x00
        case nvIndex = 0x01
        case hmacSession = 0x02
        case policySession = 0x03
        case permanent = 0x40
        case transient = 0x80
        case persistent = 0x81
        case attachedComponent = 0x90
    }

    public var kind: Kind? { Kind(rawValue: UInt8(rawValue >> 24)) }

    // Permanent handles (Part 2 §7.4).
    public static let owner = Self(0x4000_0001)
    public static let null = Self(0x4000_0007)
    public static let unassigned = Self(0x4000_0008)
    public static let password = Self(0x4000_0009)
    public static let lockout = Self(0x4000_000A)
    public static let endorsement = Self(0x4000_000B)
    public static let platform = Self(0x4000_000C)
    public static let platformNV = Self(0x4000_000D)

    public static func pcr(_ index: Int) -> Self { Self(UInt32(index)) }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "0x" + String(rawValue, radix: 16, uppercase: false) }
}

extension TPMHandle: TPMMarshalable {
    public init(from reader: inout TPMReader) throws(TPMMarshalError) {
        self.init(try reader.u32("TPM_HANDLE"))
    }
    public func marshal(into writer: inout TPMWriter) { writer.u32(rawValue) }
}

/// TPM_ST: structure tags (TPM 2.0 Part 2 §6.9).
public enum TPMStructureTag: UInt16, Sendable {
    case responseCommand = 0x00C4
    case null = 0x8000
    case noSessions = 0x8001
    case sessions = 0x8002
    case attestNV = 0x8014
    case attestCommandAudit = 0x8015
    case attestSessionAudit = 0x8016
    case attestCertify = 0x8017
    case attestQuote = 0x8018
    case attestTime = 0x8019
    case attestCreation = 0x801A
    case attestNVDigest = 0x801C
    case creation = 0x8021
    case verified = 0x8022
    case authSecret = 0x8023
    case hashCheck = 0x8024
    case authSigned = 0x8025
    case fuManifest = 0x8029
}

/// TPM_CAP: capability selectors for TPM2_GetCapability (Part 2 §6.12).
public enum TPMCapability: UInt32, Sendable {
    case algorithms = 0
    case handles = 1
    case commands = 2
    case ppCommands = 3
    case auditCommands = 4
    case pcrs = 5
    case tpmProperties = 6
    case pcrProperties = 7
    case eccCurves = 8
    case authPolicies = 9
    case act = 10
}

/// TPM_PT: TPM property tags (Part 2 §6.13); fixed properties start at 0x100 (PT_FIXED),
/// variable ones at 0x200 (PT_VAR).
public enum TPMPropertyTag: UInt32, Sendable, CaseIterable {
    case familyIndicator = 0x100, level, revision, dayOfYear, year, manufacturer
    case vendorString1, vendorString2, vendorString3, vendorString4, vendorTPMType
    case firmwareVersion1, firmwareVersion2, inputBuffer, hrTransientMin, hrPersistentMin
    case hrLoadedMin, activeSessionsMax, pcrCount, pcrSelectMin, contextGapMax
    case nvCountersMax = 0x116, nvIndexMax, memory, clockUpdate, contextHash, contextSym
    case contextSymSize, orderlyCount, maxCommandSize, maxResponseSize, maxDigest
    case maxObjectContext, maxSessionContext, psFamilyIndicator, psLevel, psRevision
    case psDayOfYear, psYear, splitMax, totalCommands, libraryCommands, vendorCommands
    case nvBufferMax, modes, maxCapBuffer
    case permanent = 0x200, startupClear, hrNVIndex, hrLoaded, hrLoadedAvail, hrActive
    case hrActiveAvail, hrTransientAvail, hrPersistent, hrPersistentAvail, nvCounters
    case nvCountersAvail, algorithmSet, loadedCurves, lockoutCounter, maxAuthFail
    case lockoutInterval, lockoutRecovery, nvWriteRecovery, auditCounter0, auditCounter1
}
