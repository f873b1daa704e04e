import Crypto

/// The P-256 public key a confidential VM generates for one attestation request, so that a
/// relying party (the key broker) can encrypt a secret to that VM only. It travels in the
/// evidence bundle as a JWK (RFC 7517, RFC 7518 §6.2: `kty` "EC", `crv` "P-256", `x`, `y`) and is
/// bound into the hardware evidence by ``EvidenceBinding`` through its SEC1 uncompressed point.
public struct RuntimeKey: Sendable, Hashable {
    /// The key, for HPKE or ECDH with the VM.
    public let keyAgreementKey: P256.KeyAgreement.PublicKey

    /// Wraps a key-agreement public key.
    public init(_ key: P256.KeyAgreement.PublicKey) {
        self.keyAgreementKey = key
    }

    /// Decodes an uncompressed point, which must lie on P-256.
    public init(x963Representation bytes: [UInt8]) throws(AttestationError) {
        guard bytes.count == 65, bytes.first == 0x04 else {
            throw .runtimeKeyInvalid(reason: "the point is \(bytes.count) bytes; an uncompressed P-256 point is 0x04 followed by 64 bytes")
        }
        do {
            self.keyAgreementKey = try P256.KeyAgreement.PublicKey(x963Representation: bytes)
        } catch {
            throw .runtimeKeyInvalid(reason: "the point is not on the P-256 curve")
        }
    }

    /// The uncompressed point 0x04 ‖ X ‖ Y (SEC1 §2.3.3, ANSI X9.63), 65 bytes: the encoding
    /// ``EvidenceBinding`` hashes.
    public var x963Representation: [UInt8] { Array(self.keyAgreementKey.x963Representation) }

    public static func == (lhs: RuntimeKey, rhs: RuntimeKey) -> Bool {
        lhs.x963Representation == rhs.x963Representation
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.x963Representation)
    }

    /// The JWK's `x` member: the X coordinate, base64url without padding.
    public var jwkX: String { ByteEncoding.base64URL(Array(self.x963Representation[1..<33])) }
    /// The JWK's `y` member.
    public var jwkY: String { ByteEncoding.base64URL(Array(self.x963Representation[33..<65])) }
}

extension RuntimeKey: Codable {
    /// Members a public EC JWK may carry besides the key (RFC 7517 §4); `d`, the private key, is
    /// refused so that a VM that sends its private key by mistake learns it at once.
    private static let members: Set<String> = ["kty", "crv", "x", "y", "kid", "use", "alg", "key_ops"]

    /// Decodes a JWK object.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        let invalid = { (reason: String) in
            DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: reason))
        }
        if container.contains(AnyCodingKey("d")) { throw invalid("it holds a private key (\"d\")") }
        try decoder.requireMembers(in: Self.members)
        guard try container.string("kty") == "EC" else { throw invalid("kty must be \"EC\"") }
        guard try container.string("crv") == "P-256" else { throw invalid("crv must be \"P-256\"") }
        guard let x = ByteEncoding.base64URL(try container.string("x")), x.count == 32,
              let y = ByteEncoding.base64URL(try container.string("y")), y.count == 32 else {
            throw invalid("x and y must be 32-byte coordinates in base64url without padding")
        }
        do {
            try self.init(x963Representation: [0x04] + x + y)
        } catch {
            throw invalid(error.description)
        }
    }

    /// Encodes the public JWK: `kty`, `crv`, `x`, `y`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        try container.encode("EC", forKey: AnyCodingKey("kty"))
        try container.encode("P-256", forKey: AnyCodingKey("crv"))
        try container.encode(self.jwkX, forKey: AnyCodingKey("x"))
        try container.encode(self.jwkY, forKey: AnyCodingKey("y"))
    }
}
