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

    /// H(parts[0] || parts[1] || ...). Concrete hash types, so that one-shot hashes (a PCR
    /// extend, a name) allocate nothing beyond the result.
    public func hash(_ parts: [UInt8]...) -> [UInt8] { hash(parts: parts) }

    /// H(parts[0] || parts[1] || ...) for a list built at run time.
    public func hash(parts: [[UInt8]]) -> [UInt8] {
        func digest<H: HashFunction>(_ function: H) -> [UInt8] {
            var function = function
            for part in parts { function.update(data: part) }
            return function.finalize().withUnsafeBytes { Array($0) }
        }
        switch id {
        case .sha1: return digest(Insecure.SHA1())
        case .sha256: return digest(SHA256())
        case .sha384: return digest(SHA384())
        default: return digest(SHA512())
        }
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

/// Running state of a hash or an HMAC, whatever the algorithm.
private protocol ByteAccumulator: Sendable {
    mutating func add(_ bytes: some DataProtocol)
    func result() -> [UInt8]
}

private struct HashState<H: HashFunction>: ByteAccumulator {
    var function = H()
    mutating func add(_ bytes: some DataProtocol) { function.update(data: bytes) }
    func result() -> [UInt8] { function.finalize().withUnsafeBytes { Array($0) } }
}

private struct MACState<H: HashFunction>: ByteAccumulator {
    var function: HMAC<H>
    mutating func add(_ bytes: some DataProtocol) { function.update(data: bytes) }
    func result() -> [UInt8] { function.finalize().withUnsafeBytes { Array($0) } }
}

/// An incremental hash over one of the TPM hash algorithms.
public struct TPMHasher: Sendable {
    private var state: any ByteAccumulator
    public let algorithm: TPMHashAlgorithm

    public init(_ algorithm: TPMHashAlgorithm) {
        self.algorithm = algorithm
        // Concrete types in each branch, so no generic metadata is looked up at run time.
        switch algorithm.id {
        case .sha1: state = HashState<Insecure.SHA1>()
        case .sha256: state = HashState<SHA256>()
        case .sha384: state = HashState<SHA384>()
        default: state = HashState<SHA512>()
        }
    }

    public mutating func update(_ bytes: some DataProtocol) { state.add(bytes) }
    public func finalize() -> [UInt8] { state.result() }
}

/// An incremental HMAC over one of the TPM hash algorithms.
public struct TPMHMAC: Sendable {
    private var state: any ByteAccumulator

    public init(_ algorithm: TPMHashAlgorithm, key: [UInt8]) {
        let key = SymmetricKey(data: key)
        switch algorithm.id {
        case .sha1: state = MACState<Insecure.SHA1>(function: HMAC(key: key))
        case .sha256: state = MACState<SHA256>(function: HMAC(key: key))
        case .sha384: state = MACState<SHA384>(function: HMAC(key: key))
        default: state = MACState<SHA512>(function: HMAC(key: key))
        }
    }

    public mutating func update(_ bytes: some DataProtocol) { state.add(bytes) }
    public func finalize() -> [UInt8] { state.result() }
}

/// Compares two byte strings in time that depends only on their lengths, for MACs, auth
/// values and other secrets. Inlinable, so that callers get it specialized for their
/// collection types instead of a generic loop.
@inlinable
public func constantTimeEqual(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for (x, y) in zip(a, b) { difference |= x ^ y }
    return difference == 0
}
