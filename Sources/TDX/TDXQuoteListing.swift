import EvidenceCore

/// A value of a quote listing: what `cvm tdx show` prints, as text or JSON, named as the Intel
/// TDX DCAP Quoting Library API's quote tables name the fields (lowercased).
public typealias TDXListing = ListingValue

extension TDXQuote {
    /// Every field of the quote; the PCK chain is listed by certificate subject when it decodes.
    public var listing: TDXListing {
        let body = self.body
        var bodyFields = [
            Field("tee_tcb_svn", .bytes(body.teeTCBSVN)), Field("mrseam", .bytes(body.mrSEAM)), Field("mrsignerseam", .bytes(body.mrSignerSEAM)),
            Field("seamattributes", .text(hex64(body.seamAttributes))),
            Field("tdattributes", .group([Field("value", .text(body.tdAttributes.description)), Field("debug", .flag(body.tdAttributes.debug)),
                                          Field("sept_ve_disable", .flag(body.tdAttributes.septVEDisable))])),
            Field("xfam", .text(hex64(body.xfam))), Field("mrtd", .bytes(body.mrTD)), Field("mrconfigid", .bytes(body.mrConfigID)),
            Field("mrowner", .bytes(body.mrOwner)), Field("mrownerconfig", .bytes(body.mrOwnerConfig)),
            Field("rtmr0", .bytes(body.rtmrs[0])), Field("rtmr1", .bytes(body.rtmrs[1])), Field("rtmr2", .bytes(body.rtmrs[2])),
            Field("rtmr3", .bytes(body.rtmrs[3])), Field("reportdata", .bytes(body.reportData)),
        ]
        if let svn2 = body.teeTCBSVN2, let serviceTD = body.mrServiceTD {
            bodyFields += [Field("tee_tcb_svn2", .bytes(svn2)), Field("mrservicetd", .bytes(serviceTD))]
        }
        let certification = self.signatureData.qeReportCertificationData
        let report = certification.qeReport
        let nested = certification.certificationData
        var nestedFields = [Field("type", .text("\(nested.type.rawValue) (\(nested.type))")), Field("size", .integer(UInt64(nested.data.count)))]
        if nested.type == .pckCertificateChain {
            switch Result(catching: { () throws(TDXError) in try PCKCertificateChain(pem: nested.data) }) {
            case .success(let chain):
                let pck = chain.pck.extensions
                nestedFields += [
                    Field("certificates", .list(chain.certificates.map { .text(CertificateChecks.commonName($0)) })),
                    Field("fmspc", .bytes(pck.fmspc)), Field("pceid", .bytes(pck.pceID)),
                    Field("sgx_tcb_components", .list(pck.tcb.sgxComponentSVNs.map { .integer(UInt64($0)) })),
                    Field("pcesvn", .integer(UInt64(pck.tcb.pceSVN))), Field("cpusvn", .bytes(pck.tcb.cpuSVN)),
                ]
            case .failure(let error):
                nestedFields.append(Field("error", .text(error.description)))
            }
        }
        return .group([
            Field("header", .group([
                Field("version", .integer(UInt64(self.header.version))),
                Field("attestation_key_type", .integer(UInt64(self.header.attestationKeyType))),
                Field("tee_type", .integer(UInt64(self.header.teeType))), Field("qe_vendor_id", .bytes(self.header.qeVendorID)),
                Field("user_data", .bytes(self.header.userData)),
            ])),
            Field("body", .group([Field("type", .text(body.kind.description))] + bodyFields)),
            Field("signature_data", .group([
                Field("quote_signature", .bytes(self.signatureData.quoteSignature)),
                Field("attestation_key", .bytes(self.signatureData.attestationKey)),
                Field("qe_report", .group([
                    Field("cpusvn", .bytes(report.cpuSVN)), Field("miscselect", .integer(UInt64(report.miscSelect))),
                    Field("attributes", .bytes(report.attributes)), Field("mrenclave", .bytes(report.mrEnclave)),
                    Field("mrsigner", .bytes(report.mrSigner)), Field("isvprodid", .integer(UInt64(report.isvProdID))),
                    Field("isvsvn", .integer(UInt64(report.isvSVN))), Field("reportdata", .bytes(report.reportData)),
                ])),
                Field("qe_report_signature", .bytes(certification.qeReportSignature)),
                Field("qe_authentication_data", .bytes(certification.qeAuthenticationData)),
                Field("certification_data", .group(nestedFields)),
            ])),
            Field("trailing_zero_padding", .integer(UInt64(self.trailingZeroPadding))),
        ])
    }
}

/// The short name the listing above uses for its many fields.
private typealias Field = ListingField
