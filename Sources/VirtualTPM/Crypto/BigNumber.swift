import CLibCrypto

/// An OpenSSL BIGNUM owned by Swift; cleared when released because it may hold key material.
final class BigNumber: @unchecked Sendable {
    let pointer: OpaquePointer

    init() { pointer = BN_secure_new() }

    init(_ bytes: [UInt8]) {
        pointer = BN_secure_new()
        bytes.withUnsafeBufferPointer { _ = BN_bin2bn($0.baseAddress, Int32($0.count), pointer) }
    }

    init(word: UInt) {
        pointer = BN_secure_new()
        BN_set_word(pointer, UInt(word))
    }

    deinit { BN_clear_free(pointer) }

    /// Big-endian bytes, left-padded with zeros to `length` when given.
    func bytes(length: Int? = nil) -> [UInt8] {
        let size = Int((BN_num_bits(pointer) + 7) / 8)
        let count = max(length ?? size, size)
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { _ = BN_bn2binpad(pointer, $0.baseAddress, Int32(count)) }
        return out
    }

    var bitCount: Int { Int(BN_num_bits(pointer)) }
}

/// A reusable BN_CTX for one operation.
final class BigNumberContext {
    let pointer: OpaquePointer
    init() { pointer = BN_CTX_secure_new() }
    deinit { BN_CTX_free(pointer) }
}
