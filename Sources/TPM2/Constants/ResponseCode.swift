/// TPM_RC: a response code (TPM 2.0 Part 2 §6.6). Format-one codes carry the number of the
/// handle, parameter or session they concern (§6.6.3, Table 17), built with `parameter(_:)`,
/// `handle(_:)` and `session(_:)`.
public struct TPMResponseCode: RawRepresentable, Hashable, Sendable, Error, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    public static let success = Self(0x000)

    // Format-zero, version-1 errors (RC_VER1 = 0x100).
    public static let initialize = Self(0x100)
    public static let failure = Self(0x101)
    public static let sequence = Self(0x103)
    public static let `private` = Self(0x10B)
    public static let hmac = Self(0x119)
    public static let disabled = Self(0x120)
    public static let exclusive = Self(0x121)
    public static let authType = Self(0x124)
    public static let authMissing = Self(0x125)
    public static let policy = Self(0x126)
    public static let pcr = Self(0x127)
    public static let pcrChanged = Self(0x128)
    public static let upgrade = Self(0x12D)
    public static let tooManyContexts = Self(0x12E)
    public static let authUnavailable = Self(0x12F)
    public static let reboot = Self(0x130)
    public static let unbalanced = Self(0x131)
    public static let commandSize = Self(0x142)
    public static let commandCode = Self(0x143)
    public static let authSize = Self(0x144)
    public static let authContext = Self(0x145)
    public static let nvRange = Self(0x146)
    public static let nvSize = Self(0x147)
    public static let nvLocked = Self(0x148)
    public static let nvAuthorization = Self(0x149)
    public static let nvUninitialized = Self(0x14A)
    public static let nvSpace = Self(0x14B)
    public static let nvDefined = Self(0x14C)
    public static let badContext = Self(0x150)
    public static let cpHash = Self(0x151)
    public static let parent = Self(0x152)
    public static let needsTest = Self(0x153)
    public static let noResult = Self(0x154)
    public static let sensitive = Self(0x155)

    // Format-one errors (RC_FMT1 = 0x080).
    public static let asymmetric = Self(0x081)
    public static let attributes = Self(0x082)
    public static let hash = Self(0x083)
    public static let value = Self(0x084)
    public static let hierarchy = Self(0x085)
    public static let keySize = Self(0x087)
    public static let mgf = Self(0x088)
    public static let mode = Self(0x089)
    public static let type = Self(0x08A)
    public static let handle = Self(0x08B)
    public static let kdf = Self(0x08C)
    public static let range = Self(0x08D)
    public static let authFail = Self(0x08E)
    public static let nonce = Self(0x08F)
    public static let pp = Self(0x090)
    public static let scheme = Self(0x092)
    public static let size = Self(0x095)
    public static let symmetric = Self(0x096)
    public static let tag = Self(0x097)
    public static let selector = Self(0x098)
    public static let insufficient = Self(0x09A)
    public static let signature = Self(0x09B)
    public static let key = Self(0x09C)
    public static let policyFail = Self(0x09D)
    public static let integrity = Self(0x09F)
    public static let ticket = Self(0x0A0)
    public static let reservedBits = Self(0x0A1)
    public static let badAuth = Self(0x0A2)
    public static let expired = Self(0x0A3)
    public static let policyCC = Self(0x0A4)
    public static let binding = Self(0x0A5)
    public static let curve = Self(0x0A6)
    public static let eccPoint = Self(0x0A7)

    // Warnings (RC_WARN = 0x900).
    public static let contextGap = Self(0x901)
    public static let objectMemory = Self(0x902)
    public static let sessionMemory = Self(0x903)
    public static let memory = Self(0x904)
    public static let sessionHandles = Self(0x905)
    public static let objectHandles = Self(0x906)
    public static let locality = Self(0x907)
    public static let yielded = Self(0x908)
    public static let canceled = Self(0x909)
    public static let testing = Self(0x90A)
    public static let nvRate = Self(0x920)
    public static let lockout = Self(0x921)
    public static let retry = Self(0x922)
    public static let nvUnavailable = Self(0x923)
    /// TPM_RC_REFERENCE_H0...H6: the nth handle (0-based) names a transient object or session
    /// that is not loaded.
    public static func referenceH(_ index: Int) -> Self { Self(0x910 + UInt32(index & 0x7)) }
    /// TPM_RC_REFERENCE_S0...S6: the nth session (0-based) is not loaded.
    public static func referenceS(_ index: Int) -> Self { Self(0x918 + UInt32(index & 0x7)) }

    public var isFormatOne: Bool { rawValue & 0x080 != 0 }

    /// The code with the "which parameter" field set (RC_P | n << 8), for format-one codes.
    public func parameter(_ number: Int) -> Self { numbered(0x040 | UInt32(number & 0xF) << 8) }
    /// The code with the "which handle" field set (n << 8, n in 1...7).
    public func handle(_ number: Int) -> Self { numbered(UInt32(number & 0x7) << 8) }
    /// The code with the "which session" field set (RC_S | n << 8, n in 1...7).
    public func session(_ number: Int) -> Self { numbered(0x800 | UInt32(number & 0x7) << 8) }

    private func numbered(_ bits: UInt32) -> Self {
        isFormatOne ? Self(rawValue & 0x0BF | bits) : self
    }

    /// The code without its handle/parameter/session number.
    public var base: Self { isFormatOne ? Self(rawValue & 0x0BF) : self }

    public var description: String {
        guard self != .success else { return "TPM_RC_SUCCESS" }
        var text = "TPM_RC 0x\(String(rawValue, radix: 16))"
        if isFormatOne {
            let number = (rawValue >> 8) & 0xF
            if rawValue & 0x040 != 0 {
                text += " (parameter \(number))"
            } else if rawValue & 0x800 != 0 {
                text += " (session \(number & 0x7))"
            } else if number != 0 {
                text += " (handle \(number))"
            }
        }
        return text
    }
}
