import EvidenceCore

/// An Intel TDX quote, version 4 or 5: the TD report body signed by the attestation key of
/// Intel's TD Quoting Enclave, with the certification data that ties that key to the platform's
/// PCK certificate (Intel TDX DCAP Quoting Library API, Appendix A.3 "Quote Format"; quote v4 is
/// `sgx_quote4_t`, quote v5 is `sgx_quote5_t`, which puts a body type and size before the body).
///
/// Parsing checks every size, type and reserved field and proves nothing about origin: pass the
/// quote to ``TDXVerifier`` for that. The PCK certificate chain stays as the PEM bytes the quote
/// carries until verification decodes it. Wire layouts are read by hand here; all cryptography
/// and X.509 is swift-crypto's and swift-certificates'.
public struct TDXQuote: Sendable, Hashable {
    /// Header (0x000).
    public let header: TDXQuoteHeader
    /// TD report body: at 0x030 in v4, at 0x036 after the body type and size in v5.
    public let body: TDReportBody
    /// Quote signature data, after its 4-byte length.
    public let signatureData: TDXQuoteSignatureData
    /// Zero bytes after the quote. Quote buffers are allocated at the size the quoting library
    /// announces before the certification data is known, so they often end in zero padding, which
    /// no signature covers.
    public let trailingZeroPadding: Int
    /// The bytes the attestation key signed: header and body, and in v5 the body type and size
    /// between them (quote v5: the signed data runs from the header through the body).
    let signedBytes: [UInt8]

    /// Parses a quote.
    public init(bytes: some Collection<UInt8>) throws(TDXError) {
        let bytes = Array(bytes)
        var reader = LittleEndianReader<TDXError>(bytes[...])
        self.header = try TDXQuoteHeader(&reader)
        let kind: TDReportBody.Kind
        if self.header.version == 5 {
            let typeOffset = reader.offset
            let rawType = try reader.integer(UInt16.self, field: "quote body type")
            guard let bodyKind = TDReportBody.Kind(rawValue: rawType) else { throw .unsupportedBodyType(rawType, offset: typeOffset) }
            let sizeOffset = reader.offset
            let size = Int(try reader.integer(UInt32.self, field: "quote body size"))
            guard size == bodyKind.size else {
                throw .sizeMismatch(field: "quote body size", offset: sizeOffset, declared: size, expected: bodyKind.size)
            }
            kind = bodyKind
        } else {
            kind = .td10
        }
        self.body = try TDReportBody(&reader, kind: kind)
        self.signedBytes = Array(bytes[..<reader.offset])
        var signature = LittleEndianReader<TDXError>(try reader.sized(UInt32.self, field: "quote signature data"))
        self.signatureData = try TDXQuoteSignatureData(&signature)
        let end = reader.offset
        let rest = reader.rest()
        if let nonZero = rest.firstIndex(where: { $0 != 0 }) {
            throw .trailingData(quoteEnd: end, nonZeroOffset: nonZero)
        }
        self.trailingZeroPadding = rest.count
    }

    /// The quote's bytes without trailing padding; equal to the parsed input up to the padding.
    public func encoded() -> [UInt8] {
        var writer = LittleEndianWriter()
        self.header.encode(to: &writer)
        if self.header.version == 5 {
            writer.integer(self.body.kind.rawValue)
            writer.integer(UInt32(self.body.kind.size))
        }
        self.body.encode(to: &writer)
        var signature = LittleEndianWriter()
        self.signatureData.encode(to: &signature)
        writer.integer(UInt32(signature.bytes.count))
        writer.bytes(signature.bytes)
        return writer.bytes
    }
}
