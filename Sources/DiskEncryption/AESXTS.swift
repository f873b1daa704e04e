import CLibCrypto
import Crypto

/// AES in XTS mode (IEEE Std 1619-2018 §5), the `aes-xts-plain64` cipher of dm-crypt and LUKS2.
///
/// swift-crypto 4.5 offers no XTS, and XTS composed from its AES modes runs at a few percent of
/// dm-crypt's speed (encryption cannot be pipelined through them), so data units go through
/// OpenSSL's `EVP_aes_128_xts` / `EVP_aes_256_xts`: one `EVP_CipherUpdate` per data unit, whose
/// 16-byte IV is the tweak input. `plain64` makes it the 64-bit little-endian sector number,
/// zero-padded to 16 bytes. Each data unit is a whole number of 16-byte blocks, so no ciphertext
/// stealing is needed.
public struct AESXTS: Sendable {
    /// Key1 (data) ‖ Key2 (tweak), as IEEE 1619 §5.1 and OpenSSL order them.
    private let key: SymmetricKey

    /// - Parameter key: 32 bytes (AES-128-XTS) or 64 bytes (AES-256-XTS): the data key, then the
    ///   tweak key (§5.1).
    public init(key: SymmetricKey) throws(LUKS2Error) {
        guard key.bitCount == 256 || key.bitCount == 512 else {
            throw .unsupported("aes-xts key of \(key.bitCount) bits")
        }
        self.key = key
    }

    /// Encrypts `data` in place as consecutive data units of `unitSize` bytes, unit `i` numbered
    /// `firstUnit + i × unitStep` (dm-crypt numbers sectors of any size in 512-byte units, so a
    /// 4096-byte sector advances the number by 8).
    public func encrypt(_ data: inout [UInt8], unitSize: Int, firstUnit: UInt64, unitStep: UInt64 = 1) throws(LUKS2Error) {
        try process(&data, unitSize: unitSize, firstUnit: firstUnit, unitStep: unitStep, encrypting: true)
    }

    /// Decrypts `data` in place, the inverse of ``encrypt(_:unitSize:firstUnit:unitStep:)``.
    public func decrypt(_ data: inout [UInt8], unitSize: Int, firstUnit: UInt64, unitStep: UInt64 = 1) throws(LUKS2Error) {
        try process(&data, unitSize: unitSize, firstUnit: firstUnit, unitStep: unitStep, encrypting: false)
    }

    private func process(
        _ data: inout [UInt8], unitSize: Int, firstUnit: UInt64, unitStep: UInt64, encrypting: Bool
    ) throws(LUKS2Error) {
        guard unitSize > 0, unitSize % 16 == 0, unitSize <= Int(Int32.max), data.count % unitSize == 0 else {
            throw .invalidArgument("\(data.count) bytes are not whole data units of \(unitSize) bytes")
        }
        guard let context = EVP_CIPHER_CTX_new() else { throw .unsupported("EVP_CIPHER_CTX_new failed") }
        defer { EVP_CIPHER_CTX_free(context) }
        let cipher = key.bitCount == 256 ? EVP_aes_128_xts() : EVP_aes_256_xts()
        let initialized = key.withUnsafeBytes { bytes in
            EVP_CipherInit_ex(context, cipher, nil, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), nil, encrypting ? 1 : 0)
        }
        guard initialized == 1 else { throw .unsupported("OpenSSL refused the AES-XTS key (equal halves?)") }
        var tweak = [UInt8](repeating: 0, count: 16)
        let failed = data.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let base = buffer.baseAddress else { return false }
            for (index, unitStart) in stride(from: 0, to: buffer.count, by: unitSize).enumerated() {
                let unit = firstUnit &+ UInt64(index) &* unitStep
                for byte in 0..<8 { tweak[byte] = UInt8(truncatingIfNeeded: unit >> (8 * byte)) }
                var written: Int32 = 0
                guard EVP_CipherInit_ex(context, nil, nil, nil, tweak, -1) == 1,
                    EVP_CipherUpdate(context, base + unitStart, &written, base + unitStart, Int32(unitSize)) == 1,
                    written == Int32(unitSize)
                else { return true }
            }
            return false
        }
        if failed { throw .unsupported("OpenSSL AES-XTS failed") }
    }
}
