import AzureCVM
import DiskEncryptionTPM
import EventLog
import PCRPrediction
import SEVSNP
import TPMClient

/// Why the emulated platform could not launch a VM or hand out its evidence. Each case names the
/// step that failed and carries the error of the library that failed it.
public enum EmulatedPlatformError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A boot file could not be read or is not a PE image.
    case bootFile(path: String, reason: String)
    /// The launch options are inconsistent.
    case invalidConfiguration(String)
    /// The emulated Secure Processor could not build its chain or sign a report.
    case secureProcessor(SNPError)
    /// A saved emulated host (``EmulatedHostDirectory``) is malformed or its keys do not match.
    case hostFile(path: String, SNPError)
    /// The firmware image could not be measured.
    case firmware(SNPMeasurementError)
    /// The emulated platform key (PK, KEK) could not be made.
    case firmwareKeys(reason: String)
    /// A vTPM command of the named step failed.
    case tpm(step: String, TPMClientError)
    /// The event log could not be written.
    case eventLog(EventLogError)
    /// The boot measurements could not be computed.
    case measurement(PCRPredictionError)
    /// The HCL report could not be built.
    case hclReport(AzureCVMError)
    /// The disk could not be formatted or enrolled.
    case disk(TPM2TokenError)
    /// A file could not be written.
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case let .bootFile(path, reason): "Cannot use the boot file \(path): \(reason)."
        case let .invalidConfiguration(reason): "The launch options are inconsistent: \(reason)."
        case let .secureProcessor(error): "The emulated AMD Secure Processor failed: \(error)"
        case let .hostFile(path, error): "The emulated host in \(path) cannot be restored: \(error)"
        case let .firmware(error): "The firmware image cannot be measured: \(error)"
        case let .firmwareKeys(reason): "The emulated platform key cannot be made: \(reason)."
        case let .tpm(step, error): "The vTPM refused a command while \(step): \(error)"
        case let .eventLog(error): "The event log cannot be written: \(error)"
        case let .measurement(error): "The boot measurements cannot be computed: \(error)"
        case let .hclReport(error): "The HCL report cannot be built: \(error)"
        case let .disk(error): "The disk cannot be provisioned: \(error)"
        case let .io(path, reason): "Cannot write \(path): \(reason)."
        }
    }
}
