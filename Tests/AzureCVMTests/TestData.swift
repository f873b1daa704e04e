import Foundation
import SEVSNP
import TPM2

/// The shared Azure cases in `shared/testdata/tpm/azure-*` (see that folder's README.md).
enum TestData {
    /// `…/shared/testdata/tpm`, found from this file: the package root is three levels up.
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/testdata/tpm").standardized

    static func bytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: root.appendingPathComponent(path)))
    }

    static func text(_ path: String) throws -> String {
        String(decoding: try bytes(path), as: UTF8.self)
    }

    /// A time inside the validity of every Azure VCEK (from 2025-01-24 to 2032), as the SEVSNP
    /// tests use.
    static let verificationTime = ISO8601DateFormatter().date(from: "2025-06-01T00:00:00Z")!
}

/// One Azure case: its HCL report and whatever else the folder holds.
struct AzureCase: Sendable, CustomStringConvertible {
    let directory: String
    /// The VCEK file name, for SNP cases that have one.
    let vcekFile: String?
    /// Whether the folder has a vTPM quote signed by the HCL AK.
    let hasQuote: Bool
    /// Whether the folder has the EK extracted from the claims.
    let hasEK: Bool
    let isTDX: Bool

    var description: String { self.directory }

    var hclReport: [UInt8] { get throws { try TestData.bytes("\(directory)/hcl_report.bin") } }

    var vcek: AMDCertificate? {
        get throws {
            guard let vcekFile else { return nil }
            return try AMDCertificate.certificates(derOrPEM: try TestData.bytes("\(directory)/\(vcekFile)"))[0]
        }
    }

    var akPEM: String { get throws { try TestData.text("\(directory)/hcl_ak_pub.pem") } }
    var ekPEM: String { get throws { try TestData.text("\(directory)/hcl_ek_pub.pem") } }

    var caseJSON: [String: Any] {
        get throws {
            try JSONSerialization.jsonObject(with: Data(TestData.bytes("\(directory)/case.json"))) as! [String: Any]
        }
    }

    var quote: [UInt8] { get throws { try TestData.bytes("\(directory)/quote.tpms_attest.bin") } }
    var quoteSignature: TPMTSignature { get throws { .azureRSASSA(try TestData.bytes("\(directory)/quote.sig.raw_rsa2048.bin")) } }
    var nonce: [UInt8] { get throws { hexBytes(try caseJSON["nonce_hex"] as! String) } }
    /// The SHA-256 PCR values the case says the quote covers.
    var pcrValues: TPMPCRValues {
        get throws {
            let values = try caseJSON["pcr_values_sha256"] as! [String: String]
            return [.sha256: Dictionary(uniqueKeysWithValues: values.map { (Int($0.key)!, hexBytes($0.value)) })]
        }
    }

    static let all: [AzureCase] = [
        AzureCase(directory: "azure-snp-cvm-genoa-trustee-evidence", vcekFile: "vcek.pem", hasQuote: true, hasEK: true, isTDX: false),
        AzureCase(directory: "azure-snp-cvm-trustee-evidence-v0", vcekFile: "vcek.pem", hasQuote: true, hasEK: true, isTDX: false),
        AzureCase(directory: "azure-snp-cvm-trustee-evidence-v1", vcekFile: "vcek.der", hasQuote: true, hasEK: true, isTDX: false),
        AzureCase(directory: "azure-snp-cvm-trustee-evidence-v2", vcekFile: "vcek.der", hasQuote: true, hasEK: true, isTDX: false),
        AzureCase(directory: "azure-snp-cvm-trustee-tpm-quote-v1", vcekFile: nil, hasQuote: true, hasEK: true, isTDX: false),
        AzureCase(directory: "azure-snp-hcl-report-kinvolk", vcekFile: nil, hasQuote: false, hasEK: false, isTDX: false),
        AzureCase(directory: "azure-tdx-cvm-trustee", vcekFile: nil, hasQuote: true, hasEK: true, isTDX: true),
        AzureCase(directory: "azure-tdx-hcl-report-kinvolk", vcekFile: nil, hasQuote: false, hasEK: true, isTDX: true),
    ]

    static let snp = all.filter { !$0.isTDX }
    static let tdx = all.filter(\.isTDX)
    static let withVCEK = all.filter { $0.vcekFile != nil }
}

func hexBytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.utf8)
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
}
