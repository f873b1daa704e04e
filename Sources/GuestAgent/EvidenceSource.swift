import Attestation
import Foundation
import GuestAttestation
import SEVSNP
import TPM2
import TPMClient

/// Something that produces an evidence bundle answering a verifier's nonce with the VM's runtime
/// key bound into it: a vTPM-based CVM, a bare SEV-SNP guest, the emulated platform.
public protocol EvidenceSource: Sendable {
    /// Evidence for `nonce`, binding `runtimeKey` through ``EvidenceBinding``.
    func evidence(nonce: [UInt8], runtimeKey: RuntimeKey) throws -> EvidenceBundle
}

/// An Azure-style confidential VM whose vTPM holds the paravisor's HCL report in NV index
/// 0x01400001: the report (which binds the vTPM's AK to the SEV-SNP report), a quote by that AK
/// whose qualifying data binds nonce and runtime key, and the firmware event log — the
/// `azure-sev-snp-vtpm` bundle (docs/evidence.md).
public struct VTPMEvidenceSource: EvidenceSource {
    public let tpm: TPM2Client
    public let eventLog: [UInt8]
    /// The VCEK (and ASK/ARK) of the chip; on Azure the host serves them, the emulated
    /// platform hands them out.
    public let certificates: SNPCertificateChain
    public let pcrs: [Int]

    public init(tpm: TPM2Client, eventLog: [UInt8], certificates: SNPCertificateChain, pcrs: [Int] = Array(0..<24)) {
        self.tpm = tpm
        self.eventLog = eventLog
        self.certificates = certificates
        self.pcrs = pcrs
    }

    public func evidence(nonce: [UInt8], runtimeKey: RuntimeKey) throws -> EvidenceBundle {
        let guest = GuestTPM(client: tpm)
        let hclReport = try guest.readNV(GuestTPM.azureHCLReportIndex)
        let quote = try guest.quote(qualifyingData: try EvidenceBinding.qualifyingData(nonce: nonce, runtimeKey: runtimeKey), pcrs: pcrs)
        return EvidenceBundle(nonce: nonce, runtimeKey: runtimeKey, evidence: .azureSEVSNPvTPM(AzureVTPMEvidence(
            hclReport: hclReport, certificates: certificates, quote: try quote.bundleQuote(eventLog: eventLog))))
    }
}

/// A bare SEV-SNP guest (no paravisor): a report through configfs-tsm or /dev/sev-guest whose
/// REPORT_DATA binds nonce and runtime key, with the certificates the host supplied in the
/// extended report or given here — the `sev-snp` bundle.
public struct SNPGuestEvidenceSource: EvidenceSource {
    public let collector: GuestEvidenceCollector
    /// Certificates to use when the host supplies none in the extended report.
    public let certificates: SNPCertificateChain?

    public init(collector: GuestEvidenceCollector, certificates: SNPCertificateChain? = nil) {
        self.collector = collector
        self.certificates = certificates
    }

    public func evidence(nonce: [UInt8], runtimeKey: RuntimeKey) throws -> EvidenceBundle {
        let collected = try collector.collect(
            nonce: nonce, reportData: try EvidenceBinding.reportData(nonce: nonce, runtimeKey: runtimeKey),
            qualifyingData: try EvidenceBinding.qualifyingData(nonce: nonce, runtimeKey: runtimeKey))
        guard collected.platform == .sevSNP, let report = collected.snpReport else {
            throw GuestAgentError.platformNotSupported(collected.platform.rawValue)
        }
        let chain: SNPCertificateChain
        if let table = collected.snpCertificateTable {
            chain = try SNPCertificateTable(bytes: table).chain()
        } else if let certificates {
            chain = certificates
        } else {
            throw GuestAgentError.certificatesMissing
        }
        return EvidenceBundle(nonce: nonce, runtimeKey: runtimeKey, evidence: .sevSNP(SNPEvidence(report: try SNPReport(bytes: report), certificates: chain)))
    }
}

extension GuestQuote {
    /// The quote as the Attestation library's bundle carries it.
    func bundleQuote(eventLog: [UInt8]?) throws -> TPMQuoteEvidence {
        TPMQuoteEvidence(attest: attest, signature: try TPMTSignature(tpmBytes: signature), pcrs: [.sha256: pcrValues], eventLog: eventLog)
    }
}

/// Why the agent could not attest.
public enum GuestAgentError: Error, Sendable, CustomStringConvertible {
    /// The machine's platform has no evidence bundle type the agent can build yet.
    case platformNotSupported(String)
    /// A bare SEV-SNP guest whose host supplied no certificates, and none were given.
    case certificatesMissing
    /// A runtime key file (``RuntimeKeyFile``) cannot be read, parsed or created.
    case runtimeKeyFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .platformNotSupported(let platform): "the agent cannot build evidence for platform \"\(platform)\" yet"
        case .certificatesMissing: "the host supplied no VCEK certificates in the extended report: give them with --certificates"
        case .runtimeKeyFile(let path, let reason): "the runtime key file \(path) cannot be used: \(reason)"
        }
    }
}
