import Crypto
import _CryptoExtras

/// AES in XTS mode (IEEE Std 1619-2018 §5), the `aes-xts-plain64` cipher of dm-crypt and LUKS2.
///
/// swift-crypto 4.5 offers no XTS (only `AES._CBC`, `AES._CTR`, `AES._CFB`, GCM-SIV), so the mode is
/// composed here from its single-block primitives `AES.permute` / `AES.inversePermute`. Each data
/// unit (a sector) is a whole number of 16-byte blocks, so no ciphertext stealing is needed.
/// `plain64` makes the tweak the 64-bit little-endian sector number, zero-padded to 16 bytes.
public struct AESXTS: Sendable {
    private let dataKey: SymmetricKey
    private let tweakKey: SymmetricKey

    /// - Parameter key: 32 bytes (AES-128-XTS) or 64 bytes (AES-256-XTS): the data key, then the
    ///   tweak key (§5.1).
    public init(key: SymmetricKey) throws(LUKS2Error) {
        guard key.bitCount == 256 || key.bitCount == 512 else {
            throw .unsupported("aes-xts key of \(key.bitCount) bits")
        }
        (dataKey, tweakKey) = key.withUnsafeBytes { bytes in
            let half = bytes.count / 2
            return (SymmetricKey(data: bytes[..<half]), SymmetricKey(data: bytes[half...]))
        }
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
        guard unitSize > 0, unitSize % 16 == 0, data.count % unitSize == 0 else {
            throw .invalidArgument("\(data.count) bytes are not whole data units of \(unitSize) bytes")
        }
        do {
            var block = [UInt8](repeating: 0, count: 16)
            for (index, unitStart) in stride(from: 0, to: data.count, by: unitSize).enumerated() {
                var tweak = [UInt8](repeating: 0, count: 16)
                let unit = firstUnit &+ UInt64(index) &* unitStep
                for byte in 0..<8 { tweak[byte] = UInt8(truncatingIfNeeded: unit >> (8 * byte)) }
                try AES.permute(&tweak, key: tweakKey)
                for blockStart in stride(from: unitStart, to: unitStart + unitSize, by: 16) {
                    for byte in 0..<16 { block[byte] = data[blockStart + byte] ^ tweak[byte] }
                    if encrypting {
                        try AES.permute(&block, key: dataKey)
                    } else {
                        try AES.inversePermute(&block, key: dataKey)
                    }
                    for byte in 0..<16 { data[blockStart + byte] = block[byte] ^ tweak[byte] }
                    Self.multiplyByAlpha(&tweak)
                }
            }
        } catch {
            throw .unsupported("AES block operation failed: \(error)")
        }
    }

    /// Multiplies the tweak by the primitive element α of GF(2¹²⁸), little-endian (§5.2).
    private static func multiplyByAlpha(_ tweak: inout [UInt8]) {
        var carry: UInt8 = 0
        for byte in 0..<16 {
            let next = tweak[byte] >> 7
            tweak[byte] = tweak[byte] << 1 | carry
            carry = next
        }
        if carry != 0 { tweak[0] ^= 0x87 }
    }
}
