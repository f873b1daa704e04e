import AzureCVM
import Foundation
import SEVSNP
import TPM2
import TPMClient

/// What Azure's paravisor (the HCL, OpenVMM's OpenHCL) does for a confidential VM's vTPM, emulated:
/// it provisions the EK and the AK, and writes the attestation report, signed by the (emulated)
/// Secure Processor and binding both keys, to NV index 0x01400001 (OpenVMM
/// `openhcl/openhcl_attestation_protocol/src/igvm_attest/get.rs`; Microsoft Learn, "Guest
/// attestation for confidential VMs — design", reserved NV indices).
struct EmulatedParavisor: Sendable {
    /// Azure's AK handle, where guest tooling finds the AK (kinvolk/azure-cvm-tooling
    /// `az-cvm-vtpm/src/vtpm/mod.rs`, VTPM_AK_HANDLE).
    static let attestationKeyHandle = TPMHandle(0x8100_0003)
    /// The TCG's RSA EK handle (TCG TPM v2.0 Provisioning Guidance §7.8).
    static let endorsementKeyHandle = TPMHandle(0x8101_0001)

    /// An RSA-2048 restricted signing key with RSASSA-SHA256: the kind of AK Azure's vTPM holds
    /// and its HCL report lists as "HCLAkPub" (TPM 2.0 Part 2 §8.3.3.1 restricted signing keys).
    static let attestationKeyTemplate = TPMTPublic(
        nameAlg: .sha256,
        objectAttributes: [.fixedTPM, .fixedParent, .sensitiveDataOrigin, .userWithAuth, .noDA, .restricted, .signEncrypt],
        parameters: .rsa(TPMSRSAParms(symmetric: .null, scheme: TPMTScheme(.rsassa, hash: .sha256), keyBits: 2048, exponent: 0)),
        unique: .rsa([]))

    let secureProcessor: EmulatedSNPChain
    let measurement: [UInt8]
    let policy: UInt64
    let vmConfiguration: HCLVMConfiguration

    /// Creates the EK and AK and makes them persistent; defines the report index (platform
    /// hierarchy, readable with owner authorization) and the guest input index.
    func provision(_ tpm: TPM2Client) throws(EmulatedPlatformError) {
        try step("creating the EK and AK") { () throws(TPMClientError) in
            for (hierarchy, template, handle) in [(TPMHandle.endorsement, TPMTPublic.ekRSA2048, Self.endorsementKeyHandle),
                                                   (.owner, Self.attestationKeyTemplate, Self.attestationKeyHandle)] {
                let key = try tpm.createPrimary(hierarchy: hierarchy, template: template)
                try tpm.evictControl(object: key.handle, persistentHandle: handle)
                try tpm.flushContext(key.handle)
            }
            try tpm.nvDefineSpace(authHandle: .platform, publicInfo: TPMSNVPublic(
                nvIndex: TPMHandle(HCLReport.nvIndex), nameAlg: .sha256,
                attributes: [.platformCreate, .ppWrite, .ppRead, .ownerRead, .authRead, .noDA],
                authPolicy: [], dataSize: UInt16(HCLReport.currentNVIndexSize)))
            try tpm.nvDefineSpace(publicInfo: TPMSNVPublic(
                nvIndex: TPMHandle(HCLReport.guestInputNVIndex), nameAlg: .sha256,
                attributes: [.ownerWrite, .authWrite, .ownerRead, .authRead, .noDA], authPolicy: [], dataSize: 64))
            try tpm.nvWrite(index: TPMHandle(HCLReport.guestInputNVIndex), data: [UInt8](repeating: 0, count: 64), authHandle: .owner)
        }
    }

    /// Writes a fresh report to NV index 0x01400001: the AK and EK as they are now, the 64 bytes
    /// of NV index 0x01400002 as user-data, and an SNP report whose REPORT_DATA binds them.
    @discardableResult
    func writeReport(_ tpm: TPM2Client) throws(EmulatedPlatformError) -> HCLReport {
        let (ak, ek, userData) = try step("reading the AK, the EK and the guest input") { () throws(TPMClientError) in
            (try tpm.readPublic(Self.attestationKeyHandle).publicArea, try tpm.readPublic(Self.endorsementKeyHandle).publicArea,
             try tpm.nvRead(index: TPMHandle(HCLReport.guestInputNVIndex), size: 64, authHandle: .owner))
        }
        let builder: HCLReportBuilder
        let reportData: [UInt8]
        do throws(AzureCVMError) {
            let claims = HCLRuntimeClaims(
                keys: [try HCLJSONWebKey(kid: HCLRuntimeClaims.attestationKeyID, keyOperations: ["sign"], tpmPublic: ak),
                       try HCLJSONWebKey(kid: HCLRuntimeClaims.endorsementKeyID, keyOperations: ["encrypt"], tpmPublic: ek)],
                vmConfiguration: self.vmConfiguration, userData: HCLRuntimeClaims.userData(userData))
            builder = HCLReportBuilder(runtimeClaims: claims)
            reportData = try builder.reportData()
        } catch {
            throw .hclReport(error)
        }
        let snp: SNPReport
        do {
            snp = try self.secureProcessor.signReport(EmulatedReportContents(reportData: reportData, measurement: self.measurement, policy: self.policy))
        } catch {
            throw .secureProcessor(error)
        }
        let report: HCLReport
        do { report = try builder.build(hardwareReport: .snp(snp)) } catch { throw .hclReport(error) }
        let bytes = report.bytes
        try step("writing the report to NV index 0x01400001") { () throws(TPMClientError) in
            for offset in stride(from: 0, to: bytes.count, by: 1024) {
                try tpm.nvWrite(index: TPMHandle(HCLReport.nvIndex), data: Array(bytes[offset..<min(offset + 1024, bytes.count)]),
                                offset: UInt16(offset), authHandle: .platform)
            }
        }
        return report
    }

    /// Runs `body`, naming `description` in its error.
    private func step<T>(_ description: String, _ body: () throws(TPMClientError) -> T) throws(EmulatedPlatformError) -> T {
        do { return try body() } catch { throw .tpm(step: description, error) }
    }
}
