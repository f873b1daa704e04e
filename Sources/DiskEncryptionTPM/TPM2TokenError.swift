import DiskEncryption
import TPMClient

/// Why a volume could not be enrolled in, or unlocked by, a TPM2 token.
public enum TPM2TokenError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A TPM command failed.
    case tpm(TPMClientError)
    /// The LUKS2 part (keyslot, header write, passphrase check) failed.
    case luks(LUKS2Error)
    /// The volume has no `systemd-tpm2` token.
    case noToken
    /// A `systemd-tpm2` token is malformed or uses a feature this implementation does not handle
    /// (PIN, signed PCR policy, pcrlock, a bank other than SHA-256, an RSA primary).
    case invalidToken(String)
    /// The PCRs listed hold values other than those the secret was sealed to; the TPM would
    /// refuse TPM2_Unseal (TPM 2.0 Part 3 §23.7: the policy digest would not match).
    case pcrMismatch([Int])
    /// The TPM refused to unseal under PolicyPCR over `pcrs`, and the token records no sealed
    /// values to tell which of them changed (a token written by systemd-cryptenroll).
    case policyRefused(pcrs: [Int])
    /// The token's secret is sealed to a PIN and none was given.
    case pinRequired
    /// The TPM refused the PIN (TPM_RC_AUTH_FAIL); `triesLeft` more failures are allowed before
    /// the TPM's dictionary-attack lockout, when the TPM reports it.
    case wrongPIN(triesLeft: Int?)
    /// The TPM is in dictionary-attack lockout (TPM_RC_LOCKOUT, Part 1 §19.8) and refuses every
    /// PIN until a failure is forgotten, `recoverySeconds` after the last one.
    case dictionaryAttackLockout(recoverySeconds: Int?)
    /// The token's policy admits PolicyPCR digests of `pcrs` signed by its key, and no signature
    /// was given for `policy`, the digest of their current values.
    case noSignature(pcrs: [Int], policy: [UInt8])
    /// The TPM refused the signature of the PCR policy (TPM_RC_SIGNATURE): it was not made by
    /// the token's key over that policy.
    case signatureRefused(pcrs: [Int])
    /// Every `systemd-tpm2` token failed; the reason for each, by token id.
    case tokensRefused([Int: TPM2TokenError])
    /// A prediction was asked for PCRs the event log does not extend: their values at the next
    /// boot depend on measurements the log does not record.
    case unpredictablePCRs([Int])
    /// The replay of the event log differs from the TPM's values of these PCRs: the log does not
    /// describe this boot, so a prediction from it would seal to values no boot produces.
    case eventLogMismatch([Int])
    /// A commit was asked for, but no `systemd-tpm2` token is sealed to the PCR values the TPM
    /// holds now and opens the volume, so removing the others could lock the volume.
    case noCurrentToken
    case invalidArgument(String)

    /// Whether the failure is (or, for several tokens, includes) a token that needs a PIN none was
    /// given for: asking for the PIN and trying again may succeed.
    public var isPINRequired: Bool {
        switch self {
        case .pinRequired: true
        case .tokensRefused(let failures): failures.values.contains(.pinRequired)
        default: false
        }
    }

    public var description: String {
        switch self {
        case .tpm(let error): "\(error)"
        case .luks(let error): "\(error)"
        case .noToken: "the volume has no systemd-tpm2 token"
        case .invalidToken(let reason): "systemd-tpm2 token: \(reason)"
        case .pcrMismatch(let pcrs): "PCR \(Self.list(pcrs)) changed since the secret was sealed; unlock refused"
        case .policyRefused(let pcrs): "the TPM refused to unseal: PCR \(Self.list(pcrs)) no longer match the sealed policy"
        case .pinRequired: "the token is sealed to a PIN; give the PIN"
        case .wrongPIN(let triesLeft):
            "wrong PIN: the TPM refused it" + (triesLeft.map { "; \($0) more failures before its dictionary-attack lockout" } ?? "")
        case .dictionaryAttackLockout(let seconds):
            "the TPM is in dictionary-attack lockout after too many wrong PINs and refuses every PIN"
                + (seconds.map { "; one failure is forgotten every \($0) s" } ?? "")
        case .noSignature(let pcrs, let policy):
            "no signature by the token's key for PCR \(Self.list(pcrs)) with their current values (PolicyPCR \(SystemdTPM2Token.hex(policy)))"
        case .signatureRefused(let pcrs): "the TPM refused the signature for PCR \(Self.list(pcrs)): not made by the token's key"
        case .tokensRefused(let failures):
            "no systemd-tpm2 token unlocks the volume: "
                + failures.sorted { $0.key < $1.key }.map { "token \($0.key): \($0.value)" }.joined(separator: "; ")
        case .unpredictablePCRs(let pcrs):
            "the event log does not extend PCR \(Self.list(pcrs)), so its value at the next boot cannot be predicted"
        case .eventLogMismatch(let pcrs):
            "the event log's replay differs from the TPM's PCR \(Self.list(pcrs)): the log does not describe this boot"
        case .noCurrentToken:
            "no systemd-tpm2 token sealed to the PCR values the TPM holds now opens the volume; nothing was removed"
        case .invalidArgument(let reason): reason
        }
    }

    private static func list(_ pcrs: [Int]) -> String {
        pcrs.map(String.init).joined(separator: ", ")
    }
}
