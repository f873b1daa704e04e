import Foundation
import TDX

/// Locates the shared evidence (see `shared/testdata/README.md`).
enum TestData {
    /// `…/shared/testdata`, found from this file: the package root is three levels up.
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/testdata").standardized

    static func bytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: root.appendingPathComponent(path)))
    }

    /// The real TDX quote (v4) of an Azure TDX confidential VM, from confidential-containers/trustee
    /// (`tpm/azure-tdx-cvm-trustee/README.md`): 4936 bytes of quote and 70 bytes of zero padding.
    static var azureQuote: [UInt8] { get throws { try bytes("tpm/azure-tdx-cvm-trustee/td_quote.bin") } }

    /// Inside the validity of the Azure quote's PCK certificate (2023-09-13 to 2030-09-13), its
    /// Platform CA (2018-05-21 to 2033-05-21) and Intel's root (to 2049-12-31).
    static let verificationTime = ISO8601DateFormatter().date(from: "2025-06-01T00:00:00Z")!
}

extension [UInt8] {
    init(hex: String) {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        self = bytes
    }

    var hex: String { self.map { String(format: "%02x", $0) }.joined() }
}
