@testable import SEVSNP
import TestSupport
import Testing

/// The VCEK-to-report binding, exercised directly: a genuine report whose REPORTED_TCB or CHIP_ID
/// differs from its VCEK cannot be produced without AMD's key, so these bypass the signature.
@Suite("VCEK extensions against the report")
struct EndorsementExtensionsTests {
    func check(_ edit: (inout [UInt8]) -> Void) throws {
        var bytes = try TestData.milanReport
        edit(&bytes)
        let report = try SNPReport(bytes: bytes, product: .milan)
        let extensions = EndorsementExtensions(try TestData.milanVCEK)
        try extensions.requireMatch(report: report, product: .milan, reportedTCB: try report.components(of: report.reportedTCB))
    }

    @Test("The genuine pair matches")
    func genuine() throws {
        try check { _ in }
    }

    @Test("Each TCB component the VCEK certifies must equal REPORTED_TCB's")
    func tcbMismatch() throws {
        #expect(throws: SNPError.endorsementTCBMismatch(component: "bootloader", certificate: 2, report: 3)) { try check { $0[0x180] = 3 } }
        #expect(throws: SNPError.endorsementTCBMismatch(component: "tee", certificate: 0, report: 1)) { try check { $0[0x181] = 1 } }
        #expect(throws: SNPError.endorsementTCBMismatch(component: "snp", certificate: 5, report: 6)) { try check { $0[0x186] = 6 } }
        #expect(throws: SNPError.endorsementTCBMismatch(component: "microcode", certificate: 0x44, report: 0x45)) {
            try check { $0[0x187] = 0x45 }
        }
    }

    @Test("The VCEK's hwID must equal CHIP_ID")
    func chipMismatch() throws {
        #expect(throws: SNPError.chipIDMismatch) { try check { $0[0x1DF] ^= 1 } }
    }

    @Test("The VCEK's productName must name the report's product")
    func productName() throws {
        let report = try SNPReport(bytes: try TestData.milanReport, product: .genoa)
        let extensions = EndorsementExtensions(try TestData.milanVCEK)
        #expect(throws: SNPError.productMismatch(expected: .genoa, actual: .milan)) {
            try extensions.requireMatch(report: report, product: .genoa, reportedTCB: try report.components(of: report.reportedTCB))
        }
    }

    @Test("Product, TCB and hwID read from real VCEKs are the product, REPORTED_TCB and CHIP_ID of the reports they signed")
    func readsRealVCEKs() throws {
        var pairs = [(try TestData.milanVCEK, try SNPReport(bytes: try TestData.milanReport, product: .milan), SNPProduct.milan)]
        for azure in TestData.azureCases {
            guard let vcek = try azure.vcek else { continue }
            pairs.append((vcek, try SNPReport(bytes: try azure.report), azure.directory.contains("genoa") ? .genoa : .milan))
        }
        #expect(pairs.count == 5)
        for (vcek, report, expected) in pairs {
            let extensions = EndorsementExtensions(vcek)
            let product = try extensions.product()
            #expect(product == expected)
            #expect(try extensions.tcb(product: product) == (try report.components(of: report.reportedTCB, product: product)))
            #expect(try extensions.hardwareID() == report.chipID)
        }
    }
}
