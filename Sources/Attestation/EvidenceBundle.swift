import Foundation
import SEVSNP
import TDX
import TPM2
import X509

// The Attestation library composes the leaf libraries — SEVSNP (reports, AMD chains), TPM2
// (quotes, AK certificates), AzureCVM (HCL reports), TDX (DCAP quotes, Intel chains and
// collateral), EventLog (replay) — into one pipeline: an ``EvidenceBundle`` is
// decoded, ``AttestationVerifier`` turns it into ``VerifiedEvidence``, an ``AppraisalPolicy``
// appraises that against ``ReferenceValues`` into an ``Appraisal``, and ``EARSigner`` signs the
// outcome as an EAR (draft-ietf-rats-ear) JWT with jwt-kit. The only formats hand-written here
// are the JSON documents it defines itself: the bundle (docs/evidence.md) and the policy and
// reference values (docs/policy.md).

/// The kinds of evidence a bundle can carry (docs/evidence.md). Emulated platforms use the same
/// types; whether their roots are trusted is a verifier option, never a type.
public enum EvidenceType: String, Sendable, Hashable, Codable, CaseIterable {
    /// An AMD SEV-SNP attestation report with its VCEK/VLEK certificate chain.
    case sevSNP = "sev-snp"
    /// A TPM 2.0 quote with its attestation key, the AK's certificate chain, PCR values and
    /// event log.
    case tpm
    /// An Azure confidential VM: the HCL report (an SEV-SNP report binding the vTPM's AK through
    /// its runtime claims) and a vTPM quote, PCR values and event log.
    case azureSEVSNPvTPM = "azure-sev-snp-vtpm"
    /// An Intel TDX DCAP quote, the CC event log (CCEL) that explains its RTMRs, and optionally
    /// Intel's collateral for it.
    case tdx
}

/// The evidence a confidential VM sends for one attestation request: a versioned JSON document
/// (docs/evidence.md) holding the verifier's nonce, an optional runtime key the VM generated for
/// this request, and the hardware evidence of one ``EvidenceType``, binary fields in base64.
///
/// Decoding checks the document's shape and parses every binary structure strictly (the SNP
/// report, certificates, TPMT_PUBLIC, TPMT_SIGNATURE, the TDX quote and collateral); it proves
/// nothing. Pass the bundle to
/// ``AttestationVerifier`` for that.
public struct EvidenceBundle: Sendable, Hashable {
    /// The bundle format version this library reads and writes.
    public static let version = 1

    /// The verifier's nonce, as the VM received it.
    public var nonce: [UInt8]
    /// The P-256 key the VM generated for this request, bound into the evidence with the nonce.
    public var runtimeKey: RuntimeKey?
    /// The type-specific evidence.
    public var evidence: Evidence

    /// The type-specific part of a bundle.
    public enum Evidence: Sendable, Hashable {
        case sevSNP(SNPEvidence)
        case tpm(TPMEvidence)
        case azureSEVSNPvTPM(AzureVTPMEvidence)
        case tdx(TDXEvidence)
    }

    /// Creates a bundle.
    public init(nonce: [UInt8], runtimeKey: RuntimeKey?, evidence: Evidence) {
        self.nonce = nonce
        self.runtimeKey = runtimeKey
        self.evidence = evidence
    }

    /// Decodes a bundle from its JSON document.
    public init(json: some Collection<UInt8>) throws(AttestationError) {
        do {
            self = try JSONDecoder().decode(EvidenceBundle.self, from: Data(json))
        } catch let error as AttestationError {
            throw error
        } catch {
            let (field, reason) = describe(error)
            throw .bundleMalformed(field: field, reason: reason)
        }
    }

    /// The bundle's JSON document, members sorted so that equal bundles give equal bytes.
    public func jsonEncoded() throws(AttestationError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(self))
        } catch {
            throw .bundleMalformed(field: "(document)", reason: String(describing: error))
        }
    }

    /// The evidence type.
    public var type: EvidenceType {
        switch self.evidence {
        case .sevSNP: .sevSNP
        case .tpm: .tpm
        case .azureSEVSNPvTPM: .azureSEVSNPvTPM
        case .tdx: .tdx
        }
    }
}

/// `sev-snp` evidence: an SEV-SNP ATTESTATION_REPORT (SEV-SNP Firmware ABI, pub. 56860, Table 23)
/// and the certificates that endorse it (VCEK/VLEK, ASK/ASVK, ARK; KDS spec pub. 57230), given
/// one by one or as the certificate table of an extended report (GHCB spec, pub. 56421).
public struct SNPEvidence: Sendable, Hashable {
    /// The attestation report.
    public var report: SNPReport
    /// Its certificates; an absent ASK or ASVK is taken from the verifier's trust anchors.
    public var certificates: SNPCertificateChain

    /// Creates `sev-snp` evidence.
    public init(report: SNPReport, certificates: SNPCertificateChain) {
        self.report = report
        self.certificates = certificates
    }
}

/// A TPM2_Quote (TPM 2.0 Part 3 §18.4) as evidence carries it: the signed TPMS_ATTEST bytes
/// (Part 2 §10.12.12), the TPMT_SIGNATURE (Part 2 §11.3.4), the values of the quoted PCRs per
/// bank, and the TCG event log (PC Client PFP §10) that explains them.
public struct TPMQuoteEvidence: Sendable, Hashable {
    /// The TPMS_ATTEST exactly as signed (a TPM2B_ATTEST without its size).
    public var attest: [UInt8]
    /// The signature over `attest`.
    public var signature: TPMTSignature
    /// The PCR values the quote covers, per bank and index; their hash must be the quote's pcrDigest.
    public var pcrs: TPMPCRValues
    /// The binary event log (crypto-agile or SHA-1 format), if the VM sent one.
    public var eventLog: [UInt8]?

    /// Creates quote evidence.
    public init(attest: [UInt8], signature: TPMTSignature, pcrs: TPMPCRValues, eventLog: [UInt8]?) {
        self.attest = attest
        self.signature = signature
        self.pcrs = pcrs
        self.eventLog = eventLog
    }
}

/// `tpm` evidence: a quote by an attestation key (AK) whose certificate chain (TCG EK Credential
/// Profile; a cloud's AK CA) vouches for it, and optionally the TPM's EK certificate.
public struct TPMEvidence: Sendable, Hashable {
    /// The AK's public area (TPMT_PUBLIC, Part 2 §12.2.4).
    public var attestationKey: TPMTPublic
    /// The AK certificate first, then any intermediates towards a root.
    public var akCertificates: [Certificate]
    /// The EK certificate; verified and reported when present, but it does not vouch for the AK
    /// (that needs TPM2_ActivateCredential, an interactive exchange).
    public var ekCertificate: Certificate?
    /// The quote, PCR values and event log.
    public var quote: TPMQuoteEvidence

    /// Creates `tpm` evidence.
    public init(attestationKey: TPMTPublic, akCertificates: [Certificate], ekCertificate: Certificate? = nil, quote: TPMQuoteEvidence) {
        self.attestationKey = attestationKey
        self.akCertificates = akCertificates
        self.ekCertificate = ekCertificate
        self.quote = quote
    }
}

/// `azure-sev-snp-vtpm` evidence: the HCL report an Azure confidential VM's paravisor writes to
/// vTPM NV index 0x01400001 (an SEV-SNP report whose REPORT_DATA commits to JSON runtime claims
/// holding the vTPM AK), the VCEK chain of that report, and a vTPM quote.
public struct AzureVTPMEvidence: Sendable, Hashable {
    /// The HCL report as read from NV, kept as bytes; the AzureCVM library's `HCLReport` parses it
    /// (decoding a bundle refuses one that does not parse).
    public var hclReport: [UInt8]
    /// The certificates of the SNP report inside the HCL report.
    public var certificates: SNPCertificateChain
    /// The vTPM quote, PCR values and event log.
    public var quote: TPMQuoteEvidence

    /// Creates `azure-sev-snp-vtpm` evidence.
    public init(hclReport: [UInt8], certificates: SNPCertificateChain, quote: TPMQuoteEvidence) {
        self.hclReport = hclReport
        self.certificates = certificates
        self.quote = quote
    }
}
