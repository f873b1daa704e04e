import Foundation
import SEVSNP
import TDX
import TPM2

/// The claims of ``VerifiedEvidence`` as a JSON document: what `cvm policy check --json` prints
/// and what an EAR carries as `ear.veraison.annotated-evidence` (docs/policy.md, "Claims").
/// Bytes are lowercase hex, times are seconds since the Unix epoch.
public struct EvidenceClaims: Sendable, Hashable, Codable {
    /// The evidence type.
    public var platform: EvidenceType
    /// The roots the evidence chained to.
    public var roots: [VerifiedRoot]
    /// Whether any root is emulated.
    public var emulated: Bool
    /// The nonce, in hex.
    public var nonce: String
    /// `nonce` when freshness came from the verifier's nonce through ``EvidenceBinding``,
    /// `report-data` or `qualifying-data` when the caller supplied the bound value.
    public var binding: String
    /// The runtime key as a public JWK.
    public var runtimeKey: RuntimeKey?
    /// When the evidence was verified.
    public var verifiedAt: Int
    /// The SEV-SNP report's claims.
    public var snp: SNP?
    /// The TPM quote's claims.
    public var tpm: TPM?
    /// The TDX quote's claims.
    public var tdx: TDX?

    /// Claims of an SEV-SNP report (SEV-SNP Firmware ABI, pub. 56860, Table 23).
    public struct SNP: Sendable, Hashable, Codable {
        public var product: SNPProduct
        public var measurement: String
        /// POLICY as a hexadecimal number.
        public var policy: String
        /// The POLICY flags that are set.
        public var policyFlags: [SNPPolicyFlag]
        public var reportedTCB: TCBComponents
        public var reportData: String
        public var hostData: String
        public var chipID: String
        public var vmpl: UInt32
        public var guestSVN: UInt32
    }

    /// Claims of a TPM quote and its event log.
    public struct TPM: Sendable, Hashable, Codable {
        /// The attestation key's Name, in hex.
        public var attestationKeyName: String?
        /// Quoted PCR values: bank name, then PCR index, then hex value.
        public var pcrs: [String: [String: String]]
        public var eventLog: EventLog?
    }

    /// Claims read from the replayed event log.
    public struct EventLog: Sendable, Hashable, Codable {
        public var verifiedBanks: [String]
        public var verifiedPCRs: [Int]
        public var secureBoot: Bool?
        public var bootFiles: [BootFileClaim]?
    }

    /// Claims of a TDX quote's TD report body (Intel TDX DCAP Quoting Library API, Appendix A.3.2),
    /// its TCB evaluation and its CC event log.
    public struct TDX: Sendable, Hashable, Codable {
        /// The quote version, 4 or 5.
        public var quoteVersion: Int
        public var mrTD: String
        /// RTMR[0…3].
        public var rtmrs: [String]
        public var mrConfigID: String
        public var mrOwner: String
        public var mrOwnerConfig: String
        /// MRSEAM: the TDX module's measurement.
        public var mrSEAM: String
        /// TEE_TCB_SVN: the TDX module's SVN and version, then the TDX TCB components.
        public var teeTCBSVN: String
        /// TDATTRIBUTES as a hexadecimal number.
        public var tdAttributes: String
        /// TDATTRIBUTES.DEBUG (bit 0).
        public var debug: Bool
        /// XFAM as a hexadecimal number.
        public var xfam: String
        public var reportData: String
        /// The FMSPC of the PCK certificate, which names the platform's TCB Info.
        public var fmspc: String
        /// Where the collateral came from: `verifier`, `bundle` or `none`.
        public var collateral: TDXClaims.CollateralSource
        /// The TCB status Intel's TCB Info gives; absent without TCB Info.
        public var tcbStatus: TCBStatus?
        /// The advisories of the matched TCB levels; absent without TCB Info.
        public var advisoryIDs: [String]?
        /// The issuers of the CRLs checked.
        public var revocationLists: [String]
        public var eventLog: TDXEventLog?
    }

    /// Claims read from the replayed CC event log.
    public struct TDXEventLog: Sendable, Hashable, Codable {
        public var verifiedRTMRs: [Int]
        public var secureBoot: Bool?
    }

    /// An EFI application's Authenticode SHA-256 and the (unverified) device path it was loaded from.
    public struct BootFileClaim: Sendable, Hashable, Codable {
        public var event: Int
        public var sha256: String
        public var devicePath: String
    }
}

extension VerifiedEvidence {
    /// The claims as a serialisable document.
    public var claims: EvidenceClaims {
        let binding = switch self.binding {
        case .nonce: "nonce"
        case .reportData: "report-data"
        case .qualifyingData: "qualifying-data"
        }
        return EvidenceClaims(
            platform: self.type, roots: self.roots, emulated: self.emulated, nonce: ByteEncoding.hex(self.nonce),
            binding: binding, runtimeKey: self.runtimeKey, verifiedAt: Int(self.verificationTime.timeIntervalSince1970),
            snp: self.snp.map { snp in
                let report = snp.verifiedReport.report
                return EvidenceClaims.SNP(
                    product: snp.product, measurement: ByteEncoding.hex(snp.measurement),
                    policy: "0x" + String(snp.policy.rawValue, radix: 16), policyFlags: SNPPolicyFlag.allCases.filter { $0.isSet(in: snp.policy) },
                    reportedTCB: snp.reportedTCB, reportData: ByteEncoding.hex(snp.reportData), hostData: ByteEncoding.hex(snp.hostData),
                    chipID: ByteEncoding.hex(snp.chipID), vmpl: report.vmpl, guestSVN: report.guestSVN)
            },
            tpm: self.tpm.map { tpm in
                var pcrs: [String: [String: String]] = [:]
                for (bank, values) in tpm.pcrs {
                    pcrs[bank.description] = Dictionary(uniqueKeysWithValues: values.map { (String($0.key), ByteEncoding.hex($0.value)) })
                }
                return EvidenceClaims.TPM(
                    attestationKeyName: tpm.attestationKeyName.map(ByteEncoding.hex), pcrs: pcrs,
                    eventLog: tpm.eventLog.map { log in
                        EvidenceClaims.EventLog(
                            verifiedBanks: log.verifiedBanks.map(\.description), verifiedPCRs: log.verifiedPCRs, secureBoot: log.secureBoot,
                            bootFiles: log.bootFiles?.map { EvidenceClaims.BootFileClaim(event: $0.event, sha256: ByteEncoding.hex($0.sha256), devicePath: $0.devicePath) })
                    })
            },
            tdx: self.tdx.map { tdx in
                let body = tdx.body
                return EvidenceClaims.TDX(
                    quoteVersion: Int(tdx.verifiedQuote.quote.header.version), mrTD: ByteEncoding.hex(body.mrTD), rtmrs: body.rtmrs.map(ByteEncoding.hex),
                    mrConfigID: ByteEncoding.hex(body.mrConfigID), mrOwner: ByteEncoding.hex(body.mrOwner),
                    mrOwnerConfig: ByteEncoding.hex(body.mrOwnerConfig), mrSEAM: ByteEncoding.hex(body.mrSEAM),
                    teeTCBSVN: ByteEncoding.hex(body.teeTCBSVN), tdAttributes: "0x" + String(body.tdAttributes.rawValue, radix: 16),
                    debug: body.tdAttributes.debug, xfam: "0x" + String(body.xfam, radix: 16), reportData: ByteEncoding.hex(body.reportData),
                    fmspc: ByteEncoding.hex(tdx.verifiedQuote.pckChain.pck.extensions.fmspc), collateral: tdx.collateral,
                    tcbStatus: tdx.tcb?.status, advisoryIDs: tdx.tcb?.advisoryIDs, revocationLists: tdx.verifiedQuote.revocationListsApplied,
                    eventLog: tdx.eventLog.map { EvidenceClaims.TDXEventLog(verifiedRTMRs: $0.verifiedRTMRs, secureBoot: $0.secureBoot) })
            })
    }
}
