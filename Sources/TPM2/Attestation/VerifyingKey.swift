import Crypto
import Foundation
import X509
import _CryptoExtras

/// A public key that checks TPM signatures (TPMT_SIGNATURE, TPM 2.0 Part 2 §11.3.4): an RSA key
/// for RSASSA and RSAPSS, or a NIST P-256/P-384/P-521 key for ECDSA. Built from a TPMT_PUBLIC
/// (Part 2 §12.2.4), a PEM or DER SubjectPublicKeyInfo, or a certificate's key.
public enum TPMVerifyingKey: Sendable {
    case rsa(_RSA.Signing.PublicKey)
    case p256(P256.Signing.PublicKey)
    case p384(P384.Signing.PublicKey)
    case p521(P521.Signing.PublicKey)

    /// The TPM object type of the key.
    public var type: TPMAlgorithmID {
        if case .rsa = self { .rsa } else { .ecc }
    }

    /// The key of an RSA or ECC public area. An RSA exponent of 0 means 65537 (Part 2 §12.2.3.5);
    /// ECC coordinates are left-padded to the curve size (Part 2 §11.2.5.2).
    public init(_ area: TPMTPublic) throws(TPMVerificationError) {
        switch (area.parameters, area.unique) {
        case let (.rsa(parms), .rsa(modulus)):
            let exponent = parms.exponent == 0 ? 65537 : parms.exponent
            let exponentBytes = withUnsafeBytes(of: exponent.bigEndian) { Array($0) }.drop { $0 == 0 }
            guard modulus.count * 8 == Int(parms.keyBits) else {
                throw .invalidPublicKey("the modulus has \(modulus.count * 8) bits but keyBits is \(parms.keyBits)")
            }
            do {
                self = .rsa(try _RSA.Signing.PublicKey(n: modulus, e: Array(exponentBytes)))
            } catch {
                throw .invalidPublicKey("swift-crypto rejected the RSA key: \(error)")
            }
        case let (.ecc(parms), .ecc(point)):
            guard let size = parms.curve.coordinateSize, [TPMECCCurve.nistP256, .nistP384, .nistP521].contains(parms.curve) else {
                throw .unsupportedCurve(parms.curve)
            }
            guard let x = leftPadded(point.x, to: size), let y = leftPadded(point.y, to: size) else {
                throw .invalidPublicKey("a coordinate is longer than the \(size) bytes of \(parms.curve)")
            }
            let raw = x + y
            do {
                switch parms.curve {
                case .nistP256: self = .p256(try P256.Signing.PublicKey(rawRepresentation: raw))
                case .nistP384: self = .p384(try P384.Signing.PublicKey(rawRepresentation: raw))
                default: self = .p521(try P521.Signing.PublicKey(rawRepresentation: raw))
                }
            } catch {
                throw .invalidPublicKey("the point is not on \(parms.curve): \(error)")
            }
        default:
            throw .unsupportedKeyType(area.type)
        }
    }

    /// The key of a certificate or SubjectPublicKeyInfo, if it is RSA or P-256/384/521.
    public init(_ key: Certificate.PublicKey) throws(TPMVerificationError) {
        if let rsa = _RSA.Signing.PublicKey(key) {
            self = .rsa(rsa)
        } else if let p256 = P256.Signing.PublicKey(key) {
            self = .p256(p256)
        } else if let p384 = P384.Signing.PublicKey(key) {
            self = .p384(p384)
        } else if let p521 = P521.Signing.PublicKey(key) {
            self = .p521(p521)
        } else {
            throw .invalidPublicKey("\(key) is neither RSA nor a NIST P-256/384/521 key")
        }
    }

    /// A PEM "PUBLIC KEY" (SubjectPublicKeyInfo).
    public init(pemRepresentation pem: String) throws(TPMVerificationError) {
        let key: Certificate.PublicKey
        do { key = try Certificate.PublicKey(pemEncoded: pem) } catch { throw .invalidPublicKey("PEM: \(error)") }
        try self.init(key)
    }

    /// A DER SubjectPublicKeyInfo.
    public init(spkiDER der: [UInt8]) throws(TPMVerificationError) {
        let key: Certificate.PublicKey
        do { key = try Certificate.PublicKey(derEncoded: der) } catch { throw .invalidPublicKey("DER: \(error)") }
        try self.init(key)
    }

    /// The key as swift-certificates holds it, to compare with a certificate's key.
    public var certificatePublicKey: Certificate.PublicKey {
        switch self {
        case let .rsa(key): Certificate.PublicKey(key)
        case let .p256(key): Certificate.PublicKey(key)
        case let .p384(key): Certificate.PublicKey(key)
        case let .p521(key): Certificate.PublicKey(key)
        }
    }

    /// Checks `signature` over `message`, hashing the message with the signature's hash.
    /// RSASSA is PKCS#1 v1.5. RSAPSS uses MGF1 with the signature's hash and a salt as long as the
    /// digest: the salt size current TPMs use (Part 1 §B.7, FIPS 186-4: min(hLen, emLen - hLen -
    /// 2)) and the only one swift-crypto verifies. TPMs built on library revision 1.16 used the
    /// maximum salt; their PSS signatures fail here as `signatureInvalid`. ECDSA r and s may be
    /// shorter than the curve size.
    public func verify(signature: TPMTSignature, message: [UInt8]) throws(TPMVerificationError) {
        switch signature {
        case let .rsa(scheme, hash, bytes):
            guard case let .rsa(key) = self else { throw .wrongKeyType(scheme: scheme, keyType: type) }
            let padding: _RSA.Signing.Padding = scheme == .rsassa ? .insecurePKCS1v1_5 : .PSS
            guard bytes.count == key.keySizeInBits / 8 else {
                throw .malformedSignature("the RSA signature has \(bytes.count) bytes; the modulus has \(key.keySizeInBits / 8)")
            }
            let rsaSignature = _RSA.Signing.RSASignature(rawRepresentation: bytes)
            let valid = try Self.withDigest(hash, of: message) { digest in
                key.isValidSignature(rsaSignature, for: digest, padding: padding)
            }
            guard valid else { throw .signatureInvalid(scheme: scheme, hash: hash) }
        case let .ecc(scheme, hash, r, s):
            guard scheme == .ecdsa else { throw .unsupportedScheme(scheme) }
            guard type == .ecc else { throw .wrongKeyType(scheme: scheme, keyType: type) }
            guard let raw = eccRawSignature(r: r, s: s) else {
                throw .malformedSignature("r (\(r.count) bytes) or s (\(s.count) bytes) is longer than the curve size")
            }
            let valid = try Self.withDigest(hash, of: message) { digest in isValidECDSA(raw, digest) }
            guard valid else { throw .signatureInvalid(scheme: scheme, hash: hash) }
        case .hmac, .null:
            throw .unsupportedScheme(signature.scheme)
        }
    }

    /// r || s, each left-padded to the curve's coordinate size; nil if either is too long.
    private func eccRawSignature(r: [UInt8], s: [UInt8]) -> [UInt8]? {
        let size: Int
        switch self {
        case .rsa: return nil
        case .p256: size = 32
        case .p384: size = 48
        case .p521: size = 66
        }
        guard let r = leftPadded(r, to: size), let s = leftPadded(s, to: size) else { return nil }
        return r + s
    }

    private func isValidECDSA(_ raw: [UInt8], _ digest: some Digest) -> Bool {
        switch self {
        case .rsa:
            return false
        case let .p256(key):
            guard let signature = try? P256.Signing.ECDSASignature(rawRepresentation: raw) else { return false }
            return key.isValidSignature(signature, for: digest)
        case let .p384(key):
            guard let signature = try? P384.Signing.ECDSASignature(rawRepresentation: raw) else { return false }
            return key.isValidSignature(signature, for: digest)
        case let .p521(key):
            guard let signature = try? P521.Signing.ECDSASignature(rawRepresentation: raw) else { return false }
            return key.isValidSignature(signature, for: digest)
        }
    }

    /// Hashes `message` with swift-crypto's own type for `hash` (the `_RSA` verifier only knows
    /// those digest types) and hands the typed digest to `body`.
    private static func withDigest(
        _ hash: TPMAlgorithmID, of message: [UInt8], _ body: (any Digest) -> Bool
    ) throws(TPMVerificationError) -> Bool {
        switch hash {
        case .sha1: body(Insecure.SHA1.hash(data: message))
        case .sha256: body(SHA256.hash(data: message))
        case .sha384: body(SHA384.hash(data: message))
        case .sha512: body(SHA512.hash(data: message))
        default: throw .unsupportedHash(hash)
        }
    }
}

/// `bytes` with leading zeros up to `size`, or with leading zeros stripped down to `size`; nil
/// when more than `size` significant bytes remain.
func leftPadded(_ bytes: [UInt8], to size: Int) -> [UInt8]? {
    let significant = bytes.drop { $0 == 0 }
    guard significant.count <= size else { return nil }
    return [UInt8](repeating: 0, count: size - significant.count) + significant
}

extension TPMTPublic {
    /// Verifies `signature` over `message` with this public area's key (Part 3 §20.1
    /// TPM2_VerifySignature semantics). When the area fixes a signing scheme (Part 2
    /// §12.2.3.5), the signature must use that scheme and hash.
    public func verify(signature: TPMTSignature, message: [UInt8]) throws(TPMVerificationError) {
        try checkSchemeAllows(signature)
        try TPMVerifyingKey(self).verify(signature: signature, message: message)
    }

    /// Fails when the key's scheme is set and differs from the signature's.
    func checkSchemeAllows(_ signature: TPMTSignature) throws(TPMVerificationError) {
        let keyScheme: TPMTScheme
        switch parameters {
        case let .rsa(p): keyScheme = p.scheme
        case let .ecc(p): keyScheme = p.scheme
        case .keyedHash, .symCipher: throw .unsupportedKeyType(type)
        }
        guard keyScheme.scheme != .null else { return }
        guard keyScheme.scheme == signature.scheme, keyScheme.hashAlg == signature.hashAlg else {
            throw .schemeNotAllowedByKey(keyScheme: keyScheme.scheme, keyHash: keyScheme.hashAlg, scheme: signature.scheme, hash: signature.hashAlg)
        }
    }
}

extension TPMTSignature {
    /// The hash the signature was made with, `.null` for schemes without one.
    public var hashAlg: TPMAlgorithmID {
        switch self {
        case let .rsa(_, hash, _), let .ecc(_, hash, _, _): hash
        case let .hmac(ha): ha.algorithm.id
        case .null: .null
        }
    }

    /// A bare RSA signature, as Azure vTPM evidence carries it, as the RSASSA/SHA-256
    /// TPMT_SIGNATURE the Azure AK (an RSASSA/SHA-256 restricted key) produced.
    public static func azureRSASSA(_ rawSignature: [UInt8]) -> TPMTSignature {
        .rsa(scheme: .rsassa, hash: .sha256, signature: rawSignature)
    }
}
