import Foundation
import SEVSNP
import TPM2

/// The values a relying party accepts, which ``AppraisalPolicy`` rules compare verified evidence
/// with: a JSON document (docs/policy.md, "Reference values") with every value in hex.
public struct ReferenceValues: Sendable, Hashable {
    /// Accepted SEV-SNP launch measurements (MEASUREMENT, 48 bytes).
    public var snpMeasurements: [[UInt8]]
    /// Accepted values per bank and PCR index; a PCR may have several (one per kernel version, say).
    public var pcrs: [TPMAlgorithmID: [Int: [[UInt8]]]]
    /// Accepted Authenticode SHA-256 digests of EFI applications (what `cvm pe hash` prints).
    public var bootFiles: [[UInt8]]
    /// The lowest SPL accepted per component of the SNP REPORTED_TCB.
    public var minimumTCB: SNPPolicy.MinimumTCB?
    /// The SNP guest policy flags a guest may have set (SEV-SNP Firmware ABI §4.3, Table 10).
    public var allowedSNPPolicyFlags: Set<SNPPolicyFlag>?
    /// Accepted TDX MRTDs (48 bytes, TD report body, Intel TDX DCAP Quoting Library API A.3.2).
    public var tdxMRTDs: [[UInt8]]
    /// Accepted values per TDX RTMR index 0…3 (48 bytes each); an RTMR may have several.
    public var tdxRTMRs: [Int: [[UInt8]]]

    /// Reference values; everything empty by default, so every rule that needs one fails.
    public init(
        snpMeasurements: [[UInt8]] = [], pcrs: [TPMAlgorithmID: [Int: [[UInt8]]]] = [:], bootFiles: [[UInt8]] = [],
        minimumTCB: SNPPolicy.MinimumTCB? = nil, allowedSNPPolicyFlags: Set<SNPPolicyFlag>? = nil,
        tdxMRTDs: [[UInt8]] = [], tdxRTMRs: [Int: [[UInt8]]] = [:]
    ) {
        self.snpMeasurements = snpMeasurements
        self.pcrs = pcrs
        self.bootFiles = bootFiles
        self.minimumTCB = minimumTCB
        self.allowedSNPPolicyFlags = allowedSNPPolicyFlags
        self.tdxMRTDs = tdxMRTDs
        self.tdxRTMRs = tdxRTMRs
    }

    /// Decodes reference values from their JSON document.
    public init(json: some Collection<UInt8>) throws(AttestationError) {
        do {
            self = try JSONDecoder().decode(ReferenceValues.self, from: Data(json))
        } catch {
            let (field, reason) = describe(error)
            throw .referenceValuesInvalid(reason: field == "(document)" ? reason : "member \(field): \(reason)")
        }
    }

    /// The JSON document, indented with members sorted so that equal values give equal bytes and a
    /// changed document diffs line by line; ``init(json:)`` reads it back.
    public func jsonEncoded() throws(AttestationError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(self)) + [0x0A]
        } catch {
            throw .referenceValuesInvalid(reason: String(describing: error))
        }
    }
}

extension ReferenceValues: Decodable {
    private static let members: Set<String> = ["snpMeasurements", "pcrs", "bootFiles", "minimumTCB", "allowedSNPPolicyFlags", "tdxMRTDs", "tdxRTMRs"]

    public init(from decoder: any Decoder) throws {
        try decoder.requireMembers(in: Self.members)
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.snpMeasurements = try container.hexList("snpMeasurements", size: 48)
        self.bootFiles = try container.hexList("bootFiles", size: 32)
        self.minimumTCB = try container.decodeIfPresent(SNPPolicy.MinimumTCB.self, forKey: AnyCodingKey("minimumTCB"))
        self.allowedSNPPolicyFlags = try container.decodeIfPresent(Set<SNPPolicyFlag>.self, forKey: AnyCodingKey("allowedSNPPolicyFlags"))
        self.tdxMRTDs = try container.hexList("tdxMRTDs", size: 48)
        self.tdxRTMRs = try container.registerValues(
            container.decodeIfPresent([String: [String]].self, forKey: AnyCodingKey("tdxRTMRs")) ?? [:], member: "tdxRTMRs", register: "RTMR",
            indices: 0...3, size: 48)
        self.pcrs = [:]
        let banks = try container.decodeIfPresent([String: [String: [String]]].self, forKey: AnyCodingKey("pcrs")) ?? [:]
        for (name, values) in banks {
            guard let bank = TPMAlgorithmID(name: name), let hash = TPMHashAlgorithm(bank) else {
                throw DecodingError.dataCorruptedError(forKey: AnyCodingKey("pcrs"), in: container, debugDescription: "\"\(name)\" is not sha1, sha256, sha384 or sha512")
            }
            let decoded = try container.registerValues(values, member: "pcrs", register: "\(name) PCR", indices: 0...23, size: hash.digestSize)
            if !decoded.isEmpty { self.pcrs[bank] = decoded }
        }
    }
}

extension ReferenceValues: Encodable {
    /// The members docs/policy.md defines, empty ones left out; bytes as lowercase hex, flags in
    /// the order of ``SNPPolicyFlag/allCases``.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        if !self.snpMeasurements.isEmpty {
            try container.encode(self.snpMeasurements.map(ByteEncoding.hex), forKey: AnyCodingKey("snpMeasurements"))
        }
        if !self.pcrs.isEmpty {
            let banks = Dictionary(uniqueKeysWithValues: self.pcrs.map { bank, values in
                (bank.description, Dictionary(uniqueKeysWithValues: values.map { (String($0.key), $0.value.map(ByteEncoding.hex)) }))
            })
            try container.encode(banks, forKey: AnyCodingKey("pcrs"))
        }
        if !self.bootFiles.isEmpty {
            try container.encode(self.bootFiles.map(ByteEncoding.hex), forKey: AnyCodingKey("bootFiles"))
        }
        try container.encodeIfPresent(self.minimumTCB, forKey: AnyCodingKey("minimumTCB"))
        if let flags = self.allowedSNPPolicyFlags {
            try container.encode(SNPPolicyFlag.allCases.filter(flags.contains), forKey: AnyCodingKey("allowedSNPPolicyFlags"))
        }
        if !self.tdxMRTDs.isEmpty {
            try container.encode(self.tdxMRTDs.map(ByteEncoding.hex), forKey: AnyCodingKey("tdxMRTDs"))
        }
        if !self.tdxRTMRs.isEmpty {
            try container.encode(Dictionary(uniqueKeysWithValues: self.tdxRTMRs.map { (String($0.key), $0.value.map(ByteEncoding.hex)) }),
                                 forKey: AnyCodingKey("tdxRTMRs"))
        }
    }
}

extension KeyedDecodingContainer where Key == AnyCodingKey {
    /// An optional array of hex strings of `size` bytes each.
    fileprivate func hexList(_ name: String, size: Int) throws -> [[UInt8]] {
        try (self.decodeIfPresent([String].self, forKey: AnyCodingKey(name)) ?? []).map { text in
            guard let bytes = ByteEncoding.hex(text), bytes.count == size else {
                throw DecodingError.dataCorruptedError(forKey: AnyCodingKey(name), in: self, debugDescription: "\"\(text)\" is not \(size) bytes of hex")
            }
            return bytes
        }
    }

    /// Accepted values per register, `{"<index>": ["<hex>", …]}`, of the member `member`: each
    /// index in `indices`, each value `size` bytes; `register` names them in errors ("sha256 PCR").
    fileprivate func registerValues(
        _ values: [String: [String]], member: String, register: String, indices: ClosedRange<Int>, size: Int
    ) throws -> [Int: [[UInt8]]] {
        var result: [Int: [[UInt8]]] = [:]
        for (indexText, hexValues) in values {
            guard let index = Int(indexText), indices.contains(index), String(index) == indexText else {
                throw DecodingError.dataCorruptedError(
                    forKey: AnyCodingKey(member), in: self,
                    debugDescription: "\"\(indexText)\" is not a \(register) index \(indices.lowerBound)-\(indices.upperBound)")
            }
            result[index] = try hexValues.map { text in
                guard let value = ByteEncoding.hex(text), value.count == size else {
                    throw DecodingError.dataCorruptedError(
                        forKey: AnyCodingKey(member), in: self, debugDescription: "\(register) \(index): \"\(text)\" is not \(size) bytes of hex")
                }
                return value
            }
        }
        return result
    }
}

/// A flag of the SNP guest policy (SEV-SNP Firmware ABI, pub. 56860 rev 1.57, §4.3, Table 10),
/// named as `cvm snp show` names it; bit 17 is reserved (always one) and not a flag.
public enum SNPPolicyFlag: String, Sendable, Hashable, Codable, CaseIterable {
    case smt
    case migrateMA = "migrate_ma"
    case debug
    case singleSocket = "single_socket"
    case cxlAllow = "cxl_allow"
    case memAES256XTS = "mem_aes_256_xts"
    case raplDisable = "rapl_dis"
    case ciphertextHiding = "ciphertext_hiding"
    case pageSwapDisable = "page_swap_disable"

    /// Whether `policy` has this flag set.
    public func isSet(in policy: SNPGuestPolicy) -> Bool {
        switch self {
        case .smt: policy.smtAllowed
        case .migrateMA: policy.migrationAgentAllowed
        case .debug: policy.debugAllowed
        case .singleSocket: policy.singleSocketRequired
        case .cxlAllow: policy.cxlAllowed
        case .memAES256XTS: policy.memAES256XTSRequired
        case .raplDisable: policy.raplDisabledRequired
        case .ciphertextHiding: policy.ciphertextHidingRequired
        case .pageSwapDisable: policy.pageSwapDisabled
        }
    }
}
