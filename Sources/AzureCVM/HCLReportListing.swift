import Foundation

/// A coding key for the listing's field names.
private struct ListingKey: CodingKey, ExpressibleByStringLiteral {
    let stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init(stringLiteral value: String) { self.stringValue = value }
    init?(intValue: Int) { nil }
}

extension HCLReport: Encodable, CustomStringConvertible {
    /// The binding check's outcome as a sentence, for listings.
    private var bindingStatus: String {
        do {
            try self.requireRuntimeClaimsBinding()
            return "ok: REPORT_DATA[0..<\(self.requestData.hashType.digestSize)] is the \(self.requestData.hashType) hash of the runtime claims, the rest zero"
        } catch {
            return "FAILED: \(error)"
        }
    }

    /// Every field: header, request data, the binding check, the runtime claims and the hardware
    /// report (the SNP report with all its fields, or the TDREPORT's REPORTDATA and bytes).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: ListingKey.self)
        try container.encode(self.nvIndexSize, forKey: "nv_index_size")
        var header = container.nestedContainer(keyedBy: ListingKey.self, forKey: "header")
        try header.encode("HCLA", forKey: "signature")
        try header.encode(self.header.version, forKey: "version")
        try header.encode(self.header.reportSize, forKey: "report_size")
        try header.encode(self.header.requestType.description, forKey: "request_type")
        try header.encode(self.header.status, forKey: "status")
        var request = container.nestedContainer(keyedBy: ListingKey.self, forKey: "request_data")
        try request.encode(self.requestData.dataSize, forKey: "data_size")
        try request.encode(self.requestData.version, forKey: "version")
        try request.encode(self.requestData.reportType.description, forKey: "report_type")
        try request.encode(self.requestData.hashType.description, forKey: "report_data_hash_type")
        try request.encode(self.requestData.variableDataSize, forKey: "variable_data_size")
        try container.encode(self.bindingStatus, forKey: "runtime_claims_binding")
        try container.encode(self.runtimeClaims, forKey: "runtime_claims")
        var hardware = container.nestedContainer(keyedBy: ListingKey.self, forKey: "hardware_report")
        try hardware.encode(self.hardwareReport.type.description, forKey: "type")
        switch self.hardwareReport {
        case let .snp(report):
            try hardware.encode(report, forKey: "snp_report")
        case let .tdx(report):
            try hardware.encode(hex(report.reportData), forKey: "report_data")
            try hardware.encode(hex(report.bytes), forKey: "td_report")
        }
    }

    /// The listing, one `name: value` per line.
    public var description: String {
        var lines = [
            "HCL report: \(self.header.reportSize) bytes in a \(self.nvIndexSize)-byte buffer",
            "header: signature HCLA, version \(self.header.version), report_size \(self.header.reportSize), "
                + "request_type \(self.header.requestType), status \(self.header.status)",
            "request data: version \(self.requestData.version), report_type \(self.requestData.reportType), "
                + "report_data_hash_type \(self.requestData.hashType), variable_data_size \(self.requestData.variableDataSize)",
            "runtime claims binding: \(self.bindingStatus)",
            "keys:",
        ]
        for key in self.runtimeClaims.keys {
            let size = key.modulus.drop { $0 == 0 }.count * 8
            let exponent = key.exponent.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            lines.append("  \(key.kid): RSA \(size)-bit, e \(exponent), key_ops \(key.keyOperations.joined(separator: ","))")
        }
        lines.append("vm-configuration:")
        if case let .object(members) = self.runtimeClaims.vmConfiguration.json {
            for (name, value) in members {
                var text = ""
                try? value.write(to: &text)
                lines.append("  \(name): \(text)")
            }
        }
        lines.append("user-data: \(self.runtimeClaims.userData ?? "(none)")")
        lines.append("hardware report: \(self.hardwareReport.type)")
        switch self.hardwareReport {
        case let .snp(report):
            lines += report.description.split(separator: "\n", omittingEmptySubsequences: false).map { "  \($0)" }
        case let .tdx(report):
            lines.append("  report_data: \(hex(report.reportData))")
            lines.append("  td_report: \(hex(report.bytes))")
        }
        return lines.joined(separator: "\n")
    }
}
