/// TPMS_RSA_PARMS (TPM 2.0 Part 2 §12.2.3.5).
public struct TPMSRSAParms: Hashable, Sendable {
    public var symmetric: TPMTSymDef
    public var scheme: TPMTScheme
    public var keyBits: UInt16
    /// 0 means the default exponent 65537.
    public var exponent: UInt32

    public init(symmetric: TPMTSymDef = .null, scheme: TPMTScheme = .null, keyBits: UInt16 = 2048, exponent: UInt32 = 0) {
        self.symmetric = symmetric
        self.scheme = scheme
        self.keyBits = keyBits
        self.exponent = exponent
    }
}

/// TPMS_ECC_PARMS (Part 2 §12.2.3.6).
public struct TPMSECCParms: Hashable, Sendable {
    public var symmetric: TPMTSymDef
    public var scheme: TPMTScheme
    public var curve: TPMECCCurve
    public var kdf: TPMTScheme

    public init(symmetric: TPMTSymDef = .null, scheme: TPMTScheme = .null, curve: TPMECCCurve = .nistP256, kdf: TPMTScheme = .null) {
        self.symmetric = symmetric
        self.scheme = scheme
        self.curve = curve
        self.kdf = kdf
    }
}

/// TPMU_PUBLIC_PARMS, selected by the object type (Part 2 §12.2.3.7).
public enum TPMUPublicParms: Hashable, Sendable {
    case keyedHash(TPMTScheme)
    case symCipher(TPMTSymDef)
    case rsa(TPMSRSAParms)
    case ecc(TPMSECCParms)

    public var type: TPMAlgorithmID {
        switch self {
        case .keyedHash: .keyedHash
        case .symCipher: .symCipher
        case .rsa: .rsa
        case .ecc: .ecc
        }
    }

    /// The symmetric algorithm of a storage key's parameters, or nil for other objects.
    public var symmetric: TPMTSymDef? {
        switch self {
        case let .rsa(p): p.symmetric
        case let .ecc(p): p.symmetric
        case let .symCipher(s): s
        case .keyedHash: nil
        }
    }

    /// Reads TPMT_PUBLIC_PARMS-style parameters for `type`.
    public init(type: TPMAlgorithmID, from reader: inout TPMReader, at start: Int) throws(TPMMarshalError) {
        switch type {
        case .keyedHash:
            self = .keyedHash(try TPMTScheme(from: &reader, field: "TPMS_KEYEDHASH_PARMS", allowed: TPMTScheme.keyedHashSchemes))
        case .symCipher:
            self = .symCipher(try TPMTSymDef(from: &reader, field: "TPMS_SYMCIPHER_PARMS", allowXOR: false))
        case .rsa:
            let symmetric = try TPMTSymDef(from: &reader, field: "TPMS_RSA_PARMS.symmetric", allowXOR: false)
            let scheme = try TPMTScheme(from: &reader, field: "TPMS_RSA_PARMS.scheme", allowed: TPMTScheme.rsaSchemes)
            let keyBits = try reader.u16("TPMS_RSA_PARMS.keyBits")
            let exponent = try reader.u32("TPMS_RSA_PARMS.exponent")
            self = .rsa(TPMSRSAParms(symmetric: symmetric, scheme: scheme, keyBits: keyBits, exponent: exponent))
        case .ecc:
            let symmetric = try TPMTSymDef(from: &reader, field: "TPMS_ECC_PARMS.symmetric", allowXOR: false)
            let scheme = try TPMTScheme(from: &reader, field: "TPMS_ECC_PARMS.scheme", allowed: TPMTScheme.eccSchemes)
            let curve = TPMECCCurve(try reader.u16("TPMS_ECC_PARMS.curveID"))
            let kdf = try TPMTScheme(from: &reader, field: "TPMS_ECC_PARMS.kdf", allowed: TPMTScheme.kdfSchemes)
            self = .ecc(TPMSECCParms(symmetric: symmetric, scheme: scheme, curve: curve, kdf: kdf))
        default:
            throw reader.error("TPMT_PUBLIC.type", selector: type.rawValue, at: start)
        }
    }

    public func marshal(into writer: inout TPMWriter) {
        switch self {
        case let .keyedHash(scheme):
            scheme.marshal(into: &writer)
        case let .symCipher(sym):
            sym.marshal(into: &writer)
        case let .rsa(p):
            p.symmetric.marshal(into: &writer)
            p.scheme.marshal(into: &writer)
            writer.u16(p.keyBits)
            writer.u32(p.exponent)
        case let .ecc(p):
            p.symmetric.marshal(into: &writer)
            p.scheme.marshal(into: &writer)
            writer.u16(p.curve.rawValue)
            p.kdf.marshal(into: &writer)
        }
    }
}

/// TPMS_ECC_POINT (Part 2 §11.2.5.2).
public struct TPMSECCPoint: Hashable, Sendable, TPMMarshalable {
    public var x: [UInt8]
    public var y: [UInt8]

    public init(x: [UInt8], y: [UInt8]) {
        self.x = x
        self.y = y
    }

    public init(from reader: inout TPMReader) throws(TPMMarshalError) {
        x = try reader.sized("TPMS_ECC_POINT.x", maximum: TPMLimits.maxECCKeyBytes)
        y = try reader.sized("TPMS_ECC_POINT.y", maximum: TPMLimits.maxECCKeyBytes)
    }

    public func marshal(into writer: inout TPMWriter) {
        writer.sized(x)
        writer.sized(y)
    }
}

/// TPMU_PUBLIC_ID: the unique field (Part 2 §12.2.3.2): a digest for keyed-hash and symmetric
/// objects, the modulus for RSA, the public point for ECC.
public enum TPMUPublicID: Hashable, Sendable {
    case digest([UInt8])
    case rsa([UInt8])
    case ecc(TPMSECCPoint)
}

/// TPMT_PUBLIC: the public area of an object (Part 2 §12.2.4); its wire form inside a
/// TPM2B_PUBLIC is what an object's Name hashes.
public struct TPMTPublic: Hashable, Sendable, TPMMarshalable {
    public var nameAlg: TPMAlgorithmID
    public var objectAttributes: TPMAObject
    public var authPolicy: [UInt8]
    public var parameters: TPMUPublicParms
    public var unique: TPMUPublicID

    public var type: TPMAlgorithmID { parameters.type }

    public init(nameAlg: TPMAlgorithmID, objectAttributes: TPMAObject, authPolicy: [UInt8] = [], parameters: TPMUPublicParms, unique: TPMUPublicID) {
        self.nameAlg = nameAlg
        self.objectAttributes = objectAttributes
        self.authPolicy = authPolicy
        self.parameters = parameters
        self.unique = unique
    }

    public init(from reader: inout TPMReader) throws(TPMMarshalError) {
        let start = reader.offset
        let type = try TPMAlgorithmID(from: &reader)
        nameAlg = try TPMAlgorithmID(from: &reader)
        objectAttributes = TPMAObject(rawValue: try reader.u32("TPMT_PUBLIC.objectAttributes"))
        authPolicy = try reader.sized("TPMT_PUBLIC.authPolicy", maximum: TPMLimits.maxDigest)
        parameters = try TPMUPublicParms(type: type, from: &reader, at: start)
        switch type {
        case .rsa: unique = .rsa(try reader.sized("TPMT_PUBLIC.unique.rsa", maximum: TPMLimits.maxRSAKeyBytes))
        case .ecc: unique = .ecc(try TPMSECCPoint(from: &reader))
        default: unique = .digest(try reader.sized("TPMT_PUBLIC.unique", maximum: TPMLimits.maxDigest))
        }
    }

    public func marshal(into writer: inout TPMWriter) {
        writer.write(type)
        writer.write(nameAlg)
        writer.u32(objectAttributes.rawValue)
        writer.sized(authPolicy)
        parameters.marshal(into: &writer)
        switch unique {
        case let .digest(bytes), let .rsa(bytes): writer.sized(bytes)
        case let .ecc(point): writer.write(point)
        }
    }

    /// The object's Name: nameAlg || H_nameAlg(TPMT_PUBLIC) (Part 1 §16). Nil when nameAlg is
    /// not a hash this library computes.
    public var name: [UInt8]? {
        guard let hash = TPMHashAlgorithm(nameAlg) else { return nil }
        return nameAlg.tpmBytes + hash.hash(tpmBytes)
    }

    /// Reads a TPM2B_PUBLIC (Part 2 §12.2.5).
    public static func sized(from reader: inout TPMReader) throws(TPMMarshalError) -> TPMTPublic {
        try reader.sizedStructure("TPM2B_PUBLIC") { r throws(TPMMarshalError) in try TPMTPublic(from: &r) }!
    }

    /// Writes this area as a TPM2B_PUBLIC.
    public func marshalSized(into writer: inout TPMWriter) {
        writer.sizedStructure { marshal(into: &$0) }
    }
}
