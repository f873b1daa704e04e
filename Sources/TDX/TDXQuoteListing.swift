import Foundation

/// A named value of a quote listing: what `cvm tdx show` prints, as text or JSON, named as the
/// Intel TDX DCAP Quoting Library API's quote tables name the fields (lowercased).
public indirect enum TDXListing: Sendable, Encodable, CustomStringConvertible {
    case number(UInt64)
    case flag(Bool)
    /// Bytes, shown as lowercase hex.
    case bytes([UInt8])
    case text(String)
    /// Named values, in order.
    case group([(String, TDXListing)])
    /// Values without names, in order.
    case list([TDXListing])

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .number(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .flag(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .bytes(let value):
            var container = encoder.singleValueContainer()
            try container.encode(hexString(value))
        case .text(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .group(let fields):
            var container = encoder.container(keyedBy: NameKey.self)
            for (name, value) in fields {
                try container.encode(value, forKey: NameKey(stringValue: name))
            }
        case .list(let values):
            var container = encoder.unkeyedContainer()
            for value in values {
                try container.encode(value)
            }
        }
    }

    /// Indented `name: value` lines.
    public var description: String {
        self.lines(indent: "").joined(separator: "\n")
    }

    private func lines(indent: String) -> [String] {
        switch self {
        case .number(let value): return [indent + String(value)]
        case .flag(let value): return [indent + String(value)]
        case .bytes(let value): return [indent + hexString(value)]
        case .text(let value): return [indent + value]
        case .group(let fields):
            return fields.flatMap { name, value -> [String] in
                let rendered = value.lines(indent: indent + "  ")
                return rendered.count == 1 && !value.isGroup
                    ? ["\(indent)\(name): \(rendered[0].dropFirst(indent.count + 2))"] : ["\(indent)\(name):"] + rendered
            }
        case .list(let values):
            if values.allSatisfy(\.isScalar) {
                return [indent + "[" + values.map { $0.lines(indent: "")[0] }.joined(separator: ", ") + "]"]
            }
            return values.enumerated().flatMap { index, value in
                TDXListing.group([("[\(index)]", value)]).lines(indent: indent)
            }
        }
    }

    private var isScalar: Bool {
        switch self {
        case .group, .list: false
        default: true
        }
    }

    private var isGroup: Bool {
        if case .group = self { return true }
        return false
    }

    private struct NameKey: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

extension TDXQuote {
    /// Every field of the quote; the PCK chain is listed by certificate subject when it decodes.
    public var listing: TDXListing {
        let body = self.body
        var bodyFields: [(String, TDXListing)] = [
            ("tee_tcb_svn", .bytes(body.teeTCBSVN)), ("mrseam", .bytes(body.mrSEAM)), ("mrsignerseam", .bytes(body.mrSignerSEAM)),
            ("seamattributes", .text(hex64(body.seamAttributes))),
            ("tdattributes", .group([("value", .text(body.tdAttributes.description)), ("debug", .flag(body.tdAttributes.debug)),
                                     ("sept_ve_disable", .flag(body.tdAttributes.septVEDisable))])),
            ("xfam", .text(hex64(body.xfam))), ("mrtd", .bytes(body.mrTD)), ("mrconfigid", .bytes(body.mrConfigID)),
            ("mrowner", .bytes(body.mrOwner)), ("mrownerconfig", .bytes(body.mrOwnerConfig)),
            ("rtmr0", .bytes(body.rtmrs[0])), ("rtmr1", .bytes(body.rtmrs[1])), ("rtmr2", .bytes(body.rtmrs[2])),
            ("rtmr3", .bytes(body.rtmrs[3])), ("reportdata", .bytes(body.reportData)),
        ]
        if let svn2 = body.teeTCBSVN2, let serviceTD = body.mrServiceTD {
            bodyFields += [("tee_tcb_svn2", .bytes(svn2)), ("mrservicetd", .bytes(serviceTD))]
        }
        let certification = self.signatureData.qeReportCertificationData
        let report = certification.qeReport
        let nested = certification.certificationData
        var nestedFields: [(String, TDXListing)] = [("type", .text("\(nested.type.rawValue) (\(nested.type))")), ("size", .number(UInt64(nested.data.count)))]
        if nested.type == .pckCertificateChain {
            switch Result(catching: { () throws(TDXError) in try PCKCertificateChain(pem: nested.data) }) {
            case .success(let chain):
                let pck = chain.pck.extensions
                nestedFields += [
                    ("certificates", .list(chain.certificates.map { .text(CertificateChecks.commonName($0)) })),
                    ("fmspc", .bytes(pck.fmspc)), ("pceid", .bytes(pck.pceID)),
                    ("sgx_tcb_components", .list(pck.tcb.sgxComponentSVNs.map { .number(UInt64($0)) })),
                    ("pcesvn", .number(UInt64(pck.tcb.pceSVN))), ("cpusvn", .bytes(pck.tcb.cpuSVN)),
                ]
            case .failure(let error):
                nestedFields.append(("error", .text(error.description)))
            }
        }
        return .group([
            ("header", .group([
                ("version", .number(UInt64(self.header.version))), ("attestation_key_type", .number(UInt64(self.header.attestationKeyType))),
                ("tee_type", .number(UInt64(self.header.teeType))), ("qe_vendor_id", .bytes(self.header.qeVendorID)),
                ("user_data", .bytes(self.header.userData)),
            ])),
            ("body", .group([("type", .text(body.kind.description))] + bodyFields)),
            ("signature_data", .group([
                ("quote_signature", .bytes(self.signatureData.quoteSignature)),
                ("attestation_key", .bytes(self.signatureData.attestationKey)),
                ("qe_report", .group([
                    ("cpusvn", .bytes(report.cpuSVN)), ("miscselect", .number(UInt64(report.miscSelect))),
                    ("attributes", .bytes(report.attributes)), ("mrenclave", .bytes(report.mrEnclave)),
                    ("mrsigner", .bytes(report.mrSigner)), ("isvprodid", .number(UInt64(report.isvProdID))),
                    ("isvsvn", .number(UInt64(report.isvSVN))), ("reportdata", .bytes(report.reportData)),
                ])),
                ("qe_report_signature", .bytes(certification.qeReportSignature)),
                ("qe_authentication_data", .bytes(certification.qeAuthenticationData)),
                ("certification_data", .group(nestedFields)),
            ])),
            ("trailing_zero_padding", .number(UInt64(self.trailingZeroPadding))),
        ])
    }
}

private func hex64(_ value: UInt64) -> String {
    String(format: "0x%016llx", value)
}
