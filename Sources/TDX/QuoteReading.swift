import EvidenceCore

// Quotes are read with EvidenceCore's little-endian reader (Intel TDX DCAP Quoting Library API,
// Appendix A: "all multi-byte integers are little-endian"; the ECDSA values inside them are
// big-endian byte strings and are read as plain bytes), over a slice of the whole quote so that
// every offset an error reports is the absolute offset in the quote.

extension TDXError: LittleEndianReadFailure {}

extension LittleEndianReader where Failure == TDXError {
    /// Reads a size field of `Size`'s width and then that many bytes, refusing a size larger than
    /// what remains before anything is sliced.
    mutating func sized<Size: FixedWidthInteger & UnsignedInteger>(_: Size.Type, field: String) throws(TDXError) -> ArraySlice<UInt8> {
        let at = self.offset
        let size = Int(clamping: try self.integer(Size.self, field: "\(field) size"))
        guard size <= self.remaining else {
            throw .sizeExceedsData(field: field, offset: at, declared: size, available: self.remaining)
        }
        return try self.slice(size, field: field)
    }
}
