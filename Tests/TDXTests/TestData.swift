import Foundation
import TestSupport

/// The shared TDX evidence (see `shared/testdata/README.md`).
extension TestData {
    /// The real TDX quote (v4) of an Azure TDX confidential VM, from confidential-containers/trustee
    /// (`tpm/azure-tdx-cvm-trustee/README.md`): 4936 bytes of quote and 70 bytes of zero padding.
    static var azureQuote: [UInt8] { get throws { try bytes("tpm/azure-tdx-cvm-trustee/td_quote.bin") } }

    /// Inside the validity of the Azure quote's PCK certificate (2023-09-13 to 2030-09-13), its
    /// Platform CA (2018-05-21 to 2033-05-21) and Intel's root (to 2049-12-31).
    static let verificationTime = ISO8601DateFormatter().date(from: "2025-06-01T00:00:00Z")!
}
