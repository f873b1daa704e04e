import CLibCrypto

/// The prime search behind RSA key generation (TPM 2.0 Part 1 §B.8, Part 4's CryptRsa): the
/// first probable prime p ≥ a drawn start, with gcd(p - 1, e) = 1. Candidates are taken in
/// ascending order, so the same start always gives the same prime however the search is
/// carried out; that is what makes a primary key a function of its seed and template. Small
/// primes sieve candidates out a window at a time, and what is left goes through the
/// Miller-Rabin test of FIPS 186-5 §B.3.1.
enum PrimeSearch {
    /// Odd primes below 2^16, for sieving. Every candidate that survives the sieve costs a
    /// modular exponentiation, and every sieve prime a share of a big-number division per
    /// search (see `Sieve.init`): for 1024-bit primes the sum is least near this bound.
    static let sievePrimes: [UInt32] = {
        let limit = 1 << 16
        var composite = [Bool](repeating: false, count: limit)
        var primes: [UInt32] = []
        for n in stride(from: 3, to: limit, by: 2) where !composite[n] {
            primes.append(UInt32(n))
            for multiple in stride(from: n * n, to: limit, by: 2 * n) { composite[multiple] = true }
        }
        return primes
    }()

    /// Runs of consecutive sieve primes whose product fits in a machine word, so that the
    /// residues of a big number take one big-number division per run.
    static let primeRuns: [(product: UInt, range: Range<Int>)] = {
        var runs: [(product: UInt, range: Range<Int>)] = []
        var first = 0
        var product: UInt = 1
        for (i, prime) in sievePrimes.enumerated() {
            let (next, overflow) = product.multipliedReportingOverflow(by: UInt(prime))
            if overflow {
                runs.append((product, first..<i))
                first = i
                product = UInt(prime)
            } else {
                product = next
            }
        }
        runs.append((product, first..<sievePrimes.count))
        return runs
    }()

    /// Odd candidates sieved at a time: a 1024-bit prime is usually found within a few hundred.
    static let window = 4096
    /// Steps (even offsets from the start) before the search starts over further up.
    static let searchSpan = 1 << 20

    /// The first probable prime p ≥ start (start adjusted to be odd with its top two bits set,
    /// so that the product of two such primes has exactly twice their bits) with
    /// gcd(p - 1, e) = 1 for the prime exponent e. A search that runs `searchSpan` past the
    /// start starts over from there.
    static func firstPrime(atOrAbove start: [UInt8], exponent e: UInt32, ctx: BigNumberContext) -> BigNumber {
        var bytes = start
        bytes[0] |= 0xC0
        bytes[bytes.count - 1] |= 1
        let base = BigNumber(bytes)
        let rounds = millerRabinRounds(primeBits: bytes.count * 8)
        var sieve = Sieve(base: base)
        let candidate = BigNumber()
        for first in stride(from: 0, to: searchSpan / 2, by: window) {
            sieve.next()
            for i in 0..<window where !sieve.composite[i] {
                BN_copy(candidate.pointer, base.pointer)
                BN_add_word(candidate.pointer, UInt(2 * (first + i)))
                guard BN_mod_word(candidate.pointer, UInt(e)) != 1,
                      isProbablePrime(candidate, rounds: rounds, ctx: ctx) else { continue }
                return candidate
            }
        }
        BN_add_word(base.pointer, UInt(searchSpan))
        return firstPrime(atOrAbove: base.bytes(length: bytes.count), exponent: e, ctx: ctx)
    }

    /// A sieve over the odd candidates base + 2·j, one window of j at a time.
    struct Sieve {
        /// composite[i] for the candidate j = first + i of the current window.
        private(set) var composite = [Bool](repeating: false, count: PrimeSearch.window)
        /// For each sieve prime, the first i in the next window whose candidate it divides.
        private var offsets: [Int]

        /// With r = base mod p, p divides base + 2·j when 2·j ≡ p - r (mod p): j = (p - r) / 2
        /// when that is even, (2p - r) / 2 otherwise.
        init(base: BigNumber) {
            offsets = [Int](repeating: 0, count: PrimeSearch.sievePrimes.count)
            for run in PrimeSearch.primeRuns {
                let remainder = BN_mod_word(base.pointer, run.product)
                for k in run.range {
                    let p = UInt(PrimeSearch.sievePrimes[k])
                    let gap = p - remainder % p
                    offsets[k] = Int(gap & 1 == 0 ? gap / 2 : (gap + p) / 2) % Int(p)
                }
            }
        }

        /// Sieves the next window.
        mutating func next() {
            let count = composite.count
            composite.withUnsafeMutableBufferPointer { marks in
                marks.update(repeating: false)
                offsets.withUnsafeMutableBufferPointer { offsets in
                    for (k, prime) in PrimeSearch.sievePrimes.enumerated() {
                        var i = offsets[k]
                        while i < count {
                            marks[i] = true
                            i += Int(prime)
                        }
                        offsets[k] = i - count
                    }
                }
            }
        }
    }

    /// Rounds of Miller-Rabin for an error probability of at most 2^-100 when generating the
    /// primes of an RSA key (FIPS 186-5 Table B.1).
    static func millerRabinRounds(primeBits: Int) -> Int {
        primeBits >= 1536 ? 4 : primeBits >= 1024 ? 5 : 7
    }

    /// The Miller-Rabin probabilistic primality test (FIPS 186-5 §B.3.1) of an odd w > 3, with
    /// `rounds` random bases in [2, w - 2] from OpenSSL's generator (never from a primary's
    /// seeded stream, which stays the same whatever the test draws). OpenSSL's own test cannot
    /// serve here: OpenSSL 3 raises every request to at least 64 rounds.
    static func isProbablePrime(_ w: BigNumber, rounds: Int, ctx: BigNumberContext) -> Bool {
        let wMinus1 = BigNumber.copy(w.pointer)
        BN_sub_word(wMinus1.pointer, 1)
        var a: Int32 = 1
        while BN_is_bit_set(wMinus1.pointer, a) == 0 { a += 1 }
        let m = BigNumber()
        BN_rshift(m.pointer, wMinus1.pointer, a)
        let baseRange = BigNumber.copy(w.pointer)
        BN_sub_word(baseRange.pointer, 3)
        guard let montgomery = BN_MONT_CTX_new() else { libcryptoFailed("BN_MONT_CTX_new") }
        defer { BN_MONT_CTX_free(montgomery) }
        guard BN_MONT_CTX_set(montgomery, w.pointer, ctx.pointer) == 1 else { libcryptoFailed("BN_MONT_CTX_set") }
        let b = BigNumber(), z = BigNumber()
        rounds: for _ in 0..<rounds {
            guard BN_priv_rand_range(b.pointer, baseRange.pointer) == 1, BN_add_word(b.pointer, 2) == 1,
                  BN_mod_exp_mont(z.pointer, b.pointer, m.pointer, w.pointer, ctx.pointer, montgomery) == 1 else {
                libcryptoFailed("a Miller-Rabin round")
            }
            if BN_is_one(z.pointer) == 1 || BN_cmp(z.pointer, wMinus1.pointer) == 0 { continue }
            for _ in 1..<a {
                guard BN_mod_sqr(z.pointer, z.pointer, w.pointer, ctx.pointer) == 1 else { libcryptoFailed("BN_mod_sqr") }
                if BN_cmp(z.pointer, wMinus1.pointer) == 0 { continue rounds }
                if BN_is_one(z.pointer) == 1 { return false }
            }
            return false
        }
        return true
    }
}

/// A libcrypto big-number call failed (it allocates, so only for want of memory). The search
/// cannot go on as "not prime": that would give another prime, and so another primary key, for
/// the same seed and template.
private func libcryptoFailed(_ call: String) -> Never {
    fatalError("libcrypto failed in \(call) during the RSA prime search")
}
