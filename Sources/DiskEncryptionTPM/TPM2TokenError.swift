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
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .tpm(let error): "\(error)"
        case .luks(let error): "\(error)"
        case .noToken: "the volume has no systemd-tpm2 token"
        case .invalidToken(let reason): "systemd-tpm2 token: \(reason)"
        case .pcrMismatch(let pcrs): "PCR \(pcrs.map(String.init).joined(separator: ", ")) changed since the secret was sealed; unlock refused"
        case .policyRefused(let pcrs): "the TPM refused to unseal: PCR \(pcrs.map(String.init).joined(separator: ", ")) no longer match the sealed policy"
        case .invalidArgument(let reason): reason
        }
    }
}
