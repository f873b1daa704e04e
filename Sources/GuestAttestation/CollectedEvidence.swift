import Foundation
import TPM2

/// Evidence collected inside a guest: the raw bytes each interface returned, unparsed beyond
/// the checks collection makes (sizes, the report data echoed), with the platform it came from.
/// Verification and appraisal happen elsewhere.
///
/// ``files`` is how it is stored (`cvm agent collect --out DIR`); every file but the manifest is
/// present only when that evidence was collected:
///
/// | file | content |
/// |---|---|
/// | `evidence.json` | manifest: `platform`, `nonce` and `reportData` (hex), `sources` (the interface each file came from), `tpm` (`attestationKey`, `pcrBank`, `pcrs`: index → hex value) |
/// | `snp-report.bin` | SEV-SNP ATTESTATION_REPORT, 1184 bytes (Firmware ABI pub. 56860 §7.3) |
/// | `snp-cert-table.bin` | the GHCB certificate table (pub. 56421 §4.1.8.1) |
/// | `td-quote.bin` | TDX quote from configfs-tsm (provider tdx_guest) |
/// | `td-report.bin` | TDREPORT_STRUCT, 1024 bytes, from TDX_CMD_GET_REPORT0 |
/// | `azure-hcl-report.bin` | Azure HCL report from vTPM NV index 0x01400001 |
/// | `tpm-ak-public.bin` | the attestation key's TPMT_PUBLIC (TPM 2.0 Part 2 §12.2.4) |
/// | `tpm-quote-attest.bin` | TPMS_ATTEST of the quote (Part 2 §10.12.12) |
/// | `tpm-quote-signature.bin` | TPMT_SIGNATURE over it (Part 2 §11.3.4) |
/// | `eventlog.bin` | the TPM's TCG event log (securityfs binary_bios_measurements) |
/// | `ccel.bin` | the CC event log (ACPI CCEL table data) |
public struct CollectedEvidence: Sendable, Hashable {
    public var platform: GuestPlatform
    /// The caller's nonce: the TPM quote's qualifying data.
    public var nonce: [UInt8]
    /// The nonce padded with zeros to 64 bytes: the report data of SNP and TDX reports.
    public var reportData: [UInt8]
    public var snpReport: [UInt8]?
    public var snpCertificateTable: [UInt8]?
    public var tdQuote: [UInt8]?
    public var tdReport: [UInt8]?
    public var azureHCLReport: [UInt8]?
    public var tpmQuote: TPMQuoteEvidence?
    public var eventLog: [UInt8]?
    public var ccel: [UInt8]?
    /// For each file name, the interface its bytes came from.
    public var sources: [String: String]

    public init(platform: GuestPlatform, nonce: [UInt8], reportData: [UInt8]) {
        self.platform = platform
        self.nonce = nonce
        self.reportData = reportData
        self.sources = [:]
    }

    /// The manifest, `evidence.json`.
    struct Manifest: Codable {
        struct TPM: Codable {
            var attestationKey: String
            var pcrBank: String
            var pcrs: [String: String]
        }

        var platform: GuestPlatform
        var nonce: String
        var reportData: String
        var sources: [String: String]
        var tpm: TPM?
    }

    /// The files this evidence is stored as, by name.
    public var files: [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        files["snp-report.bin"] = snpReport
        files["snp-cert-table.bin"] = snpCertificateTable
        files["td-quote.bin"] = tdQuote
        files["td-report.bin"] = tdReport
        files["azure-hcl-report.bin"] = azureHCLReport
        files["tpm-ak-public.bin"] = tpmQuote?.keyPublic
        files["tpm-quote-attest.bin"] = tpmQuote?.attest
        files["tpm-quote-signature.bin"] = tpmQuote?.signature
        files["eventlog.bin"] = eventLog
        files["ccel.bin"] = ccel
        let tpm = tpmQuote.map { quote in
            Manifest.TPM(
                attestationKey: quote.persistentKey.map { "persistent \($0)" } ?? "created for this quote (ECC P-256, owner hierarchy)",
                pcrBank: "sha256", pcrs: Dictionary(uniqueKeysWithValues: quote.pcrValues.map { (String($0.key), hex($0.value)) }))
        }
        let manifest = Manifest(platform: platform, nonce: hex(nonce), reportData: hex(reportData), sources: sources, tpm: tpm)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        files["evidence.json"] = Array((try? encoder.encode(manifest)) ?? Data())
        return files
    }

    /// Writes ``files`` into `directory` (created if missing), replacing files of the same names.
    public func write(toDirectory directory: String) throws(GuestAttestationError) {
        guard mkdir(directory, 0o755) == 0 || errno == EEXIST else {
            throw .fileSystem(operation: "create directory", path: directory, errno: errno)
        }
        for (name, bytes) in files.sorted(by: { $0.key < $1.key }) {
            let path = directory + "/" + name
            do {
                try PosixFile.store(bytes, at: path, create: true)
            } catch {
                throw .fileSystem(operation: "write", path: path, errno: error.code)
            }
        }
    }
}

/// Lowercase hex, two digits per byte.
func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}
