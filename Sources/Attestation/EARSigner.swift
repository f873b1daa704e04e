import Crypto
import Foundation
import Synchronization
import JWTKit

/// Signs EARs as JWTs (RFC 7519; JWS ES256 or ES384, RFC 7518 §3.4) with jwt-kit, and publishes
/// its public keys as a JWK Set (RFC 7517 §5) for `/.well-known/jwks.json`.
///
/// Keys rotate by ``adding(_:)`` a new key: the newest signs, and every key stays in the JWK
/// Set until ``removing(kid:)`` retires it, so that relying parties can still verify tokens
/// signed before the rotation.
public struct EARSigner: Sendable {
    /// A signing key and its key identifier (`kid`).
    public struct Key: Sendable {
        /// The JWS algorithms a key can sign with.
        public enum Algorithm: String, Sendable, Hashable {
            case es256 = "ES256"
            case es384 = "ES384"
        }

        private enum Material: Sendable {
            case p256(P256.Signing.PrivateKey)
            case p384(P384.Signing.PrivateKey)
        }

        /// The key identifier tokens name in their `kid` header.
        public let kid: String
        private let material: Material

        /// A P-256 key for ES256; a new random one by default.
        public static func es256(kid: String, privateKey: P256.Signing.PrivateKey = .init()) -> Key {
            Key(kid: kid, material: .p256(privateKey))
        }

        /// A P-384 key for ES384; a new random one by default.
        public static func es384(kid: String, privateKey: P384.Signing.PrivateKey = .init()) -> Key {
            Key(kid: kid, material: .p384(privateKey))
        }

        /// The JWS algorithm.
        public var algorithm: Algorithm {
            switch self.material {
            case .p256: .es256
            case .p384: .es384
            }
        }

        /// The public key as a JWK with `kid` and `alg`.
        public var publicJWK: JWK {
            let (point, curve, size): ([UInt8], ECDSACurve, Int) = switch self.material {
            case .p256(let key): (Array(key.publicKey.x963Representation), .p256, 32)
            case .p384(let key): (Array(key.publicKey.x963Representation), .p384, 48)
            }
            return .ecdsa(
                self.algorithm == .es256 ? .es256 : .es384, identifier: JWKIdentifier(string: self.kid),
                x: ByteEncoding.base64URL(Array(point[1...size])), y: ByteEncoding.base64URL(Array(point[(size + 1)...])), curve: curve)
        }

        /// Adds the private key to a jwt-kit collection, for signing.
        fileprivate func addSigner(to keys: JWTKeyCollection) async throws {
            switch self.material {
            case .p256(let key): await keys.add(ecdsa: try ES256PrivateKey(backing: key), kid: JWKIdentifier(string: self.kid))
            case .p384(let key): await keys.add(ecdsa: try ES384PrivateKey(backing: key), kid: JWKIdentifier(string: self.kid))
            }
        }
    }

    /// The keys, oldest first; the last one signs.
    public let keys: [Key]
    /// The verifier identity every EAR names.
    public let verifierID: EAR.VerifierID

    /// A signer with `keys`, oldest first, of which the last signs; kids must be unique.
    public init(keys: [Key], verifierID: EAR.VerifierID) throws(AttestationError) {
        guard !keys.isEmpty else { throw .earSignerInvalid(reason: "it has no key") }
        let kids = keys.map(\.kid)
        if let repeated = kids.first(where: { kid in kids.filter { $0 == kid }.count > 1 }) {
            throw .earSignerInvalid(reason: "the kid \"\(repeated)\" is used twice")
        }
        self.keys = keys
        self.verifierID = verifierID
        self.signingCollection = SigningCollection()
    }

    /// The signing key loaded into jwt-kit once, on first use, rather than at every signature.
    private let signingCollection: SigningCollection

    private final class SigningCollection: Sendable {
        let collection = JWTKeyCollection()
        let loaded = Mutex(false)
    }

    /// The key that signs: the newest.
    public var signingKey: Key { self.keys[self.keys.count - 1] }

    /// This signer with `key` added as the newest, signing key.
    public func adding(_ key: Key) throws(AttestationError) -> EARSigner {
        try EARSigner(keys: self.keys + [key], verifierID: self.verifierID)
    }

    /// This signer without the key `kid`; it no longer appears in the JWK Set.
    public func removing(kid: String) throws(AttestationError) -> EARSigner {
        try EARSigner(keys: self.keys.filter { $0.kid != kid }, verifierID: self.verifierID)
    }

    /// The public keys as a JWK Set, oldest first.
    public var jwks: JWKS { JWKS(keys: self.keys.map(\.publicJWK)) }

    /// The JWK Set document, `{"keys":[...]}`, to serve at `/.well-known/jwks.json`.
    public func jwksJSON() throws(AttestationError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(self.jwks))
        } catch {
            throw .earSignerInvalid(reason: "the JWK Set does not encode: \(error)")
        }
    }

    /// Signs the EAR for `appraisal`, issued at `issuedAt` and valid for `validity` (nil: no `exp`).
    public func sign(_ appraisal: Appraisal, issuedAt: Date = Date(), validity: Duration? = EAR.defaultValidity) async throws(AttestationError) -> String {
        try await self.sign(EAR(appraisal: appraisal, verifierID: self.verifierID, issuedAt: issuedAt, validity: validity))
    }

    /// Signs `ear` with the newest key; the JWT header names its `kid`.
    public func sign(_ ear: EAR) async throws(AttestationError) -> String {
        do {
            let cache = self.signingCollection
            if !cache.loaded.withLock({ $0 }) {
                try await self.signingKey.addSigner(to: cache.collection)
                cache.loaded.withLock { $0 = true }
            }
            return try await cache.collection.sign(ear, kid: JWKIdentifier(string: self.signingKey.kid))
        } catch {
            throw .earSigningFailed(reason: String(describing: error))
        }
    }

    /// Verifies a token signed by any of this signer's keys and decodes its EAR.
    public func verify(_ token: String) async throws(AttestationError) -> EAR {
        do {
            let collection = try await JWTKeyCollection().add(jwks: self.jwks)
            return try await collection.verify(token, as: EAR.self)
        } catch let error as AttestationError {
            throw error
        } catch {
            throw .earInvalid(reason: String(describing: error))
        }
    }
}
