import AzureCVM
import SEVSNP
import TDX
import TPM2
import X509

extension EvidenceBundle: CustomStringConvertible {
    /// A listing of what the bundle says, for `cvm evidence show`: nothing in it is verified.
    public var description: String {
        var lines = [
            "evidence bundle version \(Self.version), type \(self.type.rawValue) (unverified)",
            "nonce: \(ByteEncoding.hex(self.nonce))",
            "runtime key: " + (self.runtimeKey.map { "P-256 x=\($0.jwkX) y=\($0.jwkY)" } ?? "none"),
        ]
        switch self.evidence {
        case .sevSNP(let snp):
            lines += Self.describe(snp.certificates)
            lines.append("report:")
            lines += snp.report.description.split(separator: "\n").map { "  " + $0 }
        case .tpm(let tpm):
            lines.append("attestation key: \(tpm.attestationKey.type) key, Name \(tpm.attestationKey.name.map(ByteEncoding.hex) ?? "(unknown name algorithm)")")
            lines += tpm.akCertificates.enumerated().map { "AK certificate \($0.offset): " + Self.describe($0.element) }
            if let ek = tpm.ekCertificate { lines.append("EK certificate: " + Self.describe(ek)) }
            lines += Self.describe(tpm.quote)
        case .azureSEVSNPvTPM(let azure):
            lines += Self.describe(azure.certificates)
            switch Result(catching: { () throws(AzureCVMError) in try HCLReport(bytes: azure.hclReport) }) {
            case .success(let report):
                lines.append("HCL report:")
                lines += report.description.split(separator: "\n").map { "  " + $0 }
            case .failure(let error):
                lines.append("HCL report: does not parse: \(error)")
            }
            lines += Self.describe(azure.quote)
        case .tdx(let tdx):
            lines.append("TDX quote:")
            lines += tdx.quote.listing.description.split(separator: "\n").map { "  " + $0 }
            lines.append("CC event log: " + (tdx.eventLog.map { "\($0.count) bytes" } ?? "none"))
            lines.append("collateral: " + (tdx.collateral.map { collateral in
                collateral.documents.map { "\($0.member) (\($0.bytes.count) bytes)" }.joined(separator: ", ")
            } ?? "none (the verifier's, if it has any)"))
        }
        return lines.joined(separator: "\n")
    }

    private static func describe(_ certificate: Certificate) -> String {
        let subject = certificate.subject.description
        return "subject \"\(subject)\", issuer \"\(certificate.issuer)\", valid \(certificate.notValidBefore) to \(certificate.notValidAfter)"
    }

    private static func describe(_ chain: SNPCertificateChain) -> [String] {
        [("endorsement key", chain.endorsementKey), ("ASK/ASVK", chain.intermediate), ("ARK", chain.root)].map { role, certificate in
            "\(role): " + (certificate.map { "\($0.commonName), issued by \($0.issuer)" } ?? "not included")
        }
    }

    private static func describe(_ quote: TPMQuoteEvidence) -> [String] {
        var lines: [String] = []
        switch Result(catching: { () throws(TPMVerificationError) in try QuoteVerifier.parse(quote.attest) }) {
        case .success(let attest):
            lines.append("quote: extraData \(ByteEncoding.hex(attest.extraData)), clock \(attest.clockInfo.clock) ms, "
                + "resets \(attest.clockInfo.resetCount), firmware 0x\(String(attest.firmwareVersion, radix: 16))")
            if case .quote(let selection, let digest) = attest.attested {
                let banks = selection.selections.map { "\($0.hash) \($0.indices.map(String.init).joined(separator: ","))" }
                lines.append("quoted PCRs: \(banks.joined(separator: "; ")), pcrDigest \(ByteEncoding.hex(digest))")
            } else {
                lines.append("attestation type \(attest.attested.tag), not a quote")
            }
        case .failure(let error):
            lines.append("quote: does not parse: \(error)")
        }
        lines.append("signature: \(quote.signature.scheme)/\(quote.signature.hashAlg)")
        for (bank, values) in quote.pcrs.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            lines += values.sorted(by: { $0.key < $1.key }).map { "PCR \($0.key) (\(bank)): \(ByteEncoding.hex($0.value))" }
        }
        lines.append("event log: " + (quote.eventLog.map { "\($0.count) bytes" } ?? "none"))
        return lines
    }
}
