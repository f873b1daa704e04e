/// TPMA_OBJECT: object attributes (TPM 2.0 Part 2 §8.3).
public struct TPMAObject: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let fixedTPM = Self(rawValue: 1 << 1)
    public static let stClear = Self(rawValue: 1 << 2)
    public static let fixedParent = Self(rawValue: 1 << 4)
    public static let sensitiveDataOrigin = Self(rawValue: 1 << 5)
    public static let userWithAuth = Self(rawValue: 1 << 6)
    public static let adminWithPolicy = Self(rawValue: 1 << 7)
    public static let noDA = Self(rawValue: 1 << 10)
    public static let encryptedDuplication = Self(rawValue: 1 << 11)
    public static let restricted = Self(rawValue: 1 << 16)
    public static let decrypt = Self(rawValue: 1 << 17)
    public static let signEncrypt = Self(rawValue: 1 << 18)
    public static let x509Sign = Self(rawValue: 1 << 19)

    /// Bits Part 2 §8.3.2 reserves; a TPM refuses templates that set them.
    public static let reserved = Self(rawValue: 0xFFF0_F309)
}

/// TPMA_SESSION: session attributes in an authorization area (Part 2 §8.4).
public struct TPMASession: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let continueSession = Self(rawValue: 0x01)
    public static let auditExclusive = Self(rawValue: 0x02)
    public static let auditReset = Self(rawValue: 0x04)
    public static let decrypt = Self(rawValue: 0x20)
    public static let encrypt = Self(rawValue: 0x40)
    public static let audit = Self(rawValue: 0x80)
    public static let reserved = Self(rawValue: 0x18)
}

/// TPMA_NV: NV index attributes (Part 2 §13.4), with the index type TPM_NT in bits 4-7.
public struct TPMANV: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let ppWrite = Self(rawValue: 1 << 0)
    public static let ownerWrite = Self(rawValue: 1 << 1)
    public static let authWrite = Self(rawValue: 1 << 2)
    public static let policyWrite = Self(rawValue: 1 << 3)
    public static let policyDelete = Self(rawValue: 1 << 10)
    public static let writeLocked = Self(rawValue: 1 << 11)
    public static let writeAll = Self(rawValue: 1 << 12)
    public static let writeDefine = Self(rawValue: 1 << 13)
    public static let writeSTClear = Self(rawValue: 1 << 14)
    public static let globalLock = Self(rawValue: 1 << 15)
    public static let ppRead = Self(rawValue: 1 << 16)
    public static let ownerRead = Self(rawValue: 1 << 17)
    public static let authRead = Self(rawValue: 1 << 18)
    public static let policyRead = Self(rawValue: 1 << 19)
    public static let noDA = Self(rawValue: 1 << 25)
    public static let orderly = Self(rawValue: 1 << 26)
    public static let clearSTClear = Self(rawValue: 1 << 27)
    public static let readLocked = Self(rawValue: 1 << 28)
    public static let written = Self(rawValue: 1 << 29)
    public static let platformCreate = Self(rawValue: 1 << 30)
    public static let readSTClear = Self(rawValue: 1 << 31)
    public static let reserved = Self(rawValue: 0x01F0_0300)

    /// TPM_NT: the kind of NV index (Part 2 §13.4, Table 215).
    public enum IndexType: UInt8, Sendable {
        case ordinary = 0, counter = 1, bits = 2, extend = 4, pinFail = 8, pinPass = 9
    }

    public var indexType: IndexType? { IndexType(rawValue: UInt8((rawValue >> 4) & 0xF)) }

    public static func type(_ type: IndexType) -> Self { Self(rawValue: UInt32(type.rawValue) << 4) }
}
