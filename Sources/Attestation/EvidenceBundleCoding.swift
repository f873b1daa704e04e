import AzureCVM
import Foundation
import SEVSNP
import SwiftASN1
import TDX
import TPM2
import X509

/// The JSON form of ``EvidenceBundle`` (docs/evidence.md): common members, then the members of
/// the bundle's type, every binary value in standard base64. Unknown members are refused.
extension EvidenceBundle: Codable {
    private static let commonMembers: Set<String> = ["version", "type", "nonce", "runtimeKey"]
    private static let certificateMembers: Set<String> = ["vcek", "vlek", "ask", "ark", "certificateTable"]
    private static let quoteMembers: Set<String> = ["quote", "signature", "pcrs", "eventLog"]

    private static func members(of type: EvidenceType) -> Set<String> {
        switch type {
        case .sevSNP: commonMembers.union(certificateMembers).union(["report", "product"])
        case .tpm: commonMembers.union(quoteMembers).union(["akPublic", "akCertificates", "ekCertificate"])
        case .azureSEVSNPvTPM: commonMembers.union(certificateMembers).union(quoteMembers).union(["hclReport"])
        case .tdx: commonMembers.union(["quote", "eventLog", "collateral"])
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        let version = try container.decode(Int.self, forKey: AnyCodingKey("version"))
        guard version == Self.version else { throw AttestationError.unsupportedBundleVersion(version) }
        let typeName = try container.string("type")
        guard let type = EvidenceType(rawValue: typeName) else { throw AttestationError.unknownEvidenceType(typeName) }
        try decoder.requireMembers(in: Self.members(of: type))
        self.nonce = try container.base64("nonce")
        self.runtimeKey = try container.decodeIfPresent(RuntimeKey.self, forKey: AnyCodingKey("runtimeKey"))
        switch type {
        case .sevSNP:
            let product = try container.decodeIfPresent(SNPProduct.self, forKey: AnyCodingKey("product"))
            let report = try container.parse("report") { (bytes: [UInt8]) throws(SNPError) in try SNPReport(bytes: bytes, product: product) }
            self.evidence = .sevSNP(SNPEvidence(report: report, certificates: try container.snpCertificates()))
        case .tpm:
            let area = try container.parse("akPublic") { (bytes: [UInt8]) throws(TPMMarshalError) in try TPMTPublic(tpmBytes: bytes) }
            let chain = try container.decodeIfPresent([String].self, forKey: AnyCodingKey("akCertificates")) ?? []
            let certificates = try chain.indices.map { index in
                try container.certificate(chain[index], member: "akCertificates[\(index)]")
            }
            let ek = try container.optionalString("ekCertificate").map { try container.certificate($0, member: "ekCertificate") }
            self.evidence = .tpm(TPMEvidence(attestationKey: area, akCertificates: certificates, ekCertificate: ek, quote: try container.quote()))
        case .azureSEVSNPvTPM:
            // Parsed to refuse a malformed report here, like every other structure; kept as bytes.
            let report = try container.parse("hclReport") { (bytes: [UInt8]) throws(AzureCVMError) in try HCLReport(bytes: bytes) }
            self.evidence = .azureSEVSNPvTPM(AzureVTPMEvidence(
                hclReport: report.bytes, certificates: try container.snpCertificates(), quote: try container.quote()))
        case .tdx:
            let quote = try container.parse("quote") { (bytes: [UInt8]) throws(TDXError) in try TDXQuote(bytes: bytes) }
            self.evidence = .tdx(TDXEvidence(
                quote: quote, eventLog: try container.optionalBase64("eventLog"), collateral: try container.tdxCollateral()))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        try container.encode(Self.version, forKey: AnyCodingKey("version"))
        try container.encode(self.type, forKey: AnyCodingKey("type"))
        try container.encode(ByteEncoding.base64(self.nonce), forKey: AnyCodingKey("nonce"))
        try container.encodeIfPresent(self.runtimeKey, forKey: AnyCodingKey("runtimeKey"))
        switch self.evidence {
        case .sevSNP(let snp):
            try container.encodeBase64(snp.report.bytes, "report")
            if snp.report.cpuid == nil { try container.encodeIfPresent(snp.report.product, forKey: AnyCodingKey("product")) }
            try container.encode(snp.certificates)
        case .tpm(let tpm):
            try container.encodeBase64(tpm.attestationKey.tpmBytes, "akPublic")
            if !tpm.akCertificates.isEmpty {
                try container.encode(try tpm.akCertificates.map { ByteEncoding.base64(try $0.derBytes) }, forKey: AnyCodingKey("akCertificates"))
            }
            if let ek = tpm.ekCertificate { try container.encodeBase64(try ek.derBytes, "ekCertificate") }
            try container.encode(tpm.quote)
        case .azureSEVSNPvTPM(let azure):
            try container.encodeBase64(azure.hclReport, "hclReport")
            try container.encode(azure.certificates)
            try container.encode(azure.quote)
        case .tdx(let tdx):
            try container.encodeBase64(tdx.quoteBytes, "quote")
            if let log = tdx.eventLog { try container.encodeBase64(log, "eventLog") }
            if let collateral = tdx.collateral {
                var documents = container.nestedContainer(keyedBy: AnyCodingKey.self, forKey: AnyCodingKey("collateral"))
                for (member, bytes) in collateral.documents { try documents.encodeBase64(bytes, member) }
            }
        }
    }
}

extension KeyedDecodingContainer where Key == AnyCodingKey {
    /// Decodes the base64 member `name` and parses it with `parse`, reporting a parse failure as
    /// a corrupt member.
    fileprivate func parse<T, E: Error>(_ name: String, _ parse: ([UInt8]) throws(E) -> T) throws -> T {
        let bytes = try self.base64(name)
        do {
            return try parse(bytes)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: AnyCodingKey(name), in: self, debugDescription: String(describing: error))
        }
    }

    fileprivate func certificate(_ text: String, member: String) throws -> Certificate {
        guard let der = ByteEncoding.base64(text) else {
            throw DecodingError.dataCorruptedError(forKey: AnyCodingKey(member), in: self, debugDescription: "it is not standard base64 with padding")
        }
        do {
            return try Certificate(derEncoded: der)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: AnyCodingKey(member), in: self, debugDescription: "it is not a DER X.509 certificate: \(error)")
        }
    }

    /// The certificates of an SNP report: the certificate table of an extended report, or the
    /// VCEK or VLEK with an optional ASK/ASVK and ARK — one form, not both.
    fileprivate func snpCertificates() throws -> SNPCertificateChain {
        let single = ["vcek", "vlek", "ask", "ark"].filter { self.contains(AnyCodingKey($0)) }
        if self.contains(AnyCodingKey("certificateTable")) {
            guard single.isEmpty else {
                throw DecodingError.dataCorruptedError(
                    forKey: AnyCodingKey(single[0]), in: self, debugDescription: "certificates come either in certificateTable or one by one, not both")
            }
            return try self.parse("certificateTable") { (bytes: [UInt8]) throws(SNPError) in try SNPCertificateTable(bytes: bytes).chain() }
        }
        guard !(single.contains("vcek") && single.contains("vlek")) else {
            throw DecodingError.dataCorruptedError(forKey: AnyCodingKey("vlek"), in: self, debugDescription: "a report is signed by a VCEK or a VLEK, not both")
        }
        let amd = { (name: String) throws -> AMDCertificate? in
            guard self.contains(AnyCodingKey(name)) else { return nil }
            return try self.parse(name) { (bytes: [UInt8]) throws(SNPError) in try AMDCertificate(derEncoded: bytes, role: name.uppercased()) }
        }
        return SNPCertificateChain(endorsementKey: try amd("vcek") ?? amd("vlek"), intermediate: try amd("ask"), root: try amd("ark"))
    }

    /// The quote members shared by `tpm` and `azure-sev-snp-vtpm` evidence.
    fileprivate func quote() throws -> TPMQuoteEvidence {
        let signature = try self.parse("signature") { (bytes: [UInt8]) throws(TPMMarshalError) in try TPMTSignature(tpmBytes: bytes) }
        let banks = try self.decode([String: [String: String]].self, forKey: AnyCodingKey("pcrs"))
        var pcrs: TPMPCRValues = [:]
        for (bankName, values) in banks {
            guard let bank = TPMAlgorithmID(name: bankName), let hash = TPMHashAlgorithm(bank) else {
                throw DecodingError.dataCorruptedError(forKey: AnyCodingKey("pcrs"), in: self, debugDescription: "\"\(bankName)\" is not sha1, sha256, sha384 or sha512")
            }
            for (indexText, valueText) in values {
                guard let index = Int(indexText), (0...23).contains(index), String(index) == indexText else {
                    throw DecodingError.dataCorruptedError(forKey: AnyCodingKey("pcrs"), in: self, debugDescription: "\"\(indexText)\" in bank \(bankName) is not a PCR index 0-23")
                }
                guard let value = ByteEncoding.base64(valueText), value.count == hash.digestSize else {
                    throw DecodingError.dataCorruptedError(
                        forKey: AnyCodingKey("pcrs"), in: self, debugDescription: "PCR \(index) of bank \(bankName) is not a base64 \(hash.digestSize)-byte value")
                }
                pcrs[bank, default: [:]][index] = value
            }
        }
        return TPMQuoteEvidence(attest: try self.base64("quote"), signature: signature, pcrs: pcrs, eventLog: try self.optionalBase64("eventLog"))
    }

    /// The `collateral` object of `tdx` evidence: each member a document in base64, parsed by
    /// ``TDXBundleCollateral``.
    fileprivate func tdxCollateral() throws -> TDXBundleCollateral? {
        let key = AnyCodingKey("collateral")
        guard self.contains(key) else { return nil }
        try self.superDecoder(forKey: key).requireMembers(in: TDXBundleCollateral.members)
        let documents = try self.nestedContainer(keyedBy: AnyCodingKey.self, forKey: key)
        return try TDXBundleCollateral(
            tcbInfo: try documents.optionalBase64("tcbInfo"), qeIdentity: try documents.optionalBase64("qeIdentity"),
            tcbSigningChain: try documents.optionalBase64("tcbSigningChain"), pckCRL: try documents.optionalBase64("pckCRL"),
            rootCACRL: try documents.optionalBase64("rootCACRL"))
    }
}

extension KeyedEncodingContainer where Key == AnyCodingKey {
    fileprivate mutating func encodeBase64(_ bytes: [UInt8], _ name: String) throws {
        try self.encode(ByteEncoding.base64(bytes), forKey: AnyCodingKey(name))
    }

    fileprivate mutating func encode(_ chain: SNPCertificateChain) throws {
        if let endorsement = chain.endorsementKey {
            try self.encodeBase64(endorsement.derBytes, endorsement.commonName == "SEV-VLEK" ? "vlek" : "vcek")
        }
        if let ask = chain.intermediate { try self.encodeBase64(ask.derBytes, "ask") }
        if let ark = chain.root { try self.encodeBase64(ark.derBytes, "ark") }
    }

    fileprivate mutating func encode(_ quote: TPMQuoteEvidence) throws {
        try self.encodeBase64(quote.attest, "quote")
        try self.encodeBase64(quote.signature.tpmBytes, "signature")
        var banks: [String: [String: String]] = [:]
        for (bank, values) in quote.pcrs {
            banks[bank.description] = Dictionary(uniqueKeysWithValues: values.map { (String($0.key), ByteEncoding.base64($0.value)) })
        }
        try self.encode(banks, forKey: AnyCodingKey("pcrs"))
        if let log = quote.eventLog { try self.encodeBase64(log, "eventLog") }
    }
}

extension Certificate {
    /// The certificate's DER encoding.
    var derBytes: [UInt8] {
        get throws {
            var serializer = DER.Serializer()
            try serializer.serialize(self)
            return serializer.serializedBytes
        }
    }
}
