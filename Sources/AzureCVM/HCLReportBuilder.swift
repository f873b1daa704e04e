/// Makes HCL reports the way Azure's paravisor does (OpenVMM
/// `openhcl/openhcl_attestation_protocol/src/igvm_attest/get.rs`), so that an emulated platform
/// can hand a guest the same evidence an Azure confidential VM reads from NV index 0x01400001:
///
/// 1. encode the runtime claims (``runtimeClaimsBytes()``),
/// 2. have the hardware (or an emulated Secure Processor) sign a report whose REPORT_DATA is
///    ``reportData()``,
/// 3. ``build(hardwareReport:)`` lays out header, hardware report, request data and claims.
public struct HCLReportBuilder: Sendable {
    /// The claims: AK, EK, VM configuration, user data.
    public var runtimeClaims: HCLRuntimeClaims
    /// The header version: 2 on current hosts.
    public var headerVersion: UInt32
    /// The request type; the vTPM report is made for an AK certificate request.
    public var requestType: IGVMAttestRequestType
    /// The header's status word.
    public var status: UInt32
    /// The hash of the claims that REPORT_DATA carries.
    public var hashType: IGVMAttestHashType
    /// The NV index size to zero-pad to, or nil for no padding.
    public var nvIndexSize: Int?

    /// A builder with Azure's current defaults: header version 2, AK certificate request, status 0,
    /// SHA-256, padded to the 2600-byte NV index.
    public init(
        runtimeClaims: HCLRuntimeClaims, headerVersion: UInt32 = 2, requestType: IGVMAttestRequestType = .akCert,
        status: UInt32 = 0, hashType: IGVMAttestHashType = .sha256, nvIndexSize: Int? = HCLReport.currentNVIndexSize
    ) {
        self.runtimeClaims = runtimeClaims
        self.headerVersion = headerVersion
        self.requestType = requestType
        self.status = status
        self.hashType = hashType
        self.nvIndexSize = nvIndexSize
    }

    /// The claims as the report will carry them.
    public func runtimeClaimsBytes() throws(AzureCVMError) -> [UInt8] {
        try self.runtimeClaims.encoded()
    }

    /// The 64 bytes the hardware report's REPORT_DATA must hold: the claims' hash, then zeros.
    public func reportData() throws(AzureCVMError) -> [UInt8] {
        HCLReport.reportData(binding: try self.runtimeClaimsBytes(), hashType: self.hashType)
    }

    /// The report around `hardwareReport`, which must bind the claims; parsed back from its bytes,
    /// so it is exactly what a verifier will read.
    public func build(hardwareReport: HCLHardwareReport) throws(AzureCVMError) -> HCLReport {
        guard IGVMAttestRequestHeader.supportedVersions.contains(self.headerVersion) else {
            throw .builderInvalid(reason: "header version \(self.headerVersion) is not 1 or 2")
        }
        let claims = try self.runtimeClaimsBytes()
        let size = HCLReport.runtimeClaimsOffset + claims.count
        guard let reportSize = UInt32(exactly: size), let claimsSize = UInt32(exactly: claims.count) else {
            throw .builderInvalid(reason: "\(claims.count) bytes of runtime claims do not fit a 32-bit size")
        }
        let padded = self.nvIndexSize ?? size
        guard padded >= size else {
            throw .builderInvalid(reason: "the report needs \(size) bytes but the NV index holds \(padded)")
        }
        let header = IGVMAttestRequestHeader(
            version: self.headerVersion, reportSize: reportSize, requestType: self.requestType, status: self.status)
        let requestData = IGVMAttestRequestData(reportType: hardwareReport.type, hashType: self.hashType, variableDataSize: claimsSize)
        var bytes = header.bytes + hardwareReport.areaBytes + requestData.bytes + claims
        bytes += repeatElement(0, count: padded - size)
        let report = try HCLReport(bytes: bytes)
        try report.requireRuntimeClaimsBinding()
        return report
    }
}
