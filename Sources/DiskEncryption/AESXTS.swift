import Crypto
import _CryptoExtras

/// AES in XTS mode (IEEE Std 1619-2018 §5), the `aes-xts-plain64` cipher of dm-crypt and LUKS2.
///
/// swift-crypto 4.5 offers no XTS (only `AES._CBC`, `AES._CTR`, `AES._CFB`, GCM-SIV), so the mode is
/// composed here from its AES primitives. The tweak is `AES.permute` of the unit number. The
/// blocks of a unit, once XORed with their tweaks (Xᵢ), go through AES in one call: decryption as
/// CBC decryption with a zero IV, whose output is D(Xᵢ) ⊕ Xᵢ₋₁; encryption as CFB-128 decryption
/// of X₁…Xₙ₋₁‖0 with IV X₀, whose output is E(Xᵢ) ⊕ Xᵢ₊₁. Each data unit (a sector) is a whole
/// number of 16-byte blocks, so no ciphertext stealing is needed. `plain64` makes the tweak the
/// 64-bit little-endian sector number, zero-padded to 16 bytes.
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
            for (index, unitStart) in stride(from: 0, to: data.count, by: unitSize).enumerated() {
                var tweak = [UInt8](repeating: 0, count: 16)
                let unit = firstUnit &+ UInt64(index) &* unitStep
                for byte in 0..<8 { tweak[byte] = UInt8(truncatingIfNeeded: unit >> (8 * byte)) }
                try AES.permute(&tweak, key: tweakKey)
                var tweaks = [UInt8](repeating: 0, count: unitSize)
                var tweaked = [UInt8](repeating: 0, count: unitSize)
                for blockStart in stride(from: 0, to: unitSize, by: 16) {
                    for byte in 0..<16 {
                        tweaks[blockStart + byte] = tweak[byte]
                        tweaked[blockStart + byte] = data[unitStart + blockStart + byte] ^ tweak[byte]
                    }
                    Self.multiplyByAlpha(&tweak)
                }
                let chained: [UInt8]
                let neighbour: Int
                if encrypting {
                    chained = Array(try AES._CFB.decrypt(
                        tweaked[16...] + [UInt8](repeating: 0, count: 16), using: dataKey,
                        iv: AES._CFB.IV(ivBytes: tweaked[0..<16])))
                    neighbour = 16
                } else {
                    let zero = try AES._CBC.IV(ivBytes: [UInt8](repeating: 0, count: 16))
                    chained = Array(try AES._CBC.decrypt(tweaked, using: dataKey, iv: zero, noPadding: true))
                    neighbour = -16
                }
                for offset in 0..<unitSize {
                    let other = offset + neighbour
                    let unchained = chained[offset] ^ (other >= 0 && other < unitSize ? tweaked[other] : 0)
                    data[unitStart + offset] = unchained ^ tweaks[offset]
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
