import AzureCVM
import EventLog
import SEVSNP
import TDX
import TPM2

/// The step of the verification pipeline an ``AttestationError`` belongs to, for callers that
/// map failures to responses (an HTTP 400 for `evidence`, 403 for the others) and for the
/// sentence each error begins with.
public enum AttestationStep: String, Sendable, Hashable, Codable, CaseIterable {
    /// Decoding the evidence bundle, its runtime key and nonce.
    case evidence
    /// The signature and certificate chain of the hardware report, quote or attestation key, up
    /// to a root, and for TDX the TCB evaluation against Intel's collateral.
    case endorsement
    /// The nonce and runtime key the evidence answers (``EvidenceBinding``).
    case binding
    /// The TPM2_Quote: signature, qualifying data and PCR digest.
    case quote
    /// The event log: its parsing, replay and agreement with the quoted PCRs or the TD report's
    /// RTMRs.
    case eventLog = "event log"
    /// Decoding an appraisal policy or reference values.
    case policy
    /// Signing or verifying an EAR attestation result.
    case result
}

/// Every way decoding, verifying or signing attestation evidence and results can fail. Each case
/// belongs to one ``AttestationStep``, and its ``description`` is one sentence that names that
/// step and says what disagreed.
public enum AttestationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The evidence bundle is not valid JSON of the documented shape (docs/evidence.md); `field`
    /// is the member's path.
    case bundleMalformed(field: String, reason: String)
    /// The bundle's `version` is not 1.
    case unsupportedBundleVersion(Int)
    /// The bundle's `type` names no evidence type this library knows.
    case unknownEvidenceType(String)
    /// The runtime key is not a P-256 public JWK.
    case runtimeKeyInvalid(reason: String)
    /// The nonce has a length ``EvidenceBinding`` does not accept.
    case nonceLengthInvalid(Int)

    /// The SEV-SNP report or its AMD certificate chain did not verify.
    case snpVerificationFailed(SNPError)
    /// The evidence chains to an emulated root, which the verifier was not configured to accept.
    case emulatedRootNotAllowed(root: String)
    /// The attestation key's public area is not a usable restricted signing key.
    case attestationKeyInvalid(TPMVerificationError)
    /// No certificate vouches for the attestation key.
    case attestationKeyNotCertified(reason: String)
    /// The attestation key's certificate chain did not reach a trusted TPM root.
    case akCertificateChainInvalid(TPMVerificationError)
    /// The attestation key certificate certifies another key than the quote's attestation key.
    case akCertificateKeyMismatch
    /// The EK certificate's chain did not reach a trusted TPM root.
    case ekCertificateChainInvalid(TPMVerificationError)
    /// The Azure HCL report does not vouch for the vTPM attestation key: its REPORT_DATA does not
    /// commit to the runtime claims, or the claims hold no usable AK.
    case hclReportNotVerified(AzureCVMError)
    /// The TDX quote, its PCK chain or QE report did not verify, or its collateral does not apply
    /// (signature, dates, platform, TCB level).
    case tdxVerificationFailed(TDXError)

    /// The bundle answers another nonce than the one the verifier issued.
    case nonceMismatch(expected: [UInt8], actual: [UInt8])
    /// A signed binding field (REPORT_DATA, REPORTDATA, extraData) does not hold the value the
    /// nonce and runtime key bind to.
    case bindingMismatch(field: String, expected: [UInt8], actual: [UInt8])
    /// The expected binding names a field this evidence type does not have.
    case bindingNotApplicable(EvidenceType, binding: String)
    /// The bundle carries a runtime key but the binding was checked against a caller-supplied
    /// value, which does not cover the key.
    case runtimeKeyNotBound

    /// The TPM2_Quote did not verify.
    case quoteVerificationFailed(TPMVerificationError)

    /// The event log could not be parsed.
    case eventLogMalformed(EventLogError)
    /// An event's data does not hash to its digest, so its decoded content cannot be trusted.
    case eventLogEventDataMismatch(String)
    /// Replaying the event log gives another value than the quote holds for a PCR.
    case eventLogReplayMismatch(bank: String, index: Int, replayed: [UInt8], quoted: [UInt8])
    /// Replaying the CC event log gives another value than the TD report holds for RTMR[index].
    case eventLogRTMRMismatch(index: Int, replayed: [UInt8], reported: [UInt8])
    /// The event log extends a PCR the quote does not cover.
    case eventLogPCRNotQuoted(bank: String, index: Int)
    /// None of the banks the event log records is quoted.
    case eventLogBanksNotQuoted(logged: [String], quoted: [String])

    /// An appraisal policy could not be decoded.
    case policyInvalid(reason: String)
    /// Reference values could not be decoded.
    case referenceValuesInvalid(reason: String)

    /// The EAR signer's keys are unusable (none, or a repeated kid).
    case earSignerInvalid(reason: String)
    /// Signing an EAR failed.
    case earSigningFailed(reason: String)
    /// An EAR token did not verify or does not have the EAR shape.
    case earInvalid(reason: String)

    /// The pipeline step the failure belongs to.
    public var step: AttestationStep {
        switch self {
        case .bundleMalformed, .unsupportedBundleVersion, .unknownEvidenceType, .runtimeKeyInvalid, .nonceLengthInvalid:
            .evidence
        case .snpVerificationFailed, .emulatedRootNotAllowed, .attestationKeyInvalid, .attestationKeyNotCertified,
             .akCertificateChainInvalid, .akCertificateKeyMismatch, .ekCertificateChainInvalid, .hclReportNotVerified,
             .tdxVerificationFailed:
            .endorsement
        case .nonceMismatch, .bindingMismatch, .bindingNotApplicable, .runtimeKeyNotBound:
            .binding
        case .quoteVerificationFailed:
            .quote
        case .eventLogMalformed, .eventLogEventDataMismatch, .eventLogReplayMismatch, .eventLogRTMRMismatch,
             .eventLogPCRNotQuoted, .eventLogBanksNotQuoted:
            .eventLog
        case .policyInvalid, .referenceValuesInvalid:
            .policy
        case .earSignerInvalid, .earSigningFailed, .earInvalid:
            .result
        }
    }

    public var description: String {
        let step = self.step.rawValue.prefix(1).uppercased() + self.step.rawValue.dropFirst()
        return "\(step): \(self.sentence)"
    }

    private var sentence: String {
        switch self {
        case let .bundleMalformed(field, reason) where field == "(document)":
            "the evidence bundle is invalid: \(reason)."
        case let .bundleMalformed(field, reason):
            "the evidence bundle's member \(field) is invalid: \(reason)."
        case let .unsupportedBundleVersion(version):
            "the evidence bundle has version \(version); only version 1 is defined."
        case let .unknownEvidenceType(type):
            "the evidence type \"\(type)\" is not one of \(EvidenceType.allCases.map(\.rawValue).joined(separator: ", "))."
        case let .runtimeKeyInvalid(reason):
            "the runtime key is not a P-256 public JWK: \(reason)."
        case let .nonceLengthInvalid(length):
            "the nonce has \(length) bytes; it must have \(EvidenceBinding.nonceLengths.lowerBound) to \(EvidenceBinding.nonceLengths.upperBound)."
        case let .snpVerificationFailed(error):
            "the SEV-SNP report did not verify. \(error.description)"
        case let .emulatedRootNotAllowed(root):
            "the evidence chains to the emulated root \(root), and this verifier does not accept emulated roots."
        case let .attestationKeyInvalid(error):
            "the attestation key is unusable: \(error.description)."
        case let .attestationKeyNotCertified(reason):
            "no certificate vouches for the attestation key: \(reason)."
        case let .akCertificateChainInvalid(error):
            "the attestation key certificate does not chain to a trusted TPM root: \(error.description)."
        case .akCertificateKeyMismatch:
            "the attestation key certificate certifies another public key than the attestation key's public area."
        case let .ekCertificateChainInvalid(error):
            "the EK certificate does not chain to a trusted TPM root: \(error.description)."
        case let .hclReportNotVerified(error):
            "the HCL report does not vouch for the vTPM attestation key. \(error.description)"
        case let .tdxVerificationFailed(error):
            "the TDX quote did not verify. \(error.description)"
        case let .nonceMismatch(expected, actual):
            "the evidence answers the nonce \(ByteEncoding.hex(actual)), not the nonce \(ByteEncoding.hex(expected)) the verifier issued."
        case let .bindingMismatch(field, expected, actual):
            "\(field) is \(ByteEncoding.hex(actual)) but \(ByteEncoding.hex(expected)) was expected."
        case let .bindingNotApplicable(type, binding):
            "\(type.rawValue) evidence has no \(binding) to check."
        case .runtimeKeyNotBound:
            "the bundle carries a runtime key, but the binding was checked against a caller-supplied value that does not cover it."
        case let .quoteVerificationFailed(error):
            "the TPM2_Quote did not verify: \(error.description)."
        case let .eventLogMalformed(error):
            "the event log could not be parsed. \(error.description)"
        case let .eventLogEventDataMismatch(reason):
            "an event's data does not match its digest, so its content cannot be trusted. \(reason)"
        case let .eventLogReplayMismatch(bank, index, replayed, quoted):
            "replaying the event log gives PCR \(index) (\(bank)) = \(ByteEncoding.hex(replayed)), but the quote holds \(ByteEncoding.hex(quoted))."
        case let .eventLogRTMRMismatch(index, replayed, reported):
            "replaying the CC event log gives RTMR[\(index)] = \(ByteEncoding.hex(replayed)), but the TD report holds \(ByteEncoding.hex(reported))."
        case let .eventLogPCRNotQuoted(bank, index):
            "the event log extends PCR \(index) (\(bank)), which the quote does not cover."
        case let .eventLogBanksNotQuoted(logged, quoted):
            "the event log records the banks \(logged.joined(separator: ", ")) but the quote covers only \(quoted.joined(separator: ", "))."
        case let .policyInvalid(reason):
            "the appraisal policy is invalid: \(reason)."
        case let .referenceValuesInvalid(reason):
            "the reference values are invalid: \(reason)."
        case let .earSignerInvalid(reason):
            "the EAR signer cannot be built: \(reason)."
        case let .earSigningFailed(reason):
            "the EAR could not be signed: \(reason)."
        case let .earInvalid(reason):
            "the EAR is not valid: \(reason)."
        }
    }
}
