import Authenticode
import PCRPrediction
import SEVSNP

/// Why reference values could not be derived from the artifacts given.
public enum ReferenceValueDerivationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The SEV-SNP launch digest of the SNP launch with this number (1 for the first) cannot be computed.
    case snpLaunch(number: Int, SNPMeasurementError)
    /// The measured boot with this number (1 for the first) cannot be derived.
    indirect case measuredBoot(number: Int, ReferenceValueDerivationError)
    /// A measured boot names no file to replace, so its values would be the log's own: copied
    /// from a running VM, which is what derivation exists to avoid.
    case noReplacement
    /// A replacement for a boot application the log does not load.
    case noBootApplication(BootApplicationRole)
    /// Both a kernel and a unified kernel image, which is the kernel, were given.
    case kernelAndUKI
    /// The log loads the kernel as a boot application, so it must be a PE/COFF image.
    case kernelNotEFIApplication(AuthenticodeError)
    /// The prediction of the boot's register values failed.
    case prediction(PCRPredictionError)
    /// A requested PCR index is outside 0–23.
    case pcrIndexOutOfRange(Int)
    /// The predicted log extends none of the requested PCRs in any bank reference values can hold.
    case noPCRs([Int])

    public var description: String {
        switch self {
        case let .snpLaunch(number, error):
            return "SNP launch \(number): \(error)"
        case let .measuredBoot(number, error):
            return "Boot \(number): \(error)"
        case .noReplacement:
            return "A boot needs at least one replacement file (shim, GRUB, kernel, initrd, GRUB file, command line or UKI); the log's own values would be golden values copied from a running VM."
        case .noBootApplication(.shim):
            return "The log loads no boot application before GRUB's, so there is no shim to replace."
        case .noBootApplication(.grub):
            return "The log has no GRUB measurements (grub_cmd EV_IPL events) after a boot application, so there is no GRUB to replace."
        case let .noBootApplication(role):
            return "The log loads no boot application that is the \(role.rawValue)."
        case .kernelAndUKI:
            return "A kernel and a UKI were both given; a UKI is the kernel."
        case let .kernelNotEFIApplication(error):
            return "The log loads the kernel as a boot application (EV_EFI_BOOT_SERVICES_APPLICATION after GRUB's linux command), but the kernel is not a PE/COFF image: \(error)"
        case let .prediction(error):
            return error.description
        case let .pcrIndexOutOfRange(index):
            return "PCR \(index) is not an index 0-23."
        case let .noPCRs(indices):
            return "The log extends none of PCRs \(indices.map(String.init).joined(separator: ", ")) in a SHA-1, SHA-256, SHA-384 or SHA-512 bank."
        }
    }
}
