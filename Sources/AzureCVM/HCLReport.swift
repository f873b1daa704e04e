import Crypto
import SEVSNP
import TPM2

/// The attestation report an Azure confidential VM's paravisor (the HCL) writes to vTPM NV index
/// 0x01400001: a header, the hardware report (SEV-SNP ATTESTATION_REPORT or TDX TDREPORT), the
/// IGVM request data and the runtime claims JSON whose hash the hardware report's REPORT_DATA carries.
///
/// Layout (all integers little-endian), as Microsoft defines it in OpenVMM
/// (`openhcl/openhcl_attestation_protocol/src/igvm_attest/get.rs`, `IgvmAttestRequestBase`, the
/// request whose body "also serves as the attestation report in vTPM guest attestation"):
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 32 | ``IGVMAttestRequestHeader`` |
/// | 32 | 1184 | hardware report area (ATTESTATION_REPORT_SIZE_MAX, the size of an SNP report) |
/// | 1216 | 20 | ``IGVMAttestRequestData`` (request version 1) |
/// | 1236 | variable_data_size | runtime claims, JSON |
///
/// The NV index is larger than the report (2600 bytes on current hosts, 2048 on older ones); the
/// bytes after `report_size` are zero. Readers that agree on this layout: kinvolk/azure-cvm-tooling
/// `az-cvm-vtpm/src/hcl/mod.rs` and Microsoft Learn, "Guest attestation for confidential VMs —
/// design" (reserved NV indices 0x01400001 report, 0x01400002 guest input).
///
/// Parsing checks every size, version and reserved field, and parses the SNP report with
/// ``SNPReport``; it proves nothing. ``requireRuntimeClaimsBinding()`` checks the hash, and
/// ``AzureHCLVerifier`` the hardware signature. Encoding a parsed report gives back its bytes.
public struct HCLReport: Sendable, Hashable {
    /// The vTPM NV index Azure's paravisor writes the report to.
    public static let nvIndex: UInt32 = 0x0140_0001
    /// The vTPM NV index whose 64 bytes the guest writes and the next report carries as user-data.
    public static let guestInputNVIndex: UInt32 = 0x0140_0002
    /// The size of the NV index on current Azure hosts.
    public static let currentNVIndexSize = 2600
    /// Offset of the hardware report area.
    public static let hardwareReportOffset = IGVMAttestRequestHeader.size
    /// Size of the hardware report area: the size of an SEV-SNP report, the largest kind.
    public static let hardwareReportAreaSize = SNPReport.size
    /// Offset of the IGVM request data.
    public static let requestDataOffset = hardwareReportOffset + hardwareReportAreaSize
    /// Offset of the runtime claims.
    public static let runtimeClaimsOffset = requestDataOffset + IGVMAttestRequestData.size

    /// The header (offset 0).
    public let header: IGVMAttestRequestHeader
    /// The hardware report (offset 32).
    public let hardwareReport: HCLHardwareReport
    /// The request data (offset 1216).
    public let requestData: IGVMAttestRequestData
    /// The runtime claims exactly as stored (offset 1236): the bytes REPORT_DATA binds.
    public let runtimeClaimsBytes: [UInt8]
    /// The runtime claims, decoded.
    public let runtimeClaims: HCLRuntimeClaims
    /// The size of the buffer the report was read from (the NV index): ``bytes`` is zero-padded to it.
    public let nvIndexSize: Int

    /// Parses the contents of NV index 0x01400001: the report, then zero padding.
    public init(bytes: some Collection<UInt8>) throws(AzureCVMError) {
        let bytes = Array(bytes)
        let headerBytes = try Self.section(bytes, "IGVM_ATTEST header", at: 0, count: IGVMAttestRequestHeader.size)
        self.header = try IGVMAttestRequestHeader(bytes: headerBytes)
        let area = try Self.section(bytes, "hardware report", at: Self.hardwareReportOffset, count: Self.hardwareReportAreaSize)
        let requestBytes = try Self.section(bytes, "IGVM request data", at: Self.requestDataOffset, count: IGVMAttestRequestData.size)
        self.requestData = try IGVMAttestRequestData(bytes: requestBytes)
        self.hardwareReport = try HCLHardwareReport(area: area, type: self.requestData.reportType)
        let claimsSize = Int(self.requestData.variableDataSize)
        self.runtimeClaimsBytes = try Self.section(bytes, "runtime claims", at: Self.runtimeClaimsOffset, count: claimsSize)
        // The header and the request data each state the size of what follows them; both must agree
        // with variable_data_size, or a reader trusting one of them would read other bytes.
        let end = Self.runtimeClaimsOffset + claimsSize
        guard Int(self.header.reportSize) == end else {
            throw .sizeMismatch(field: "report_size (offset 8)", value: self.header.reportSize, expected: end)
        }
        if let offset = bytes[end...].firstIndex(where: { $0 != 0 }) { throw .paddingNotZero(offset: offset) }
        self.runtimeClaims = try HCLRuntimeClaims(json: self.runtimeClaimsBytes)
        self.nvIndexSize = bytes.count
    }

    /// `count` bytes at `offset`, or an error naming the section they belong to.
    private static func section(_ bytes: [UInt8], _ name: String, at offset: Int, count: Int) throws(AzureCVMError) -> [UInt8] {
        guard bytes.count - offset >= count else {
            throw .truncated(section: name, offset: offset, needed: count, available: max(bytes.count - offset, 0))
        }
        return Array(bytes[offset..<(offset + count)])
    }

    /// The report's encoding, zero-padded to ``nvIndexSize``: the bytes it was parsed from.
    public var bytes: [UInt8] {
        var bytes = self.header.bytes + self.hardwareReport.areaBytes + self.requestData.bytes + self.runtimeClaimsBytes
        bytes += repeatElement(0, count: max(self.nvIndexSize - bytes.count, 0))
        return bytes
    }

    /// What REPORT_DATA must hold for these runtime claims: their hash with the request data's hash
    /// type, then zeros to 64 bytes.
    public var expectedReportData: [UInt8] {
        Self.reportData(binding: self.runtimeClaimsBytes, hashType: self.requestData.hashType)
    }

    static func reportData(binding claims: [UInt8], hashType: IGVMAttestHashType) -> [UInt8] {
        let digest = hashType.digest(claims)
        return digest + [UInt8](repeating: 0, count: 64 - digest.count)
    }

    /// Checks that the hardware report binds the runtime claims: REPORT_DATA starts with their hash
    /// (SHA-256 for every report seen; the request data's report_data_hash_type decides) and is zero
    /// after it. This is what ties the vTPM's AK and EK to the hardware-signed report.
    public func requireRuntimeClaimsBinding() throws(AzureCVMError) {
        let actual = self.hardwareReport.reportData
        let digest = self.requestData.hashType.digest(self.runtimeClaimsBytes)
        guard constantTimeEqual(actual.prefix(digest.count), digest) else {
            throw .reportDataMismatch(expected: digest, actual: Array(actual.prefix(digest.count)))
        }
        if let index = actual.indices.dropFirst(digest.count).first(where: { actual[$0] != 0 }) {
            throw .reportDataPaddingNotZero(offset: index)
        }
    }
}

/// The IGVM_ATTEST request header at offset 0 (OpenVMM `IgvmAttestRequestHeader`): signature
/// "HCLA", version, report size, request type, status, then three reserved words.
public struct IGVMAttestRequestHeader: Sendable, Hashable {
    /// Size of the header: 32 bytes.
    public static let size = 32
    /// "HCLA" read as a little-endian word.
    public static let signature: UInt32 = 0x414C_4348
    /// Header versions seen in Azure's reports: 1 (older hosts) and 2 (OpenVMM's ATTESTATION_VERSION).
    public static let supportedVersions: Set<UInt32> = [1, 2]

    /// version (offset 4).
    public let version: UInt32
    /// report_size (offset 8): the size of the whole report, header to the end of the runtime claims.
    public let reportSize: UInt32
    /// request_type (offset 12); the vTPM report is made for an AK certificate request.
    public let requestType: IGVMAttestRequestType
    /// status (offset 16).
    public let status: UInt32

    /// A header with the given fields.
    public init(version: UInt32, reportSize: UInt32, requestType: IGVMAttestRequestType, status: UInt32) {
        self.version = version
        self.reportSize = reportSize
        self.requestType = requestType
        self.status = status
    }

    init(bytes: [UInt8]) throws(AzureCVMError) {
        let signature = bytes.littleEndianWord(at: 0)
        guard signature == Self.signature else { throw .badSignature(signature) }
        self.version = bytes.littleEndianWord(at: 4)
        guard Self.supportedVersions.contains(self.version) else { throw .unsupportedHeaderVersion(self.version) }
        self.reportSize = bytes.littleEndianWord(at: 8)
        let type = bytes.littleEndianWord(at: 12)
        guard let requestType = IGVMAttestRequestType(rawValue: type) else { throw .unknownRequestType(type) }
        self.requestType = requestType
        self.status = bytes.littleEndianWord(at: 16)
        if let index = bytes[20..<32].firstIndex(where: { $0 != 0 }) {
            throw .reservedFieldNotZero(field: "reserved (header offset 20)", offset: index)
        }
    }

    /// The header's 32 bytes.
    public var bytes: [UInt8] {
        [Self.signature, self.version, self.reportSize, self.requestType.rawValue, self.status, 0, 0, 0]
            .flatMap(\.littleEndianBytes)
    }
}

/// What the IGVM_ATTEST request asks the host for (OpenVMM `IgvmAttestRequestType`).
public enum IGVMAttestRequestType: UInt32, Sendable, Hashable, Codable, CustomStringConvertible {
    /// KEY_RELEASE_REQUEST: a wrapped key from Azure Key Vault.
    case keyRelease = 1
    /// AK_CERT_REQUEST: the vTPM AK certificate; the request the NV report is made for.
    case akCert = 2
    /// WRAPPED_KEY_REQUEST: the VMMD blob.
    case wrappedKey = 3

    public var description: String {
        switch self {
        case .keyRelease: "KEY_RELEASE_REQUEST (1)"
        case .akCert: "AK_CERT_REQUEST (2)"
        case .wrappedKey: "WRAPPED_KEY_REQUEST (3)"
        }
    }
}

/// The kind of hardware report (OpenVMM `IgvmAttestReportType`); only the two confidential
/// hardware kinds are read here (VBS, 1, and TVM, 3, carry no hardware-signed report of this shape).
public enum IGVMAttestReportType: UInt32, Sendable, Hashable, Codable, CustomStringConvertible {
    /// SNP_VM_REPORT: an AMD SEV-SNP ATTESTATION_REPORT.
    case snp = 2
    /// TDX_VM_REPORT: an Intel TDX TDREPORT.
    case tdx = 4

    public var description: String {
        switch self {
        case .snp: "SEV-SNP (2)"
        case .tdx: "TDX (4)"
        }
    }
}

/// The hash of the runtime claims that REPORT_DATA carries (OpenVMM `IgvmAttestHashType`).
public enum IGVMAttestHashType: UInt32, Sendable, Hashable, Codable, CustomStringConvertible {
    case sha256 = 1
    case sha384 = 2
    case sha512 = 3

    /// The digest's size in bytes.
    public var digestSize: Int {
        switch self {
        case .sha256: 32
        case .sha384: 48
        case .sha512: 64
        }
    }

    /// The digest of `bytes`.
    public func digest(_ bytes: [UInt8]) -> [UInt8] {
        switch self {
        case .sha256: Array(SHA256.hash(data: bytes))
        case .sha384: Array(SHA384.hash(data: bytes))
        case .sha512: Array(SHA512.hash(data: bytes))
        }
    }

    public var description: String {
        switch self {
        case .sha256: "SHA-256 (1)"
        case .sha384: "SHA-384 (2)"
        case .sha512: "SHA-512 (3)"
        }
    }
}

/// The IGVM request data at offset 1216 (OpenVMM `IgvmAttestRequestData`, request version 1):
/// five words describing the runtime claims that follow.
public struct IGVMAttestRequestData: Sendable, Hashable {
    /// Size of the request data: 20 bytes.
    public static let size = 20

    /// data_size: the request data and the runtime claims, 20 + variable_data_size.
    public var dataSize: UInt32 { UInt32(Self.size) + self.variableDataSize }
    /// version; 1, the version the vTPM report uses.
    public let version: UInt32
    /// report_type: which hardware report the area holds.
    public let reportType: IGVMAttestReportType
    /// report_data_hash_type: the hash of the runtime claims in REPORT_DATA.
    public let hashType: IGVMAttestHashType
    /// variable_data_size: the size of the runtime claims.
    public let variableDataSize: UInt32

    /// Request data for `variableDataSize` bytes of runtime claims.
    public init(reportType: IGVMAttestReportType, hashType: IGVMAttestHashType, variableDataSize: UInt32) {
        self.version = 1
        self.reportType = reportType
        self.hashType = hashType
        self.variableDataSize = variableDataSize
    }

    init(bytes: [UInt8]) throws(AzureCVMError) {
        let dataSize = bytes.littleEndianWord(at: 0)
        self.version = bytes.littleEndianWord(at: 4)
        guard self.version == 1 else { throw .unsupportedRequestDataVersion(self.version) }
        let type = bytes.littleEndianWord(at: 8)
        guard let reportType = IGVMAttestReportType(rawValue: type) else { throw .unsupportedReportType(type) }
        self.reportType = reportType
        let hash = bytes.littleEndianWord(at: 12)
        guard let hashType = IGVMAttestHashType(rawValue: hash) else { throw .unsupportedHashType(hash) }
        self.hashType = hashType
        self.variableDataSize = bytes.littleEndianWord(at: 16)
        let expected = Self.size + Int(self.variableDataSize)
        guard Int(dataSize) == expected else {
            throw .sizeMismatch(field: "data_size (offset 1216)", value: dataSize, expected: expected)
        }
    }

    /// The request data's 20 bytes.
    public var bytes: [UInt8] {
        [self.dataSize, self.version, self.reportType.rawValue, self.hashType.rawValue, self.variableDataSize]
            .flatMap(\.littleEndianBytes)
    }
}

/// The hardware report in the 1184-byte area at offset 32, as the request data's report type says.
public enum HCLHardwareReport: Sendable, Hashable {
    /// An SEV-SNP ATTESTATION_REPORT (SEV-SNP Firmware ABI, pub. 56860, Table 23), filling the area.
    case snp(SNPReport)
    /// A TDX TDREPORT, 1024 bytes, followed by zeros to the end of the area.
    case tdx(HCLTDReport)

    init(area: [UInt8], type: IGVMAttestReportType) throws(AzureCVMError) {
        switch type {
        case .snp:
            do { self = .snp(try SNPReport(bytes: area)) } catch { throw .snpReportMalformed(error) }
        case .tdx:
            let tail = HCLTDReport.size..<area.count
            if let index = area[tail].firstIndex(where: { $0 != 0 }) {
                throw .reservedFieldNotZero(field: "hardware report area after the TDREPORT", offset: HCLReport.hardwareReportOffset + index)
            }
            self = .tdx(try HCLTDReport(bytes: Array(area[..<HCLTDReport.size])))
        }
    }

    /// The report type the request data names for this report.
    public var type: IGVMAttestReportType {
        switch self {
        case .snp: .snp
        case .tdx: .tdx
        }
    }

    /// REPORT_DATA (SNP offset 0x50) or REPORTDATA (TDREPORT offset 128): 64 bytes.
    public var reportData: [UInt8] {
        switch self {
        case let .snp(report): report.reportData
        case let .tdx(report): report.reportData
        }
    }

    /// The 1184-byte area.
    var areaBytes: [UInt8] {
        switch self {
        case let .snp(report): report.bytes
        case let .tdx(report): report.bytes + [UInt8](repeating: 0, count: HCLReport.hardwareReportAreaSize - HCLTDReport.size)
        }
    }
}

/// A TDX TDREPORT_STRUCT (Intel TDX Module ABI Specification, "TDREPORT_STRUCT": REPORTMACSTRUCT,
/// TEE_TCB_INFO, TDINFO; 1024 bytes), kept as raw bytes: only REPORTMACSTRUCT's REPORTTYPE and
/// REPORTDATA are read. It is MACed for the local platform, so only a TD quote over it can be verified.
public struct HCLTDReport: Sendable, Hashable {
    /// Size of a TDREPORT: 1024 bytes.
    public static let size = 1024
    /// REPORTTYPE.TYPE of a TDX report.
    public static let tdxType: UInt8 = 0x81

    /// The 1024 bytes.
    public let bytes: [UInt8]

    /// Wraps a TDREPORT, checking its size and that REPORTTYPE.TYPE (byte 0) is 0x81.
    public init(bytes: [UInt8]) throws(AzureCVMError) {
        guard bytes.count == Self.size else {
            throw .truncated(section: "TDREPORT", offset: HCLReport.hardwareReportOffset, needed: Self.size, available: bytes.count)
        }
        guard bytes[0] == Self.tdxType else { throw .notATDReport(type: bytes[0]) }
        self.bytes = bytes
    }

    /// REPORTDATA, at offset 128 of REPORTMACSTRUCT (after REPORTTYPE, reserved, CPUSVN,
    /// TEE_TCB_INFO_HASH and TEE_INFO_HASH).
    public var reportData: [UInt8] { Array(self.bytes[128..<192]) }
}

extension [UInt8] {
    /// The little-endian 32-bit word at `offset`; the callers check the length first.
    func littleEndianWord(at offset: Int) -> UInt32 {
        self[offset..<(offset + 4)].reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }
}

extension UInt32 {
    /// The word's four bytes, least significant first.
    var littleEndianBytes: [UInt8] { withUnsafeBytes(of: self.littleEndian, Array.init) }
}
