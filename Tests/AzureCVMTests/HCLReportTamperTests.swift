import AzureCVM
import Foundation
import SEVSNP
import Testing

/// The typed error `body` throws, or nil when it succeeds.
func azureError<T>(_ body: () throws(AzureCVMError) -> T) -> AzureCVMError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

/// Parses `bytes` and checks the binding: the two steps that need no keys.
func parseAndBind(_ bytes: [UInt8]) throws(AzureCVMError) {
    try HCLReport(bytes: bytes).requireRuntimeClaimsBinding()
}

@Suite("Tampered and truncated HCL reports")
struct HCLReportTamperTests {
    /// The v0 report: header version 1, SNP, 1110 bytes of claims ending at 2346, padded to 2600.
    let genuine: [UInt8]

    init() throws {
        self.genuine = try AzureCase.all[1].hclReport
    }

    func modified(_ change: (inout [UInt8]) -> Void) -> [UInt8] {
        var bytes = self.genuine
        change(&bytes)
        return bytes
    }

    func setWord(_ bytes: inout [UInt8], at offset: Int, _ value: UInt32) {
        for index in 0..<4 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }

    @Test("A cut at or inside every section names that section, its offset and what is missing",
          arguments: [
            (0, "IGVM_ATTEST header", 0, 32), (4, "IGVM_ATTEST header", 0, 32), (31, "IGVM_ATTEST header", 0, 32),
            (32, "hardware report", 32, 1184), (600, "hardware report", 32, 1184), (1215, "hardware report", 32, 1184),
            (1216, "IGVM request data", 1216, 20), (1235, "IGVM request data", 1216, 20),
            (1236, "runtime claims", 1236, 1110), (2000, "runtime claims", 1236, 1110), (2345, "runtime claims", 1236, 1110),
          ])
    func truncation(_ cut: Int, _ section: String, _ offset: Int, _ needed: Int) {
        let error = azureError { () throws(AzureCVMError) in try HCLReport(bytes: self.genuine.prefix(cut)) }
        #expect(error == .truncated(section: section, offset: offset, needed: needed, available: cut - offset))
    }

    @Test("Cutting the zero padding, or adding more, changes nothing but the buffer size")
    func padding() throws {
        let exact = try HCLReport(bytes: self.genuine.prefix(2346))
        #expect(exact.nvIndexSize == 2346)
        try exact.requireRuntimeClaimsBinding()
        #expect(try HCLReport(bytes: self.genuine + [0, 0]).nvIndexSize == 2602)
        #expect(azureError { () throws(AzureCVMError) in try HCLReport(bytes: self.genuine + [1]) } == .paddingNotZero(offset: 2600))
        let dirty = modified { $0[2346] = 0x20 }
        #expect(azureError { () throws(AzureCVMError) in try HCLReport(bytes: dirty) } == .paddingNotZero(offset: 2346))
    }

    @Test("A wrong signature, header version, request type or reserved word is refused")
    func header() {
        let cases: [([UInt8], AzureCVMError)] = [
            (modified { $0[0] = UInt8(ascii: "X") }, .badSignature(0x414C_4358)),
            (modified { setWord(&$0, at: 4, 0) }, .unsupportedHeaderVersion(0)),
            (modified { setWord(&$0, at: 4, 3) }, .unsupportedHeaderVersion(3)),
            (modified { setWord(&$0, at: 12, 0) }, .unknownRequestType(0)),
            (modified { setWord(&$0, at: 12, 4) }, .unknownRequestType(4)),
            (modified { $0[31] = 1 }, .reservedFieldNotZero(field: "reserved (header offset 20)", offset: 31)),
            (modified { setWord(&$0, at: 8, 2345) }, .sizeMismatch(field: "report_size (offset 8)", value: 2345, expected: 2346)),
            (modified { setWord(&$0, at: 8, 2600) }, .sizeMismatch(field: "report_size (offset 8)", value: 2600, expected: 2346)),
        ]
        for (bytes, expected) in cases {
            #expect(azureError { () throws(AzureCVMError) in try HCLReport(bytes: bytes) } == expected)
        }
    }

    @Test("Wrong request data sizes, version, report type or hash type are refused")
    func requestData() {
        let cases: [([UInt8], AzureCVMError)] = [
            (modified { setWord(&$0, at: 1216, 1129) }, .sizeMismatch(field: "data_size (offset 1216)", value: 1129, expected: 1130)),
            (modified { setWord(&$0, at: 1220, 2) }, .unsupportedRequestDataVersion(2)),
            (modified { setWord(&$0, at: 1224, 1) }, .unsupportedReportType(1)),
            (modified { setWord(&$0, at: 1224, 3) }, .unsupportedReportType(3)),
            (modified { setWord(&$0, at: 1228, 0) }, .unsupportedHashType(0)),
            (modified { setWord(&$0, at: 1228, 4) }, .unsupportedHashType(4)),
            (modified { setWord(&$0, at: 1232, 1109) }, .sizeMismatch(field: "data_size (offset 1216)", value: 1130, expected: 1129)),
            // An SNP report read as a TDREPORT: byte 0 is the SNP VERSION, not REPORTTYPE.TYPE 0x81.
            (modified { setWord(&$0, at: 1224, 4) }, .notATDReport(type: 3)),
        ]
        for (bytes, expected) in cases {
            #expect(azureError { () throws(AzureCVMError) in try HCLReport(bytes: bytes) } == expected)
        }
    }

    @Test("Claims sized consistently but shorter or longer than the JSON are refused")
    func resizedClaims() {
        let shorter = modified { bytes in
            setWord(&bytes, at: 8, 2345); setWord(&bytes, at: 1216, 1129); setWord(&bytes, at: 1232, 1109)
            bytes[2345] = 0
        }
        #expect(azureError { () throws(AzureCVMError) in try HCLReport(bytes: shorter) }.map { error in
            if case .runtimeClaimsMalformed = error { true } else { false }
        } == true)
        let longer = modified { bytes in
            setWord(&bytes, at: 8, 2347); setWord(&bytes, at: 1216, 1131); setWord(&bytes, at: 1232, 1111)
            bytes[2346] = UInt8(ascii: " ")
        }
        // Trailing white space is still the same JSON object, but not the bytes the hardware signed.
        #expect(azureError { () throws(AzureCVMError) in try parseAndBind(longer) }.map { error in
            if case .reportDataMismatch = error { true } else { false }
        } == true)
    }

    @Test("Every single-bit flip in the header and request data is refused, except in the unchecked status word and request type 2 → 3")
    func headerBitFlips() throws {
        let unsignedFields = 16..<20
        for offset in Array(0..<32) + Array(1216..<1236) where !unsignedFields.contains(offset) {
            for bit in 0..<8 {
                let bytes = modified { $0[offset] ^= 1 << bit }
                let error = azureError { () throws(AzureCVMError) in try parseAndBind(bytes) }
                if offset == 12, bit == 0 {
                    #expect(error == nil)
                    #expect(try HCLReport(bytes: bytes).header.requestType == .wrappedKey)
                } else {
                    #expect(error != nil, "flipping bit \(bit) of byte \(offset) was accepted")
                }
            }
        }
        #expect(try HCLReport(bytes: modified { $0[16] = 7 }).header.status == 7)
    }

    @Test("Changing the claims breaks the binding: the AK's modulus, the VM configuration, the user data")
    func claimsTampering() throws {
        let claimsStart = HCLReport.runtimeClaimsOffset
        let text = String(decoding: self.genuine[claimsStart..<2346], as: UTF8.self)
        for (original, replacement) in [("mHSRbgAA", "mHSRbgAB"), ("26F8BC30", "26F8BC31"), ("\"user-data\":\"00", "\"user-data\":\"01")] {
            let range = try #require(text.range(of: original))
            let offset = claimsStart + text.utf8.distance(from: text.startIndex, to: range.lowerBound)
            let bytes = modified { $0.replaceSubrange(offset..<(offset + original.utf8.count), with: Array(replacement.utf8)) }
            let report = try HCLReport(bytes: bytes)
            #expect(azureError { () throws(AzureCVMError) in try report.requireRuntimeClaimsBinding() }.map { error in
                if case .reportDataMismatch = error { true } else { false }
            } == true, "changing \(original) to \(replacement) kept the binding")
        }
    }

    @Test("Claims that are not Azure's JSON are refused with the path to the problem")
    func malformedClaims() {
        let claimsStart = HCLReport.runtimeClaimsOffset
        let cases: [(String, String, String)] = [
            ("\"kty\":\"RSA\"", "\"kty\":\"EC\" ", "kty \"EC\""),
            ("\"vm-configuration\"", "\"vm-Configuration\"", "vm-configuration"),
            ("\"secure-boot\":true", "\"secure-boot\":1   ", "secure-boot"),
            ("\"e\":\"AQAB\"", "\"e\":\"AQA=\"", "e of key \"HCLAkPub\" is not unpadded base64url"),
            ("\"user-data\":\"00", "\"user-data\":\"0g", "user-data"),
            ("{\"keys\"", "[\"keys\"", "top level"),
        ]
        let text = String(decoding: self.genuine[claimsStart..<2346], as: UTF8.self)
        for (original, replacement, mention) in cases {
            guard let range = text.range(of: original) else { Issue.record("no \(original)"); continue }
            let offset = claimsStart + text.utf8.distance(from: text.startIndex, to: range.lowerBound)
            let bytes = modified { $0.replaceSubrange(offset..<(offset + original.utf8.count), with: Array(replacement.utf8)) }
            let error = azureError { () throws(AzureCVMError) in try HCLReport(bytes: bytes) }
            guard case let .runtimeClaimsMalformed(reason) = error else {
                Issue.record("\(replacement): \(String(describing: error))")
                continue
            }
            #expect(reason.contains(mention), "\(reason)")
        }
    }

    @Test("REPORT_DATA must be the claims' hash followed by zeros; another hash type does not match")
    func reportData() throws {
        // REPORT_DATA is at 0x50 in the SNP report, which starts at offset 32.
        let reportData = 32 + 0x50
        #expect(azureError { () throws(AzureCVMError) in try parseAndBind(self.modified { $0[reportData + 40] = 1 }) }
                == .reportDataPaddingNotZero(offset: 40))
        let flipped = modified { $0[reportData] ^= 0x80 }
        guard case let .reportDataMismatch(expected, actual) = azureError({ () throws(AzureCVMError) in try parseAndBind(flipped) }) else {
            Issue.record("a changed REPORT_DATA was accepted")
            return
        }
        #expect(actual[0] == self.genuine[reportData] ^ 0x80)
        #expect(expected[0] == self.genuine[reportData])
        let sha384 = modified { setWord(&$0, at: 1228, 2) }
        #expect(try HCLReport(bytes: sha384).requestData.hashType == .sha384)
        #expect(azureError { () throws(AzureCVMError) in try parseAndBind(sha384) }.map { error in
            if case .reportDataMismatch = error { true } else { false }
        } == true)
    }

    @Test("A malformed SNP report is refused with the SEVSNP error; a TDREPORT must have type 0x81")
    func hardwareReport() throws {
        let reserved = modified { $0[32 + 0x4C] = 1 }
        #expect(azureError { () throws(AzureCVMError) in try HCLReport(bytes: reserved) }
                == .snpReportMalformed(.reservedFieldNotZero(field: "RESERVED 0x04C", offset: 0x4C)))
        var tdx = try AzureCase.tdx[0].hclReport
        tdx[32] = 0x00
        #expect(azureError { () throws(AzureCVMError) in try HCLReport(bytes: tdx) } == .notATDReport(type: 0))
        tdx[32] = 0x81
        tdx[32 + 1100] = 1
        #expect(azureError { () throws(AzureCVMError) in try HCLReport(bytes: tdx) }
                == .reservedFieldNotZero(field: "hardware report area after the TDREPORT", offset: 32 + 1100))
    }

    @Test("Every error reads as a sentence naming what failed")
    func descriptions() {
        #expect(AzureCVMError.truncated(section: "runtime claims", offset: 1236, needed: 1110, available: 764).description
                == "The HCL report ends inside the runtime claims: it needs 1110 bytes from offset 1236, but only 764 remain.")
        #expect(AzureCVMError.badSignature(0x414C_4358).description.contains("\"HCLA\""))
        #expect(AzureCVMError.unsupportedReportType(1).description.contains("1 (VBS)"))
    }
}
