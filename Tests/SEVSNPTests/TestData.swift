import Foundation
import SEVSNP
import TestSupport

/// The shared SEV-SNP fixtures (see `shared/testdata/snp/README.md`).
extension TestData {
    static var milanReport: [UInt8] { get throws { try bytes("snp/milan-report-1.bin") } }
    static var milanVCEK: AMDCertificate { get throws { try AMDCertificate(derEncoded: try bytes("snp/milan-vcek-1.der")) } }
    /// ASK then ARK, as AMD's KDS serves them.
    static var milanASKARK: [AMDCertificate] { get throws { try AMDCertificate.certificates(pem: try text("snp/amd-milan-ask-ark.pem")) } }

    /// A time inside the validity of the Milan VCEK (2022-09-24 to 2029-09-24) and of every
    /// Azure VCEK (from 2025-01-28).
    static let verificationTime = ISO8601DateFormatter().date(from: "2025-06-01T00:00:00Z")!

    /// An Azure case: the SNP report is the 1184 bytes at offset 32 of its HCL report.
    struct AzureCase: Sendable, CustomStringConvertible {
        let directory: String
        let vcekFile: String?
        var description: String { self.directory }

        var report: [UInt8] { get throws { Array(try bytes("tpm/\(directory)/hcl_report.bin")[32..<(32 + SNPReport.size)]) } }
        var vcek: AMDCertificate? {
            get throws {
                guard let vcekFile else { return nil }
                return try AMDCertificate.certificates(derOrPEM: try bytes("tpm/\(directory)/\(vcekFile)"))[0]
            }
        }
    }

    static let azureCases: [AzureCase] = [
        AzureCase(directory: "azure-snp-cvm-genoa-trustee-evidence", vcekFile: "vcek.pem"),
        AzureCase(directory: "azure-snp-cvm-trustee-evidence-v0", vcekFile: "vcek.pem"),
        AzureCase(directory: "azure-snp-cvm-trustee-evidence-v1", vcekFile: "vcek.der"),
        AzureCase(directory: "azure-snp-cvm-trustee-evidence-v2", vcekFile: "vcek.der"),
        AzureCase(directory: "azure-snp-cvm-trustee-tpm-quote-v1", vcekFile: nil),
        AzureCase(directory: "azure-snp-hcl-report-kinvolk", vcekFile: nil),
    ]
}
