import Foundation
import SEVSNP
import TDX
import TPM2

/// Evidence that ``AttestationVerifier`` has verified: every signature checked up to the named
/// roots, the nonce and runtime key binding checked, the quote's PCRs (or the TD report's RTMRs)
/// explained by the replayed event log. Only the verifier creates one, so an appraisal can never run on unverified evidence.
/// Its claims are typed here and serialised by ``claims`` for JSON output and EARs.
public struct VerifiedEvidence: Sendable {
    /// The evidence type, which is also the platform claim.
    public let type: EvidenceType
    /// The roots the evidence chained to, hardware root first.
    public let roots: [VerifiedRoot]
    /// The nonce the evidence answers.
    public let nonce: [UInt8]
    /// How freshness was established: by the verifier's nonce through ``EvidenceBinding``, or by
    /// a value the caller supplied for evidence produced by other tooling.
    public let binding: ExpectedBinding
    /// The runtime key the evidence binds; nil when the VM sent none.
    public let runtimeKey: RuntimeKey?
    /// The SEV-SNP report's claims (`sev-snp` and `azure-sev-snp-vtpm` evidence).
    public let snp: SNPClaims?
    /// The TPM quote's claims (`tpm` and `azure-sev-snp-vtpm` evidence).
    public let tpm: TPMClaims?
    /// The TDX quote's claims (`tdx` evidence).
    public let tdx: TDXClaims?
    /// The time certificates were checked at and the binding was established.
    public let verificationTime: Date

    init(
        type: EvidenceType, roots: [VerifiedRoot], nonce: [UInt8], binding: ExpectedBinding, runtimeKey: RuntimeKey?,
        snp: SNPClaims?, tpm: TPMClaims?, tdx: TDXClaims?, verificationTime: Date
    ) {
        self.type = type
        self.roots = roots
        self.nonce = nonce
        self.binding = binding
        self.runtimeKey = runtimeKey
        self.snp = snp
        self.tpm = tpm
        self.tdx = tdx
        self.verificationTime = verificationTime
    }

    /// Whether any root the evidence chained to is emulated: such evidence proves the emulator's
    /// consistency, not a hardware vendor's.
    public var emulated: Bool { self.roots.contains(where: \.emulated) }
}

/// A root of trust a verified chain ended at.
public struct VerifiedRoot: Sendable, Hashable, Codable, CustomStringConvertible {
    /// What the root vouches for.
    public enum Role: String, Sendable, Hashable, Codable {
        /// An AMD root key (ARK) endorsing an SEV-SNP report (KDS spec, pub. 57230).
        case snpARK = "snp-ark"
        /// A CA that certified a TPM attestation key.
        case tpmAKCA = "tpm-ak-ca"
        /// A CA that certified a TPM endorsement key (TCG EK Credential Profile).
        case tpmEKCA = "tpm-ek-ca"
        /// The root of a TDX quote's PCK chain (Intel SGX PCK Certificate and CRL Profile, §3.1).
        case tdxRootCA = "tdx-root-ca"
    }

    /// The root's name: the SNP or TDX trust anchor's name ("AMD ARK-Milan", "emulated
    /// (untrusted)", "Intel SGX Root CA") or the TPM root certificate's subject.
    public let name: String
    /// What it vouches for.
    public let role: Role
    /// Whether it is one of the verifier's emulated roots rather than a genuine one.
    public let emulated: Bool

    /// "name (role)", with ", emulated" for an emulated root.
    public var description: String {
        "\(self.name) (\(self.role.rawValue)\(self.emulated ? ", emulated" : ""))"
    }
}

/// The claims of a verified SEV-SNP report (SEV-SNP Firmware ABI, pub. 56860, Table 23).
public struct SNPClaims: Sendable {
    /// The report as ``SNPVerifier`` vouched for it, with every field.
    public let verifiedReport: VerifiedSNPReport

    /// MEASUREMENT: the launch digest.
    public var measurement: [UInt8] { self.verifiedReport.report.measurement }
    /// POLICY: the guest policy, including the debug bit.
    public var policy: SNPGuestPolicy { self.verifiedReport.report.policy }
    /// REPORTED_TCB, decoded for the product; the VCEK certifies exactly these SPLs.
    public var reportedTCB: TCBComponents { self.verifiedReport.reportedTCB }
    /// REPORT_DATA.
    public var reportData: [UInt8] { self.verifiedReport.report.reportData }
    /// CHIP_ID.
    public var chipID: [UInt8] { self.verifiedReport.report.chipID }
    /// HOST_DATA.
    public var hostData: [UInt8] { self.verifiedReport.report.hostData }
    /// The product (Milan, Genoa, Turin).
    public var product: SNPProduct { self.verifiedReport.product }
}

/// The claims of a verified Intel TDX quote: its TD report body (Intel TDX DCAP Quoting Library
/// API, Appendix A.3.2), the TCB status Intel's collateral gives it, and the CC event log
/// replayed against its RTMRs.
public struct TDXClaims: Sendable {
    /// Where the collateral the quote was evaluated against came from.
    public enum CollateralSource: String, Sendable, Hashable, Codable {
        /// The verifier's configured collateral.
        case verifier
        /// The collateral the bundle carried (the verifier had none configured).
        case bundle
        /// None: the quote was verified, its TCB status not evaluated.
        case none
    }

    /// The quote as ``TDXVerifier`` vouched for it, with every field and the TCB evaluation.
    public let verifiedQuote: VerifiedTDXQuote
    /// Where the collateral came from.
    public let collateral: CollateralSource
    /// What the replayed CC event log says; nil when the evidence has none.
    public let eventLog: TDXEventLogClaims?

    /// The TD report body.
    public var body: TDReportBody { self.verifiedQuote.body }
    /// MRTD: the measurement of the TD's initial contents.
    public var mrTD: [UInt8] { self.body.mrTD }
    /// RTMR[0…3].
    public var rtmrs: [[UInt8]] { self.body.rtmrs }
    /// TDATTRIBUTES, including DEBUG.
    public var tdAttributes: TDAttributes { self.body.tdAttributes }
    /// The TCB status and advisories, when TCB Info was part of the collateral.
    public var tcb: TDXTCBEvaluation? { self.verifiedQuote.tcb }
}

/// What a CC event log (UEFI 2.10 §38; for TDX, MR index 1…4 is RTMR[0…3]) says once every RTMR
/// it extends has been replayed in its SHA-384 bank and found equal to the TD report's: only
/// events in those RTMRs are read.
public struct TDXEventLogClaims: Sendable, Hashable {
    /// The RTMRs (0…3) the log extends, all of which matched the TD report.
    public let verifiedRTMRs: [Int]
    /// The SecureBoot variable (UEFI 2.10 §3.3) as measured into RTMR[0]; nil if not measured.
    public let secureBoot: Bool?
}

/// The claims of a verified TPM2_Quote and the event log replayed against it.
public struct TPMClaims: Sendable {
    /// The quote as ``QuoteVerifier`` vouched for it: TPMS_ATTEST, selection, PCR values.
    public let quote: VerifiedQuote
    /// The attestation key's Name (TPM 2.0 Part 1 §16) when its public area was known.
    public var attestationKeyName: [UInt8]? { self.quote.signerName }
    /// The quoted PCR values per bank and index.
    public var pcrs: TPMPCRValues { self.quote.pcrValues }
    /// What the replayed event log says; nil when the evidence has no event log.
    public let eventLog: EventLogClaims?
}

/// What an event log says once every PCR it extends has been replayed and found equal to the
/// quoted value (TCG PC Client PFP §10): only events in those PCRs are read.
public struct EventLogClaims: Sendable, Hashable {
    /// The banks whose replay was compared with the quote.
    public let verifiedBanks: [TPMAlgorithmID]
    /// The PCRs the log extends, all of which matched the quote.
    public let verifiedPCRs: [Int]
    /// The SecureBoot variable (UEFI 2.10 §3.3) as measured into PCR 7; nil if not measured.
    public let secureBoot: Bool?
    /// The EFI applications loaded (EV_EFI_BOOT_SERVICES_APPLICATION, PFP §10.4.4), with their
    /// Authenticode SHA-256 digests; nil when the SHA-256 bank was not verified against the quote.
    public let bootFiles: [BootFile]?
}

/// An EFI application the firmware measured into PCR 4: its Authenticode SHA-256 (the event's
/// digest, verified through replay) and the device path the event names.
public struct BootFile: Sendable, Hashable {
    /// The event's index in the log.
    public let event: Int
    /// The Authenticode SHA-256 digest of the PE image.
    public let sha256: [UInt8]
    /// The device path from the event data. The digest does not cover it, so it describes the
    /// file but proves nothing.
    public let devicePath: String
}
