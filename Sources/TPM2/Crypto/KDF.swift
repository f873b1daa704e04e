/// The TPM key derivation functions (TPM 2.0 Part 1 §11.4.10).
public enum TPMKDF {
    /// The label as the TPM uses it: an octet string that ends in one zero byte (Part 1
    /// §11.4.10.2: "Label ... a null-terminated string"; a label that already ends in zero is
    /// used as it is).
    static func terminated(_ label: [UInt8]) -> [UInt8] {
        label.last == 0 ? label : label + [0]
    }

    /// KDFa: SP 800-108 counter mode with HMAC (Part 1 §11.4.10.2). Returns `bits` bits; when
    /// `bits` is not a multiple of 8 the unused high bits of the first byte are cleared.
    public static func kdfa(
        _ hash: TPMHashAlgorithm, key: [UInt8], label: String, contextU: [UInt8], contextV: [UInt8], bits: Int
    ) -> [UInt8] {
        let byteCount = (bits + 7) / 8
        let fixed = terminated(Array(label.utf8)) + contextU + contextV + be32(UInt32(bits))
        var output: [UInt8] = []
        output.reserveCapacity(byteCount + hash.digestSize)
        var counter: UInt32 = 1
        while output.count < byteCount {
            output += hash.hmac(key: key, be32(counter), fixed)
            counter += 1
        }
        output.removeLast(output.count - byteCount)
        if bits % 8 != 0 { output[0] &= UInt8(0xFF >> (8 - bits % 8)) }
        return output
    }

    /// KDFe: the SP 800-56A concatenation KDF used with ECDH shared secrets (Part 1 §11.4.10.3).
    public static func kdfe(
        _ hash: TPMHashAlgorithm, z: [UInt8], label: String, partyU: [UInt8], partyV: [UInt8], bits: Int
    ) -> [UInt8] {
        let byteCount = (bits + 7) / 8
        let other = terminated(Array(label.utf8)) + partyU + partyV
        var output: [UInt8] = []
        var counter: UInt32 = 1
        while output.count < byteCount {
            output += hash.hash(be32(counter), z, other)
            counter += 1
        }
        output.removeLast(output.count - byteCount)
        if bits % 8 != 0 { output[0] &= UInt8(0xFF >> (8 - bits % 8)) }
        return output
    }

    static func be32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }
}
