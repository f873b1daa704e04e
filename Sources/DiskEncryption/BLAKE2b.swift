/// Unkeyed BLAKE2b (RFC 7693), which Argon2 is built on. swift-crypto has no BLAKE2, and the
/// OpenSSL 3.0 of Debian 12 offers only the fixed 64-byte output, so it is written out here.
public enum BLAKE2b {
    /// The initialization vector (RFC 7693 §2.6), the same as SHA-512's.
    static let iv: [UInt64] = [
        0x6A09_E667_F3BC_C908, 0xBB67_AE85_84CA_A73B, 0x3C6E_F372_FE94_F82B, 0xA54F_F53A_5F1D_36F1,
        0x510E_527F_ADE6_82D1, 0x9B05_688C_2B3E_6C1F, 0x1F83_D9AB_FB41_BD6B, 0x5BE0_CD19_137E_2179,
    ]

    /// The message schedule σ (RFC 7693 §2.7).
    static let sigma: [[Int]] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
        [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
        [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
        [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
        [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
        [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
        [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
        [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
        [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
    ]

    /// BLAKE2b of `data` with an output of 1 to 64 bytes (RFC 7693 §3.3).
    public static func hash(_ data: [UInt8], outputByteCount: Int) -> [UInt8] {
        precondition((1...64).contains(outputByteCount), "BLAKE2b output is 1 to 64 bytes")
        var state = iv
        state[0] ^= 0x0101_0000 ^ UInt64(outputByteCount)
        let blockCount = max(1, (data.count + 127) / 128)
        var block = [UInt64](repeating: 0, count: 16)
        for blockIndex in 0..<blockCount {
            let start = blockIndex * 128
            let end = min(start + 128, data.count)
            for word in 0..<16 { block[word] = 0 }
            for index in start..<end {
                block[(index - start) / 8] |= UInt64(data[index]) << (8 * ((index - start) % 8))
            }
            compress(&state, block, counter: UInt64(end), last: blockIndex == blockCount - 1)
        }
        var output = [UInt8]()
        for index in 0..<outputByteCount {
            output.append(UInt8(truncatingIfNeeded: state[index / 8] >> (8 * (index % 8))))
        }
        return output
    }

    /// The compression function F (RFC 7693 §3.2); messages here stay below 2⁶⁴ bytes.
    static func compress(_ state: inout [UInt64], _ message: [UInt64], counter: UInt64, last: Bool) {
        var v = state + iv
        v[12] ^= counter
        if last { v[14] = ~v[14] }
        for round in 0..<12 {
            let s = sigma[round % 10]
            mix(&v, 0, 4, 8, 12, message[s[0]], message[s[1]])
            mix(&v, 1, 5, 9, 13, message[s[2]], message[s[3]])
            mix(&v, 2, 6, 10, 14, message[s[4]], message[s[5]])
            mix(&v, 3, 7, 11, 15, message[s[6]], message[s[7]])
            mix(&v, 0, 5, 10, 15, message[s[8]], message[s[9]])
            mix(&v, 1, 6, 11, 12, message[s[10]], message[s[11]])
            mix(&v, 2, 7, 8, 13, message[s[12]], message[s[13]])
            mix(&v, 3, 4, 9, 14, message[s[14]], message[s[15]])
        }
        for index in 0..<8 { state[index] ^= v[index] ^ v[index + 8] }
    }

    /// The mixing function G (RFC 7693 §3.1).
    private static func mix(_ v: inout [UInt64], _ a: Int, _ b: Int, _ c: Int, _ d: Int, _ x: UInt64, _ y: UInt64) {
        v[a] = v[a] &+ v[b] &+ x
        v[d] = (v[d] ^ v[a]).rotatedRight(32)
        v[c] = v[c] &+ v[d]
        v[b] = (v[b] ^ v[c]).rotatedRight(24)
        v[a] = v[a] &+ v[b] &+ y
        v[d] = (v[d] ^ v[a]).rotatedRight(16)
        v[c] = v[c] &+ v[d]
        v[b] = (v[b] ^ v[c]).rotatedRight(63)
    }
}

extension UInt64 {
    @inline(__always)
    func rotatedRight(_ count: UInt64) -> UInt64 {
        self >> count | self << (64 - count)
    }
}
