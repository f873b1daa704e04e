#if canImport(Glibc)
import Glibc
#endif

extension Array where Element == UInt8 {
    /// Overwrites the bytes with zeros through `explicit_bzero`, which the optimiser may not
    /// remove, for key material and secret values the caller owns.
    public mutating func zeroize() {
        withUnsafeMutableBytes { bytes in
            if let base = bytes.baseAddress { explicit_bzero(base, bytes.count) }
        }
    }
}
