import Crypto
import Foundation
import TDX
import TDXTestSupport
import TestSupport
import Testing

/// Offsets of the Azure quote's parts, from the quote v4 layout (Intel TDX DCAP Quoting Library
/// API, Appendix A.3: header 48, body 584, signature data length at 632, signature data at 636)
/// and the sizes the quote declares (signature data 4300, certification data type 6 of 4166 bytes,
/// QE authentication data 32, certification data type 5 of 3678 bytes).
enum AzureLayout {
    static let body = 48
    static let signatureDataLength = 632
    static let signatureData = 636
    static let attestationKey = 700
    static let certificationType = 764
    static let certificationSize = 766
    static let qeReport = 770
    static let qeReportSignature = 1154
    static let authenticationDataSize = 1218
    static let authenticationData = 1220
    static let nestedType = 1252
    static let nestedSize = 1254
    static let pem = 1258
    static let end = 4936
    static let fileSize = 5006

    /// The quote with its PCK chain PEM replaced and the three enclosing sizes fixed.
    static func quote(_ original: [UInt8], withPEM pem: [UInt8]) -> [UInt8] {
        var bytes = Array(original[..<Self.pem]) + pem
        let delta = pem.count - (Self.end - Self.pem)
        func add(_ offset: Int, _ base: Int) {
            let value = UInt32(base + delta)
            for index in 0..<4 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
        }
        add(Self.signatureDataLength, 4300)
        add(Self.certificationSize, 4166)
        add(Self.nestedSize, 3678)
        return bytes
    }
}

@Suite("TDX quote parsing")
struct QuoteParsingTests {
    @Test("The Azure quote's fields are those at the specification's offsets (as xxd shows them)")
    func azureFields() throws {
        let quote = try TDXQuote(bytes: try TestData.azureQuote)
        #expect(quote.header.version == 4)
        #expect(quote.header.attestationKeyType == 2)
        #expect(quote.header.teeType == 0x81)
        #expect(quote.header.qeVendorID == [UInt8](hex: "939a7233f79c4ca9940a0db3957f0607"))
        #expect(quote.header.userData == [UInt8](hex: "f17eac112e4cd9a0fafce1b46b5af18f00000000"))
        let body = quote.body
        #expect(body.kind == .td10)
        #expect(body.teeTCBSVN == [UInt8](hex: "02010600000000000000000000000000"))
        #expect(body.mrSEAM == [UInt8](hex: "360304d34a16aace0a18e09ad2d07d2b9fd3c174378e5bf108388079827f89ff62acc5f8c473dd40706324834e202946"))
        #expect(body.mrSignerSEAM == [UInt8](repeating: 0, count: 48))
        #expect(body.seamAttributes == 0)
        #expect(body.tdAttributes.rawValue == 0 && !body.tdAttributes.debug)
        #expect(body.xfam == 0x618E7)
        #expect(body.mrTD == [UInt8](hex: "024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b66205949d15469dc8c1ba7ab7b"))
        #expect(body.rtmrs.allSatisfy { $0 == [UInt8](repeating: 0, count: 48) })
        #expect(body.teeTCBSVN2 == nil && body.mrServiceTD == nil)
        let certification = quote.signatureData.qeReportCertificationData
        #expect(certification.qeReport.mrSigner == [UInt8](hex: "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5"))
        #expect(certification.qeReport.isvProdID == 2)
        #expect(certification.qeReport.isvSVN == 5)
        #expect(certification.qeReport.attributes == [UInt8](hex: "1500000000000000e700000000000000"))
        #expect(certification.qeAuthenticationData == Array(0..<32))
        #expect(certification.certificationData.type == .pckCertificateChain)
        #expect(certification.certificationData.data.count == 3678)
        #expect(quote.trailingZeroPadding == 70)
    }

    @Test("REPORTDATA binds the HCL report's runtime claims, as Azure defines it")
    func reportDataBindsHCLClaims() throws {
        // The HCL report's IGVM request data header at 1216 gives variable_data_size (1201) of the
        // JSON runtime claims at 1236 (tpm/azure-tdx-cvm-trustee/case.json).
        let hcl = try TestData.bytes("tpm/azure-tdx-cvm-trustee/hcl_report.bin")
        let size = Int(hcl[1232]) | Int(hcl[1233]) << 8
        let claims = hcl[1236..<(1236 + size)]
        let quote = try TDXQuote(bytes: try TestData.azureQuote)
        #expect(Array(quote.body.reportData[..<32]) == Array(SHA256.hash(data: claims)))
        #expect(quote.body.reportData[32...].allSatisfy { $0 == 0 })
    }

    @Test("Encoding gives back the quote's bytes, without the padding")
    func roundTrip() throws {
        let bytes = try TestData.azureQuote
        #expect(try TDXQuote(bytes: bytes).encoded() == Array(bytes[..<AzureLayout.end]))
        #expect(bytes[AzureLayout.end...].allSatisfy { $0 == 0 })
        let platform = try SyntheticPlatform()
        for spec in [SyntheticPlatform.QuoteSpec(), .init(version: 5, bodyType: 2), .init(version: 5, bodyType: 3)] {
            let quote = try platform.quote(spec)
            #expect(try TDXQuote(bytes: quote).encoded() == quote)
        }
    }

    /// The field a quote cut to `length` bytes ends in, from the header and TD report tables.
    static func truncation(at length: Int) -> TDXError {
        let fields: [(Int, Int, String)] = [
            (0, 2, "header VERSION"), (2, 2, "header ATTESTATION_KEY_TYPE"), (4, 4, "header TEE_TYPE"), (8, 4, "header RESERVED"),
            (12, 16, "header QE_VENDOR_ID"), (28, 20, "header USER_DATA"), (48, 16, "TD report TEE_TCB_SVN"), (64, 48, "TD report MRSEAM"),
            (112, 48, "TD report MRSIGNERSEAM"), (160, 8, "TD report SEAMATTRIBUTES"), (168, 8, "TD report TDATTRIBUTES"),
            (176, 8, "TD report XFAM"), (184, 48, "TD report MRTD"), (232, 48, "TD report MRCONFIGID"), (280, 48, "TD report MROWNER"),
            (328, 48, "TD report MROWNERCONFIG"), (376, 48, "TD report RTMR0"), (424, 48, "TD report RTMR1"), (472, 48, "TD report RTMR2"),
            (520, 48, "TD report RTMR3"), (568, 64, "TD report REPORTDATA"), (632, 4, "quote signature data size"),
        ]
        if let (offset, size, field) = fields.last(where: { $0.0 <= length }), length < offset + size {
            return .truncated(field: field, offset: offset, needed: size, available: length - offset)
        }
        return .sizeExceedsData(field: "quote signature data", offset: 632, declared: 4300, available: length - 636)
    }

    @Test("A quote cut at any length is refused, naming the field it ends in")
    func truncations() throws {
        let bytes = try TestData.azureQuote
        for length in 0..<AzureLayout.end {
            #expect(throws: Self.truncation(at: length), "length \(length)") { try TDXQuote(bytes: bytes[..<length]) }
        }
    }

    /// The error for signature data cut to `length` bytes with the enclosing sizes fixed, so that
    /// the innermost structure reports it (Appendix A.3.4–A.3.6 layouts).
    static func innerTruncation(at length: Int) -> TDXError {
        let s = AzureLayout.signatureData
        switch length {
        case ..<64: return .truncated(field: "quote signature", offset: s, needed: 64, available: length)
        case ..<128: return .truncated(field: "ECDSA attestation key", offset: s + 64, needed: 64, available: length - 64)
        case ..<130: return .truncated(field: "certification data type", offset: s + 128, needed: 2, available: length - 128)
        case ..<134: return .truncated(field: "certification data size", offset: s + 130, needed: 4, available: length - 130)
        default: break
        }
        let inner = length - 134
        let q = AzureLayout.qeReport
        switch inner {
        case ..<384: return .truncated(field: "QE report", offset: q, needed: 384, available: inner)
        case ..<448: return .truncated(field: "QE report signature", offset: q + 384, needed: 64, available: inner - 384)
        case ..<450: return .truncated(field: "QE authentication data size", offset: q + 448, needed: 2, available: inner - 448)
        case ..<482: return .sizeExceedsData(field: "QE authentication data", offset: q + 448, declared: 32, available: inner - 450)
        case ..<484: return .truncated(field: "QE certification data type", offset: q + 482, needed: 2, available: inner - 482)
        case ..<488: return .truncated(field: "QE certification data size", offset: q + 484, needed: 4, available: inner - 484)
        default: return .sizeExceedsData(field: "QE certification data", offset: q + 484, declared: 3678, available: inner - 488)
        }
    }

    @Test("Signature data cut at any length, with the sizes around it fixed, is refused at the innermost field")
    func innerTruncations() throws {
        let bytes = try TestData.azureQuote
        for length in 0..<4300 {
            var cut = Array(bytes[..<(AzureLayout.signatureData + length)])
            cut.replaceSubrange(632..<636, with: UInt32(length).littleEndianBytes)
            if length >= 134 { cut.replaceSubrange(766..<770, with: UInt32(length - 134).littleEndianBytes) }
            #expect(throws: Self.innerTruncation(at: length), "signature data length \(length)") { try TDXQuote(bytes: cut) }
        }
    }

    @Test("Trailing bytes: zero padding is accepted and counted, anything else is refused")
    func trailingBytes() throws {
        let bytes = try TestData.azureQuote
        #expect(try TDXQuote(bytes: bytes + [0]).trailingZeroPadding == 71)
        #expect(try TDXQuote(bytes: bytes[..<AzureLayout.end]).trailingZeroPadding == 0)
        #expect(throws: TDXError.trailingData(quoteEnd: 4936, nonZeroOffset: 5006)) { try TDXQuote(bytes: bytes + [1]) }
        var inside = bytes
        inside[4937] = 0xFF
        #expect(throws: TDXError.trailingData(quoteEnd: 4936, nonZeroOffset: 4937)) { try TDXQuote(bytes: inside) }
    }

    @Test("Header fields outside the TDX quote v4/v5 values are refused")
    func headerValues() throws {
        let bytes = try TestData.azureQuote
        func with(_ offset: Int, _ value: [UInt8]) -> [UInt8] {
            var copy = bytes
            copy.replaceSubrange(offset..<(offset + value.count), with: value)
            return copy
        }
        #expect(throws: TDXError.unsupportedVersion(3)) { try TDXQuote(bytes: with(0, [3, 0])) }
        // A v4 quote read as v5: the first two body bytes (TEE_TCB_SVN 02 01) become the body type.
        #expect(throws: TDXError.unsupportedBodyType(0x0102, offset: 48)) { try TDXQuote(bytes: with(0, [5, 0])) }
        #expect(throws: TDXError.unsupportedAttestationKeyType(3)) { try TDXQuote(bytes: with(2, [3, 0])) }
        #expect(throws: TDXError.unsupportedTEEType(0)) { try TDXQuote(bytes: with(4, [0, 0, 0, 0])) }
        #expect(throws: TDXError.reservedFieldNotZero(field: "header RESERVED", offset: 10)) { try TDXQuote(bytes: with(10, [1])) }
        var vendor = TDXQuoteHeader.intelQEVendorID
        vendor[15] ^= 1
        #expect(throws: TDXError.unknownQEVendor(vendor)) { try TDXQuote(bytes: with(12, vendor)) }
        #expect(throws: TDXError.unexpectedCertificationDataType(5, offset: 764, expected: 6)) { try TDXQuote(bytes: with(764, [5, 0])) }
        #expect(throws: TDXError.unexpectedCertificationDataType(6, offset: 1252, expected: 5)) { try TDXQuote(bytes: with(1252, [6, 0])) }
        #expect(throws: TDXError.unexpectedCertificationDataType(0, offset: 1252, expected: 5)) { try TDXQuote(bytes: with(1252, [0, 0])) }
        #expect(try TDXQuote(bytes: with(1252, [4, 0])).signatureData.qeReportCertificationData.certificationData.type == .pckCertificate)
    }

    @Test("Sizes that disagree with the content they announce are refused")
    func sizes() throws {
        let bytes = try TestData.azureQuote
        var longer = bytes
        longer.replaceSubrange(632..<636, with: UInt32(4301).littleEndianBytes)
        #expect(throws: TDXError.sizeMismatch(field: "certification data size", offset: 766, declared: 4166, expected: 4167)) {
            try TDXQuote(bytes: longer)
        }
        var huge = bytes
        huge.replaceSubrange(632..<636, with: UInt32.max.littleEndianBytes)
        #expect(throws: TDXError.sizeExceedsData(field: "quote signature data", offset: 632, declared: Int(UInt32.max), available: 4370)) {
            try TDXQuote(bytes: huge)
        }
        var nested = bytes
        nested.replaceSubrange(1254..<1258, with: UInt32(3677).littleEndianBytes)
        #expect(throws: TDXError.sizeMismatch(field: "QE certification data size", offset: 1254, declared: 3677, expected: 3678)) {
            try TDXQuote(bytes: nested)
        }
    }

    @Test("Reserved areas of the QE report must be zero")
    func qeReportReserved() throws {
        let bytes = try TestData.azureQuote
        for (field, start, count) in [("QE report RESERVED1", 20, 12), ("QE report RESERVED2", 96, 32), ("QE report RESERVED3", 160, 32),
                                      ("QE report RESERVED4", 262, 42)] {
            for offset in [start, start + count - 1] {
                var copy = bytes
                copy[AzureLayout.qeReport + offset] = 0x80
                #expect(throws: TDXError.reservedFieldNotZero(field: field, offset: AzureLayout.qeReport + offset)) { try TDXQuote(bytes: copy) }
            }
        }
    }

    @Test("Quote v5 bodies: TD report 1.0 (584 bytes) and 1.5 (648 bytes, TEE_TCB_SVN2 and MRSERVICETD); other types and sizes refused")
    func version5() throws {
        let platform = try SyntheticPlatform()
        let td10 = try TDXQuote(bytes: try platform.quote(.init(version: 5, bodyType: 2)))
        #expect(td10.body.kind == .td10 && td10.body.teeTCBSVN2 == nil)
        let td15 = try TDXQuote(bytes: try platform.quote(.init(version: 5, bodyType: 3)))
        #expect(td15.body.kind == .td15)
        #expect(td15.body.teeTCBSVN2 == [UInt8](repeating: 0x07, count: 16))
        #expect(td15.body.mrServiceTD == [UInt8](repeating: 0, count: 48))
        #expect(td15.body.reportData == [UInt8](repeating: 0x42, count: 64))
        var wrongSize = try platform.quote(.init(version: 5, bodyType: 3))
        wrongSize.replaceSubrange(50..<54, with: UInt32(584).littleEndianBytes)
        #expect(throws: TDXError.sizeMismatch(field: "quote body size", offset: 50, declared: 584, expected: 648)) { try TDXQuote(bytes: wrongSize) }
        var sgx = try platform.quote(.init(version: 5, bodyType: 2))
        sgx[48] = 1
        #expect(throws: TDXError.unsupportedBodyType(1, offset: 48)) { try TDXQuote(bytes: sgx) }
    }
}

extension UInt32 {
    var littleEndianBytes: [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: self >> (8 * $0)) } }
}
