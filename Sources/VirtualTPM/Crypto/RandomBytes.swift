import CLibCrypto
import TPM2

/// A source of bytes for key generation: the system RNG, or a seeded DRBG for primaries.
protocol RandomBytes {
    mutating func next(_ count: Int) -> [UInt8]
}

/// A cryptographic RNG: OpenSSL's DRBG (seeded and reseeded from the operating system, without
/// a system call per request; nonces are drawn for every session use).
struct SystemRandom: RandomBytes {
    mutating func next(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return bytes }
        let ok = bytes.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        precondition(ok == 1, "OpenSSL's random generator failed")
        return bytes
    }

    static func bytes(_ count: Int) -> [UInt8] {
        var random = SystemRandom()
        return random.next(count)
    }
}

/// A deterministic bit stream for primary-object creation: successive KDFa blocks keyed by the
/// hierarchy's primary seed, with the object's purpose as label and the template digest as
/// context (the construction Part 1 §26.3 describes: the same seed and the same template give
/// the same key).
struct SeededRandom: RandomBytes {
    let hash: TPMHashAlgorithm
    let seed: [UInt8]
    let label: String
    let context: [UInt8]
    private var counter: UInt32 = 0

    init(hash: TPMHashAlgorithm, seed: [UInt8], label: String, context: [UInt8]) {
        self.hash = hash
        self.seed = seed
        self.label = label
        self.context = context
    }

    mutating func next(_ count: Int) -> [UInt8] {
        counter += 1
        var block = TPMWriter()
        block.u32(counter)
        return TPMKDF.kdfa(hash, key: seed, label: label, contextU: context, contextV: block.bytes, bits: count * 8)
    }
}
