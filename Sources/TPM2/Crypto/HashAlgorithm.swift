import Crypto
import Foundation

/// A TPM hash algorithm this library can compute (TPMI_ALG_HASH, Part 2 §9.27): SHA-1,
/// SHA-256, SHA-384 and SHA-512, through swift-crypto.
public struct TPMHashAlgorithm: Hashable, Sendable, CustomStringConvertible {
    public let id: TPMAlgorithmID

    public init?(_ id: TPMAlgorithmID) {
        guard [.sha1, .sha256, .sha384, .sha512].contains(id) else { return nil }
        self.id = id
    }

    public static let sha1 = Self(.sha1)!
    public static let sha256 = Self(.sha256)!
    public static let sha384 = Self(.sha384)!
    public static let sha512 = Self(.sha512)!

    public var digestSize: Int {
        switch id {
        case .sha1: 20
        case .sha256: 32
        case .sha384: 48
        default: 64
        }
    }

    /// Block size of the hash, the size HMAC pads its key to.
    public var blockSize: Int { id == .sha384 || id == .sha512 ? 128 : 64 }

    public var description: String { id.description }

    /// H(parts[0] || parts[1] || ...).
    public func hash(_ parts: [UInt8]...) -> [UInt8] {
        var hasher = TPMHasher(self)
        for part in parts { hasher.update(part) }
        return hasher.finalize()
    }

    /// HMAC_H(key, parts[0] || parts[1] || ...) (RFC 2104).
    public func hmac(key: [UInt8], _ parts: [UInt8]...) -> [UInt8] {
        var mac = TPMHMAC(self, key: key)
        for part in parts { mac.update(part) }
        return mac.finalize()
    }

    /// The all-zero digest a PCR of this bank holds after reset.
    public var zeroDigest: [UInt8] { [UInt8](repeating: 0, count: digestSize) }
}

/// An incremental hash over one of the TPM hash algorithms.
public struct TPMHasher: Sendable {
    private enum State: Sendable {
        case sha1(Insecure.SHA1), sha256(SHA256), sha384(SHA384), sha512(SHA512)
    }
    private var state: State
    public let algorithm: TPMHashAlgorithm

    public init(_ algorithm: TPMHashAlgorithm) {
        self.algorithm = algorithm
        switch algorithm.id {
        case .sha1: state = .sha1(Insecure.SHA1())
        case .sha256: state = .sha256(SHA256())
        case .sha384: state = .sha384(SHA384())
        default: state = .sha512(SHA512())
        }
    }

    public mutating func update(_ bytes: some DataProtocol) {
        switch state {
        case var .sha1(h): h.update(data: bytes); state = .sha1(h)
        case var .sha256(h): h.update(data: bytes); state = .sha256(h)
        case var .sha384(h): h.update(data: bytes); state = .sha384(h)
        case var .sha512(h): h.update(data: bytes); state = .sha512(h)
        }
    }

    public func finalize() -> [UInt8] {
        switch state {
        case let .sha1(h): Array(h.finalize())
        case let .sha256(h): Array(h.finalize())
        case let .sha384(h): Array(h.finalize())
        case let .sha512(h): Array(h.finalize())
        }
    }
}

/// An incremental HMAC over one of the TPM hash algorithms.
public struct TPMHMAC: Sendable {
    private enum State: Sendable {
        case sha1(HMAC<Insecure.SHA1>), sha256(HMAC<SHA256>), sha384(HMAC<SHA384>), sha512(HMAC<SHA512>)
    }
    private var state: State

    public init(_ algorithm: TPMHashAlgorithm, key: [UInt8]) {
        let key = SymmetricKey(data: key)
        switch algorithm.id {
        case .sha1: state = .sha1(HMAC(key: key))
        case .sha256: state = .sha256(HMAC(key: key))
        case .sha384: state = .sha384(HMAC(key: key))
        default: state = .sha512(HMAC(key: key))
        }
    }

    public mutating func update(_ bytes: some DataProtocol) {
        switch state {
        case var .sha1(h): h.update(data: bytes); state = .sha1(h)
        case var .sha256(h): h.update(data: bytes); state = .sha256(h)
        case var .sha384(h): h.update(data: bytes); state = .sha384(h)
        case var .sha512(h): h.update(data: bytes); state = .sha512(h)
        }
    }

    public func finalize() -> [UInt8] {
        switch state {
        case let .sha1(h): Array(h.finalize())
        case let .sha256(h): Array(h.finalize())
        case let .sha384(h): Array(h.finalize())
        case let .sha512(h): Array(h.finalize())
        }
    }
}

/// Compares two byte strings in time that depends only on their lengths, for MACs, auth
/// values and other secrets.
public func constantTimeEqual(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for (x, y) in zip(a, b) { difference |= x ^ y }
    return difference == 0
}
