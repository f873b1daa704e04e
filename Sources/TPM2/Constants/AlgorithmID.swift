/// TPM_ALG_ID: an algorithm identifier (TPM 2.0 Part 2 §6.3; values from the TCG Algorithm
/// Registry). A struct rather than an enum so that identifiers this library does not know can
/// still be carried and reported.
public struct TPMAlgorithmID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let rsa = Self(0x0001)
    public static let tdes = Self(0x0003)
    public static let sha1 = Self(0x0004)
    public static let hmac = Self(0x0005)
    public static let aes = Self(0x0006)
    public static let mgf1 = Self(0x0007)
    public static let keyedHash = Self(0x0008)
    public static let xor = Self(0x000A)
    public static let sha256 = Self(0x000B)
    public static let sha384 = Self(0x000C)
    public static let sha512 = Self(0x000D)
    public static let null = Self(0x0010)
    public static let sm3_256 = Self(0x0012)
    public static let sm4 = Self(0x0013)
    public static let rsassa = Self(0x0014)
    public static let rsaes = Self(0x0015)
    public static let rsapss = Self(0x0016)
    public static let oaep = Self(0x0017)
    public static let ecdsa = Self(0x0018)
    public static let ecdh = Self(0x0019)
    public static let ecdaa = Self(0x001A)
    public static let sm2 = Self(0x001B)
    public static let ecschnorr = Self(0x001C)
    public static let ecmqv = Self(0x001D)
    public static let kdf1SP800_56A = Self(0x0020)
    public static let kdf2 = Self(0x0021)
    public static let kdf1SP800_108 = Self(0x0022)
    public static let ecc = Self(0x0023)
    public static let symCipher = Self(0x0025)
    public static let camellia = Self(0x0026)
    public static let sha3_256 = Self(0x0027)
    public static let sha3_384 = Self(0x0028)
    public static let sha3_512 = Self(0x0029)
    public static let cmac = Self(0x003F)
    public static let ctr = Self(0x0040)
    public static let ofb = Self(0x0041)
    public static let cbc = Self(0x0042)
    public static let cfb = Self(0x0043)
    public static let ecb = Self(0x0044)

    private static let names: [UInt16: String] = [
        0x0001: "rsa", 0x0003: "tdes", 0x0004: "sha1", 0x0005: "hmac", 0x0006: "aes", 0x0007: "mgf1",
        0x0008: "keyedhash", 0x000A: "xor", 0x000B: "sha256", 0x000C: "sha384", 0x000D: "sha512",
        0x0010: "null", 0x0012: "sm3_256", 0x0013: "sm4", 0x0014: "rsassa", 0x0015: "rsaes",
        0x0016: "rsapss", 0x0017: "oaep", 0x0018: "ecdsa", 0x0019: "ecdh", 0x001A: "ecdaa", 0x001B: "sm2",
        0x001C: "ecschnorr", 0x001D: "ecmqv", 0x0020: "kdf1_sp800_56a", 0x0021: "kdf2",
        0x0022: "kdf1_sp800_108", 0x0023: "ecc", 0x0025: "symcipher", 0x0026: "camellia",
        0x0027: "sha3_256", 0x0028: "sha3_384", 0x0029: "sha3_512", 0x003F: "cmac", 0x0040: "ctr",
        0x0041: "ofb", 0x0042: "cbc", 0x0043: "cfb", 0x0044: "ecb",
    ]

    public var name: String? { Self.names[rawValue] }
    public var description: String { name ?? "alg(0x\(String(rawValue, radix: 16)))" }

    /// Every identifier this library has a name for, in numeric order.
    public static var allNamed: [TPMAlgorithmID] { names.keys.sorted().map { Self(rawValue: $0) } }

    /// Looks an algorithm up by its registry name ("sha256", "ecc"...).
    public init?(name: String) {
        guard let entry = Self.names.first(where: { $0.value == name.lowercased() }) else { return nil }
        self.rawValue = entry.key
    }
}

extension TPMAlgorithmID: TPMMarshalable {
    public init(from reader: inout TPMReader) throws(TPMMarshalError) {
        self.init(try reader.u16("TPM_ALG_ID"))
    }
    public func marshal(into writer: inout TPMWriter) { writer.u16(rawValue) }
}

/// TPM_ECC_CURVE (Part 2 §6.4).
public struct TPMECCCurve: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let nistP192 = Self(0x0001)
    public static let nistP224 = Self(0x0002)
    public static let nistP256 = Self(0x0003)
    public static let nistP384 = Self(0x0004)
    public static let nistP521 = Self(0x0005)
    public static let bnP256 = Self(0x0010)
    public static let bnP638 = Self(0x0011)
    public static let sm2P256 = Self(0x0020)

    /// Size in bytes of a coordinate or scalar on the curve, for the curves this library knows.
    public var coordinateSize: Int? {
        switch self {
        case .nistP192: 24
        case .nistP224: 28
        case .nistP256, .bnP256, .sm2P256: 32
        case .nistP384: 48
        case .nistP521: 66
        case .bnP638: 80
        default: nil
        }
    }

    public var description: String {
        switch self {
        case .nistP192: "NIST P-192"
        case .nistP224: "NIST P-224"
        case .nistP256: "NIST P-256"
        case .nistP384: "NIST P-384"
        case .nistP521: "NIST P-521"
        case .bnP256: "BN P-256"
        case .bnP638: "BN P-638"
        case .sm2P256: "SM2 P-256"
        default: "curve(0x\(String(rawValue, radix: 16)))"
        }
    }
}
