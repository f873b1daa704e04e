/// A scheme selector with its details, as the TPMT_*_SCHEME unions share them (TPM 2.0 Part 2
/// §11.1.7 TPMT_KEYEDHASH_SCHEME, §11.2.1.5 TPMT_SIG_SCHEME, §11.2.3.2 TPMT_KDF_SCHEME,
/// §11.2.4.2 TPMT_RSA_SCHEME, §11.2.5.6 TPMT_ECC_SCHEME). Which selectors are allowed depends
/// on where the scheme appears; the reader takes that set.
public struct TPMTScheme: Hashable, Sendable {
    public var scheme: TPMAlgorithmID
    /// The hash of TPMS_SCHEME_HASH-style details; `.null` when the scheme has none.
    public var hashAlg: TPMAlgorithmID
    /// ECDAA's commit count.
    public var count: UInt16
    /// XOR's key derivation function.
    public var kdf: TPMAlgorithmID

    public init(_ scheme: TPMAlgorithmID, hash: TPMAlgorithmID = .null, count: UInt16 = 0, kdf: TPMAlgorithmID = .null) {
        self.scheme = scheme
        self.hashAlg = hash
        self.count = count
        self.kdf = kdf
    }

    public static let null = Self(.null)

    /// Selectors that each context allows.
    public static let keyedHashSchemes: Set<TPMAlgorithmID> = [.hmac, .xor, .null]
    public static let signatureSchemes: Set<TPMAlgorithmID> = [.rsassa, .rsapss, .ecdsa, .ecdaa, .sm2, .ecschnorr, .hmac, .null]
    public static let rsaSchemes: Set<TPMAlgorithmID> = [.rsassa, .rsapss, .rsaes, .oaep, .null]
    public static let rsaDecryptSchemes: Set<TPMAlgorithmID> = [.rsaes, .oaep, .null]
    public static let eccSchemes: Set<TPMAlgorithmID> = [.ecdsa, .ecdaa, .sm2, .ecschnorr, .ecdh, .ecmqv, .null]
    public static let kdfSchemes: Set<TPMAlgorithmID> = [.mgf1, .kdf1SP800_56A, .kdf2, .kdf1SP800_108, .null]

    public init(from reader: inout TPMReader, field: String, allowed: Set<TPMAlgorithmID>) throws(TPMMarshalError) {
        let start = reader.offset
        let scheme = try TPMAlgorithmID(from: &reader)
        guard allowed.contains(scheme) else { throw reader.error(field + ".scheme", selector: scheme.rawValue, at: start) }
        self.init(scheme)
        switch scheme {
        case .null, .rsaes:
            break
        case .ecdaa:
            hashAlg = try TPMAlgorithmID(from: &reader)
            count = try reader.u16(field + ".count")
        case .xor:
            hashAlg = try TPMAlgorithmID(from: &reader)
            kdf = try TPMAlgorithmID(from: &reader)
        default:
            hashAlg = try TPMAlgorithmID(from: &reader)
        }
    }

    public func marshal(into writer: inout TPMWriter) {
        writer.write(scheme)
        switch scheme {
        case .null, .rsaes:
            break
        case .ecdaa:
            writer.write(hashAlg)
            writer.u16(count)
        case .xor:
            writer.write(hashAlg)
            writer.write(kdf)
        default:
            writer.write(hashAlg)
        }
    }
}

/// TPMT_SYM_DEF and TPMT_SYM_DEF_OBJECT: a symmetric algorithm, key size and mode (Part 2
/// §11.1.6-11.1.7). For XOR (allowed only in TPMT_SYM_DEF) `keyBits` holds the hash algorithm
/// and there is no mode.
public struct TPMTSymDef: Hashable, Sendable {
    public var algorithm: TPMAlgorithmID
    public var keyBits: UInt16
    public var mode: TPMAlgorithmID

    public init(_ algorithm: TPMAlgorithmID, keyBits: UInt16 = 0, mode: TPMAlgorithmID = .null) {
        self.algorithm = algorithm
        self.keyBits = keyBits
        self.mode = mode
    }

    public static let null = Self(.null)
    public static let aes128CFB = Self(.aes, keyBits: 128, mode: .cfb)

    public init(from reader: inout TPMReader, field: String, allowXOR: Bool) throws(TPMMarshalError) {
        let start = reader.offset
        let algorithm = try TPMAlgorithmID(from: &reader)
        var allowed: Set<TPMAlgorithmID> = [.aes, .sm4, .camellia, .tdes, .null]
        if allowXOR { allowed.insert(.xor) }
        guard allowed.contains(algorithm) else { throw reader.error(field + ".algorithm", selector: algorithm.rawValue, at: start) }
        self.init(algorithm)
        guard algorithm != .null else { return }
        keyBits = try reader.u16(field + ".keyBits")
        if algorithm != .xor { mode = try TPMAlgorithmID(from: &reader) }
    }

    public func marshal(into writer: inout TPMWriter) {
        writer.write(algorithm)
        guard algorithm != .null else { return }
        writer.u16(keyBits)
        if algorithm != .xor { writer.write(mode) }
    }
}
