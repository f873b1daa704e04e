import Foundation

/// Every way storing or releasing a secret can fail. The descriptions never contain secret
/// material: they name the secret, the field or the step, not the value.
public enum KeyBrokerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The operator's master key is not 32 bytes (raw, 64 hex digits or base64).
    case masterKeyInvalid(reason: String)
    /// A sealed secret could not be opened: the master key is wrong or the record was altered.
    case envelopeUnreadable(secret: String)
    /// A stored envelope is not in the format this library writes.
    case envelopeMalformed(secret: String, reason: String)
    /// The recipient key a VM offered is not a P-256 public key in a form we read.
    case recipientKeyInvalid(reason: String)
    /// HPKE could not seal or open a released secret.
    case releaseFailed(reason: String)
    /// A secret name is empty, too long, or uses characters outside `[A-Za-z0-9._-]`.
    case secretNameInvalid(String)
    /// A secret value is empty or larger than ``SecretEnvelope/maximumValueSize``.
    case secretValueSize(Int)

    public var description: String {
        switch self {
        case .masterKeyInvalid(let reason): "the master key is unusable: \(reason)"
        case .envelopeUnreadable(let secret): "secret \"\(secret)\" cannot be opened: wrong master key, or the stored record was altered"
        case .envelopeMalformed(let secret, let reason): "secret \"\(secret)\" is stored in an unknown format: \(reason)"
        case .recipientKeyInvalid(let reason): "the runtime key is not a usable P-256 public key: \(reason)"
        case .releaseFailed(let reason): "the secret could not be wrapped for release: \(reason)"
        case .secretNameInvalid(let name): "secret name \"\(name.prefix(80))\" is invalid: use 1 to 128 characters from A-Z a-z 0-9 . _ -"
        case .secretValueSize(let size): "a secret value must be 1 to \(SecretEnvelope.maximumValueSize) bytes, not \(size)"
        }
    }
}
