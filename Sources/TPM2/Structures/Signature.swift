/// TPMT_SIGNATURE: a signature and its scheme (TPM 2.0 Part 2 §11.3.4).
public enum TPMTSignature: Hashable, Sendable, TPMMarshalable {
    /// TPMS_SIGNATURE_RSA for RSASSA and RSAPSS.
    case rsa(scheme: TPMAlgorithmID, hash: TPMAlgorithmID, signature: [UInt8])
    /// TPMS_SIGNATURE_ECC for ECDSA, ECDAA, SM2 and ECSCHNORR.
    case ecc(scheme: TPMAlgorithmID, hash: TPMAlgorithmID, r: [UInt8], s: [UInt8])
    case hmac(TPMTHA)
    case null

    public var scheme: TPMAlgorithmID {
        switch self {
        case let .rsa(scheme, _, _), let .ecc(scheme, _, _, _): scheme
        case .hmac: .hmac
        case .null: .null
        }
    }

    public init(from reader: inout TPMReader) throws(TPMMarshalError) {
        let start = reader.offset
        let scheme = try TPMAlgorithmID(from: &reader)
        switch scheme {
        case .rsassa, .rsapss:
            let hash = try TPMAlgorithmID(from: &reader)
            self = .rsa(scheme: scheme, hash: hash, signature: try reader.sized("TPMS_SIGNATURE_RSA.sig", maximum: TPMLimits.maxRSAKeyBytes))
        case .ecdsa, .ecdaa, .sm2, .ecschnorr:
            let hash = try TPMAlgorithmID(from: &reader)
            let r = try reader.sized("TPMS_SIGNATURE_ECC.signatureR", maximum: TPMLimits.maxECCKeyBytes)
            let s = try reader.sized("TPMS_SIGNATURE_ECC.signatureS", maximum: TPMLimits.maxECCKeyBytes)
            self = .ecc(scheme: scheme, hash: hash, r: r, s: s)
        case .hmac:
            self = .hmac(try TPMTHA(from: &reader))
        case .null:
            self = .null
        default:
            throw reader.error("TPMT_SIGNATURE.sigAlg", selector: scheme.rawValue, at: start)
        }
    }

    public func marshal(into writer: inout TPMWriter) {
        writer.write(scheme)
        switch self {
        case let .rsa(_, hash, signature):
            writer.write(hash)
            writer.sized(signature)
        case let .ecc(_, hash, r, s):
            writer.write(hash)
            writer.sized(r)
            writer.sized(s)
        case let .hmac(ha):
            writer.write(ha)
        case .null:
            break
        }
    }
}

/// TPMT_TK_CREATION, TPMT_TK_VERIFIED, TPMT_TK_AUTH and TPMT_TK_HASHCHECK share this layout
/// (Part 2 §10.7): a tag, a hierarchy and an HMAC digest.
public struct TPMTTicket: Hashable, Sendable, TPMMarshalable {
    public var tag: UInt16
    public var hierarchy: TPMHandle
    public var digest: [UInt8]

    public init(tag: TPMStructureTag, hierarchy: TPMHandle, digest: [UInt8]) {
        self.tag = tag.rawValue
        self.hierarchy = hierarchy
        self.digest = digest
    }

    /// The NULL ticket: a hierarchy of TPM_RH_NULL and an empty digest.
    public static func null(_ tag: TPMStructureTag) -> Self { Self(tag: tag, hierarchy: .null, digest: []) }

    public init(from reader: inout TPMReader) throws(TPMMarshalError) {
        tag = try reader.u16("TPMT_TK.tag")
        hierarchy = try TPMHandle(from: &reader)
        digest = try reader.sized("TPMT_TK.digest", maximum: TPMLimits.maxDigest)
    }

    public func marshal(into writer: inout TPMWriter) {
        writer.u16(tag)
        writer.write(hierarchy)
        writer.sized(digest)
    }
}
