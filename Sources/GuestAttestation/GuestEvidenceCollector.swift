import SEVSNP
import TPM2
import TPMClient

/// Collects attestation evidence inside a real confidential VM through Linux interfaces:
/// configfs-tsm, `/dev/sev-guest`, `/dev/tdx_guest`, the TPM (through any `TPMTransport`,
/// `/dev/tpmrm0` on a guest) with Azure's HCL report NV index, the TPM event log in securityfs
/// and the CCEL ACPI table. Every path is a guest path resolved by a ``GuestFileSystem``, so a
/// fake tree in a temporary directory stands in for a guest in tests.
///
/// The kernel's ioctl structures are hand-written (SEVGuestStructures.swift,
/// TDXGuestDevice.swift): they are C declarations of the kernel's ABI that no package describes.
/// Reports are parsed by SEVSNP; TPM commands go through TPMClient.
public struct GuestEvidenceCollector: Sendable {
    /// The TPM event log as the kernel exports it (securityfs, Documentation/security/tpm).
    public static let eventLogPath = "/sys/kernel/security/tpm0/binary_bios_measurements"
    /// The CC event log's data (ACPI CCEL table, sysfs-firmware-acpi `tables/data`).
    public static let ccelPath = "/sys/firmware/acpi/tables/data/CCEL"

    public let fileSystem: any GuestFileSystem
    public let tpm: TPM2Client?

    public init(fileSystem: any GuestFileSystem, tpm: TPM2Client?) {
        self.fileSystem = fileSystem
        self.tpm = tpm
    }

    /// Detects the platform and collects its evidence for `nonce` (1 to 64 bytes): the report
    /// (its report data is the nonce padded with zeros to 64 bytes), a TPM quote of the SHA-256
    /// `pcrs` with the nonce as qualifying data when a TPM answers, and the event logs present.
    /// `privilegeLevel` is the SEV-SNP VMPL to request (configfs-tsm privlevel, or the
    /// snp_report_req vmpl, 0 by default there).
    public func collect(nonce: [UInt8], pcrs: [Int] = Array(0..<24), privilegeLevel: UInt32? = nil) throws(GuestAttestationError) -> CollectedEvidence {
        guard (1...64).contains(nonce.count) else { throw .invalidArgument("the nonce must be 1 to 64 bytes, not \(nonce.count)") }
        let detection = PlatformDetector(fileSystem: fileSystem, tpm: tpm).detect()
        var evidence = CollectedEvidence(platform: detection.platform, nonce: nonce, reportData: nonce + [UInt8](repeating: 0, count: 64 - nonce.count))
        switch detection.platform {
        case .sevSNP:
            try collectSNP(into: &evidence, provider: detection.tsmProvider, privilegeLevel: privilegeLevel)
        case .tdx:
            try collectTDX(into: &evidence, provider: detection.tsmProvider)
        case .azureCVM:
            if let tpm {
                evidence.azureHCLReport = try GuestTPM(client: tpm).readNV(GuestTPM.azureHCLReportIndex)
                evidence.sources["azure-hcl-report.bin"] = "TPM NV index \(GuestTPM.azureHCLReportIndex)"
            }
        case .tpm:
            break
        case .none:
            throw .unavailable("nothing to collect: \(detection.reason)")
        }
        if detection.tpmAnswers, let tpm {
            evidence.tpmQuote = try GuestTPM(client: tpm).quote(qualifyingData: nonce, pcrs: pcrs)
            for name in ["tpm-ak-public.bin", "tpm-quote-attest.bin", "tpm-quote-signature.bin"] { evidence.sources[name] = "TPM2_Quote" }
        }
        if let log = try fileSystem.readIfPresent(Self.eventLogPath) {
            evidence.eventLog = log
            evidence.sources["eventlog.bin"] = Self.eventLogPath
        }
        if let ccel = try fileSystem.readIfPresent(Self.ccelPath) {
            evidence.ccel = ccel
            evidence.sources["ccel.bin"] = Self.ccelPath
        }
        return evidence
    }

    /// An SNP report through configfs-tsm when its provider is sev_guest, else through
    /// SNP_GET_EXT_REPORT; the report must parse and carry the report data, and a certificate
    /// table must parse.
    private func collectSNP(into evidence: inout CollectedEvidence, provider: String?, privilegeLevel: UInt32?) throws(GuestAttestationError) {
        let source: String
        let report: [UInt8]
        let table: [UInt8]?
        if provider == "sev_guest" {
            let answer = try ConfigFSTSM(fileSystem: fileSystem).report(inblob: evidence.reportData, privilegeLevel: privilegeLevel)
            guard answer.provider == "sev_guest" else { throw .unexpectedProvider(expected: "sev_guest", actual: answer.provider) }
            source = "configfs-tsm (provider sev_guest)"
            (report, table) = (answer.outblob, answer.auxblob.flatMap { $0.isEmpty ? nil : $0 })
        } else {
            let device = SEVGuestDevice(device: try fileSystem.openDevice(SEVGuestDevice.path))
            let answer = try device.extendedReport(reportData: evidence.reportData, vmpl: privilegeLevel ?? 0)
            source = "\(SEVGuestDevice.path) SNP_GET_EXT_REPORT"
            (report, table) = (answer.report, answer.certificateTable)
        }
        let parsed: SNPReport
        do {
            parsed = try SNPReport(bytes: report)
            if let table { _ = try SNPCertificateTable(bytes: table) }
        } catch {
            throw .snp(error)
        }
        guard parsed.reportData == evidence.reportData else { throw .reportDataMismatch(source: source) }
        evidence.snpReport = report
        evidence.snpCertificateTable = table
        evidence.sources["snp-report.bin"] = source
        if table != nil { evidence.sources["snp-cert-table.bin"] = source }
    }

    /// A TDX quote through configfs-tsm when its provider is tdx_guest, and a TDREPORT through
    /// TDX_CMD_GET_REPORT0 when /dev/tdx_guest is present.
    private func collectTDX(into evidence: inout CollectedEvidence, provider: String?) throws(GuestAttestationError) {
        if provider == "tdx_guest" {
            let report = try ConfigFSTSM(fileSystem: fileSystem).report(inblob: evidence.reportData)
            guard report.provider == "tdx_guest" else { throw .unexpectedProvider(expected: "tdx_guest", actual: report.provider) }
            evidence.tdQuote = report.outblob
            evidence.sources["td-quote.bin"] = "configfs-tsm (provider tdx_guest)"
        }
        if try fileSystem.exists(TDXGuestDevice.path) {
            evidence.tdReport = try TDXGuestDevice(device: try fileSystem.openDevice(TDXGuestDevice.path)).report(reportData: evidence.reportData)
            evidence.sources["td-report.bin"] = "\(TDXGuestDevice.path) TDX_CMD_GET_REPORT0"
        }
    }
}
