import Crypto
import _CryptoExtras

/// A hash named in LUKS2 metadata (`af.hash`, `kdf.hash`, `digests.hash`).
enum LUKS2Hash: String, Sendable {
    case sha1, sha256, sha384, sha512

    init(name: String) throws(LUKS2Error) {
        guard let hash = LUKS2Hash(rawValue: name) else { throw .unsupported("hash \(name)") }
        self = hash
    }

    var digestSize: Int {
        switch self {
        case .sha1: 20
        case .sha256: 32
        case .sha384: 48
        case .sha512: 64
        }
    }

    func hash(_ data: [UInt8]) -> [UInt8] {
        switch self {
        case .sha1: Array(Insecure.SHA1.hash(data: data))
        case .sha256: Array(SHA256.hash(data: data))
        case .sha384: Array(SHA384.hash(data: data))
        case .sha512: Array(SHA512.hash(data: data))
        }
    }

    /// PBKDF2 (RFC 8018 §5.2) with HMAC of this hash, from swift-crypto's `_CryptoExtras`.
    func pbkdf2(password: [UInt8], salt: [UInt8], iterations: Int, outputByteCount: Int) throws(LUKS2Error) -> SymmetricKey {
        let function: KDF.Insecure.PBKDF2.HashFunction =
            switch self {
            case .sha1: .insecureSHA1
            case .sha256: .sha256
            case .sha384: .sha384
            case .sha512: .sha512
            }
        guard iterations > 0 else { throw .invalidMetadata("PBKDF2 iterations \(iterations)") }
        do {
            return try KDF.Insecure.PBKDF2.deriveKey(
                from: password, salt: salt, using: function, outputByteCount: outputByteCount,
                unsafeUncheckedRounds: iterations)
        } catch {
            throw .unsupported("PBKDF2 failed: \(error)")
        }
    }
}

/// The anti-forensic information splitter of LUKS (LUKS1 On-Disk Format §2.4, used unchanged by
/// LUKS2 keyslots of `af.type` `luks1`): data of `n` bytes becomes `stripes × n` bytes, all of which
/// are needed to recover it.
enum AntiForensicSplitter {
    /// H1: hashes each digest-sized block `j` of `block` as `hash(be32(j) ‖ block_j)`, truncated for
    /// the last, shorter block.
    static func diffuse(_ block: inout [UInt8], hash: LUKS2Hash) {
        let size = hash.digestSize
        for (index, start) in stride(from: 0, to: block.count, by: size).enumerated() {
            let end = min(start + size, block.count)
            let counter = withUnsafeBytes(of: UInt32(index).bigEndian) { Array($0) }
            let digest = hash.hash(counter + block[start..<end])
            block.replaceSubrange(start..<end, with: digest[0..<(end - start)])
        }
    }

    /// AFsplit: `stripes - 1` random stripes, then the last stripe that makes the merge yield `data`.
    static func split(_ data: [UInt8], stripes: Int, hash: LUKS2Hash) -> [UInt8] {
        var output = [UInt8]()
        output.reserveCapacity(data.count * stripes)
        var mixed = [UInt8](repeating: 0, count: data.count)
        for _ in 0..<(stripes - 1) {
            let stripe = randomBytes(data.count)
            output += stripe
            for index in mixed.indices { mixed[index] ^= stripe[index] }
            diffuse(&mixed, hash: hash)
        }
        output += zip(mixed, data).map { $0 ^ $1 }
        return output
    }

    /// AFmerge: the data `split` spread over `material`.
    static func merge(_ material: [UInt8], size: Int, stripes: Int, hash: LUKS2Hash) -> [UInt8] {
        var mixed = [UInt8](repeating: 0, count: size)
        for stripe in 0..<(stripes - 1) {
            for index in 0..<size { mixed[index] ^= material[stripe * size + index] }
            diffuse(&mixed, hash: hash)
        }
        let last = (stripes - 1) * size
        return (0..<size).map { mixed[$0] ^ material[last + $0] }
    }
}
