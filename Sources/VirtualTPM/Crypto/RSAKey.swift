import CLibCrypto
import TPM2

/// An RSA key pair held by the engine, built from primes it derived or generated itself
/// (TPM 2.0 Part 1 §11.4.10 for the seeded derivation, Part 4's CryptRsa for the shape of the
/// search). Operations go through OpenSSL's raw RSA so that OAEP can carry the TPM's labels
/// ("IDENTITY", "SECRET", "DUPLICATE") and PSS can use the TPM's salt length.
final class RSAKey: @unchecked Sendable {
    private let rsa: OpaquePointer
    let modulus: [UInt8]
    let exponent: UInt32

    /// The public exponent as the TPM stores it: 0 stands for 65537 (Part 2 §12.2.3.5).
    static func effectiveExponent(_ value: UInt32) -> UInt32 { value == 0 ? 65537 : value }

    /// Builds the public half only.
    init(modulus: [UInt8], exponent: UInt32) throws(TPMResponseCode) {
        guard !modulus.isEmpty, modulus.first != 0 else { throw TPMResponseCode.key }
        rsa = RSA_new()
        self.modulus = modulus
        self.exponent = Self.effectiveExponent(exponent)
        let n = BN_new(), e = BN_new()
        modulus.withUnsafeBufferPointer { _ = BN_bin2bn($0.baseAddress, Int32($0.count), n) }
        BN_set_word(e, UInt(self.exponent))
        RSA_set0_key(rsa, n, e, nil)
    }

    /// Builds a private key from one prime and the public modulus (the TPM keeps only p,
    /// Part 2 §11.3.2.4: the sensitive area of an RSA key is one prime).
    init(modulus: [UInt8], exponent: UInt32, prime: [UInt8]) throws(TPMResponseCode) {
        let ctx = BigNumberContext()
        let n = BigNumber(modulus), p = BigNumber(prime), q = BigNumber(), remainder = BigNumber()
        guard BN_div(q.pointer, remainder.pointer, n.pointer, p.pointer, ctx.pointer) == 1, BN_is_zero(remainder.pointer) == 1,
              BN_is_one(q.pointer) == 0 else { throw TPMResponseCode.binding }
        self.modulus = modulus
        self.exponent = Self.effectiveExponent(exponent)
        guard let key = Self.makePrivate(p: p, q: q, exponent: self.exponent, ctx: ctx) else { throw TPMResponseCode.binding }
        rsa = key
    }

    private init(rsa: OpaquePointer, modulus: [UInt8], exponent: UInt32) {
        self.rsa = rsa
        self.modulus = modulus
        self.exponent = exponent
    }

    deinit { RSA_free(rsa) }

    private static func makePrivate(p: BigNumber, q: BigNumber, exponent: UInt32, ctx: BigNumberContext) -> OpaquePointer? {
        let one = BigNumber(word: 1), e = BigNumber(word: UInt(exponent))
        let p1 = BigNumber(), q1 = BigNumber(), phi = BigNumber(), d = BigNumber()
        let n = BigNumber(), dmp1 = BigNumber(), dmq1 = BigNumber(), iqmp = BigNumber()
        BN_sub(p1.pointer, p.pointer, one.pointer)
        BN_sub(q1.pointer, q.pointer, one.pointer)
        BN_mul(phi.pointer, p1.pointer, q1.pointer, ctx.pointer)
        BN_mul(n.pointer, p.pointer, q.pointer, ctx.pointer)
        guard BN_mod_inverse(d.pointer, e.pointer, phi.pointer, ctx.pointer) != nil,
              BN_div(nil, dmp1.pointer, d.pointer, p1.pointer, ctx.pointer) == 1,
              BN_div(nil, dmq1.pointer, d.pointer, q1.pointer, ctx.pointer) == 1,
              BN_mod_inverse(iqmp.pointer, q.pointer, p.pointer, ctx.pointer) != nil else { return nil }
        let rsa = RSA_new()
        RSA_set0_key(rsa, BN_dup(n.pointer), BN_dup(e.pointer), BN_dup(d.pointer))
        RSA_set0_factors(rsa, BN_dup(p.pointer), BN_dup(q.pointer))
        RSA_set0_crt_params(rsa, BN_dup(dmp1.pointer), BN_dup(dmq1.pointer), BN_dup(iqmp.pointer))
        return rsa
    }

    /// Generates a key whose primes come from `random`: a seeded DRBG for primary objects (so
    /// the same seed and template give the same key) or the system RNG otherwise. Each prime is
    /// the first one at or above a drawn start (`PrimeSearch`).
    static func generate(bits: Int, exponent: UInt32, random: inout some RandomBytes) throws(TPMResponseCode) -> (key: RSAKey, prime: [UInt8]) {
        let e = effectiveExponent(exponent)
        guard bits >= 1024, bits % 16 == 0, e >= 3, e & 1 == 1 else { throw TPMResponseCode.keySize }
        let ctx = BigNumberContext()
        while true {
            let p = PrimeSearch.firstPrime(atOrAbove: random.next(bits / 16), exponent: e, ctx: ctx)
            let q = PrimeSearch.firstPrime(atOrAbove: random.next(bits / 16), exponent: e, ctx: ctx)
            guard BN_cmp(p.pointer, q.pointer) != 0, let rsa = makePrivate(p: p, q: q, exponent: e, ctx: ctx) else { continue }
            var n: OpaquePointer?
            withUnsafeMutablePointer(to: &n) { RSA_get0_key(rsa, UnsafeMutablePointer(mutating: $0), nil, nil) }
            let modulus = BigNumber.copy(n!).bytes(length: bits / 8)
            return (RSAKey(rsa: rsa, modulus: modulus, exponent: e), p.bytes(length: bits / 16))
        }
    }

    var byteCount: Int { modulus.count }

    /// m^e mod n on a block of exactly the modulus size.
    func rawPublic(_ block: [UInt8]) throws(TPMResponseCode) -> [UInt8] {
        try raw(block) { RSA_public_encrypt($0, $1, $2, rsa, RSA_NO_PADDING) }
    }

    /// c^d mod n on a block of exactly the modulus size.
    func rawPrivate(_ block: [UInt8]) throws(TPMResponseCode) -> [UInt8] {
        try raw(block) { RSA_private_decrypt($0, $1, $2, rsa, RSA_NO_PADDING) }
    }

    private func raw(_ block: [UInt8], _ op: (Int32, UnsafePointer<UInt8>, UnsafeMutablePointer<UInt8>) -> Int32) throws(TPMResponseCode) -> [UInt8] {
        guard block.count == byteCount else { throw TPMResponseCode.size }
        var out = [UInt8](repeating: 0, count: byteCount)
        let result = block.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { op(Int32(byteCount), input.baseAddress!, $0.baseAddress!) }
        }
        guard result == Int32(byteCount) else { throw TPMResponseCode.value }
        return out
    }

    /// RSAES-OAEP encryption (RFC 8017 §7.1.1) with the TPM's label convention.
    func encryptOAEP(_ message: [UInt8], hash: TPMHashAlgorithm, label: [UInt8]) throws(TPMResponseCode) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: byteCount)
        let ok = block.withUnsafeMutableBufferPointer { out in
            message.withUnsafeBufferPointer { m in
                label.withUnsafeBufferPointer { l in
                    RSA_padding_add_PKCS1_OAEP_mgf1(out.baseAddress, Int32(byteCount), m.baseAddress, Int32(m.count), l.baseAddress, Int32(l.count), hash.evp, hash.evp)
                }
            }
        }
        guard ok == 1 else { throw TPMResponseCode.value }
        return try rawPublic(block)
    }

    /// RSAES-OAEP decryption; any padding failure is TPM_RC_VALUE (Part 3 §14.3).
    func decryptOAEP(_ ciphertext: [UInt8], hash: TPMHashAlgorithm, label: [UInt8]) throws(TPMResponseCode) -> [UInt8] {
        let block = try rawPrivate(ciphertext)
        var out = [UInt8](repeating: 0, count: byteCount)
        let length = out.withUnsafeMutableBufferPointer { o in
            block.withUnsafeBufferPointer { b in
                label.withUnsafeBufferPointer { l in
                    // The encoded block starts with the 0x00 byte OpenSSL's check expects the caller to strip.
                    RSA_padding_check_PKCS1_OAEP_mgf1(o.baseAddress, Int32(byteCount), b.baseAddress! + 1, Int32(byteCount - 1), Int32(byteCount), l.baseAddress, Int32(l.count), hash.evp, hash.evp)
                }
            }
        }
        guard block[0] == 0, length >= 0 else { throw TPMResponseCode.value }
        return Array(out.prefix(Int(length)))
    }

    /// RSAES-PKCS1-v1_5 (RFC 8017 §7.2).
    func encryptPKCS1(_ message: [UInt8]) throws(TPMResponseCode) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: byteCount)
        let length = message.withUnsafeBufferPointer { m in
            out.withUnsafeMutableBufferPointer { RSA_public_encrypt(Int32(m.count), m.baseAddress, $0.baseAddress, rsa, RSA_PKCS1_PADDING) }
        }
        guard length == Int32(byteCount) else { throw TPMResponseCode.value }
        return out
    }

    func decryptPKCS1(_ ciphertext: [UInt8]) throws(TPMResponseCode) -> [UInt8] {
        guard ciphertext.count == byteCount else { throw TPMResponseCode.size }
        var out = [UInt8](repeating: 0, count: byteCount)
        let length = ciphertext.withUnsafeBufferPointer { c in
            out.withUnsafeMutableBufferPointer { RSA_private_decrypt(Int32(byteCount), c.baseAddress, $0.baseAddress, rsa, RSA_PKCS1_PADDING) }
        }
        guard length >= 0 else { throw TPMResponseCode.value }
        return Array(out.prefix(Int(length)))
    }

    /// RSASSA-PKCS1-v1_5 over a digest (RFC 8017 §8.2).
    func signPKCS1(digest: [UInt8], hash: TPMHashAlgorithm) throws(TPMResponseCode) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: byteCount)
        var length: UInt32 = 0
        let ok = digest.withUnsafeBufferPointer { d in
            out.withUnsafeMutableBufferPointer { RSA_sign(hash.nid, d.baseAddress, UInt32(d.count), $0.baseAddress, &length, rsa) }
        }
        guard ok == 1 else { throw TPMResponseCode.value }
        return out
    }

    func verifyPKCS1(digest: [UInt8], signature: [UInt8], hash: TPMHashAlgorithm) -> Bool {
        digest.withUnsafeBufferPointer { d in
            signature.withUnsafeBufferPointer { RSA_verify(hash.nid, d.baseAddress, UInt32(d.count), $0.baseAddress, UInt32($0.count), rsa) == 1 }
        }
    }

    /// RSASSA-PSS with a salt as long as the digest, which every TPM verifier accepts
    /// (Part 1 Annex B.7 leaves the salt length to the implementation within the FIPS limits).
    func signPSS(digest: [UInt8], hash: TPMHashAlgorithm) throws(TPMResponseCode) -> [UInt8] {
        var encoded = [UInt8](repeating: 0, count: byteCount)
        let ok = encoded.withUnsafeMutableBufferPointer { e in
            digest.withUnsafeBufferPointer { RSA_padding_add_PKCS1_PSS_mgf1(rsa, e.baseAddress, $0.baseAddress, hash.evp, hash.evp, Int32(hash.digestSize)) }
        }
        guard ok == 1 else { throw TPMResponseCode.value }
        return try rawPrivate(encoded)
    }

    /// PSS verification with the salt length recovered from the signature.
    func verifyPSS(digest: [UInt8], signature: [UInt8], hash: TPMHashAlgorithm) -> Bool {
        guard let encoded = try? rawPublic(signature) else { return false }
        return encoded.withUnsafeBufferPointer { e in
            digest.withUnsafeBufferPointer { RSA_verify_PKCS1_PSS_mgf1(rsa, $0.baseAddress, hash.evp, hash.evp, e.baseAddress, -2) == 1 }
        }
    }
}

extension BigNumber {
    /// Copies a BIGNUM that OpenSSL owns.
    static func copy(_ pointer: OpaquePointer) -> BigNumber {
        let result = BigNumber()
        BN_copy(result.pointer, pointer)
        return result
    }
}

extension TPMHashAlgorithm {
    var evp: OpaquePointer? {
        switch id {
        case .sha1: EVP_sha1()
        case .sha256: EVP_sha256()
        case .sha384: EVP_sha384()
        default: EVP_sha512()
        }
    }

    var nid: Int32 {
        switch id {
        case .sha1: NID_sha1
        case .sha256: NID_sha256
        case .sha384: NID_sha384
        default: NID_sha512
        }
    }
}
