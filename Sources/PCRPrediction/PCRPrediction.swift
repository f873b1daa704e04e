import Authenticode
import EventLog

/// Why a prediction could not be made.
public enum PCRPredictionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// More replacement images than the log has EV_EFI_BOOT_SERVICES_APPLICATION events.
    case tooManyImages(given: Int, bootApplications: Int)
    /// A bank the log records has no Authenticode digest (SM3_256, or an unknown algorithm).
    case unsupportedBank(TPMAlgorithm)

    public var description: String {
        switch self {
        case let .tooManyImages(given, bootApplications):
            return "\(given) replacement images, but the log loads only \(bootApplications) boot applications."
        case let .unsupportedBank(bank):
            return "The log records the \(bank) bank, for which no Authenticode digest can be computed."
        }
    }
}

/// The register values the next boot will produce when the boot applications the log records
/// (shim, grub, the kernel's EFI stub…) are replaced by new images and nothing else changes.
///
/// UEFI firmware measures each image it loads from a boot option as an
/// EV_EFI_BOOT_SERVICES_APPLICATION event whose digest, in every bank, is the image's Authenticode
/// digest with that bank's algorithm (PFP v1.06 §3.3.4.5 and §10.4.4; in a TDX CCEL the same
/// events extend RTMR[1]). The prediction replaces those digests, in log order, with the new images'
/// digests and replays the log. Everything else is assumed unchanged: PCR 7's Secure Boot
/// authority events (the same db entries must authorize the new images), and grub's PCR 8/9
/// command-line and file events.
public struct PCRPrediction: Sendable {
    /// One register whose value changes.
    public struct Change: Sendable, Equatable {
        public var bank: TPMAlgorithm
        public var index: UInt32
        public var current: [UInt8]
        public var predicted: [UInt8]
    }

    /// The log with the replaced boot application digests.
    public var predictedLog: EventLog
    /// The replay of the original log.
    public var current: PCRValues
    /// The replay of `predictedLog`.
    public var predicted: PCRValues
    /// The registers whose values differ, ordered by index then bank.
    public var changes: [Change]

    /// Replaces the digests of the first `images.count` EV_EFI_BOOT_SERVICES_APPLICATION events,
    /// in log order, by the Authenticode digests of `images`, and replays both logs.
    public init(log: EventLog, replacing images: [PEImage], registers: MeasurementRegisters = .tpmPCRs) throws(PCRPredictionError) {
        let bootApplications = log.events.indices.filter { log.events[$0].eventType == .efiBootServicesApplication }
        guard images.count <= bootApplications.count else {
            throw .tooManyImages(given: images.count, bootApplications: bootApplications.count)
        }
        var edited = log
        for (position, image) in zip(bootApplications, images) {
            var digests: [TCGDigest] = []
            for digest in log.events[position].digests {
                guard let algorithm = AuthenticodeHashAlgorithm(rawValue: digest.algorithm.description) else {
                    throw .unsupportedBank(digest.algorithm)
                }
                digests.append(TCGDigest(algorithm: digest.algorithm, bytes: image.authenticodeDigest(algorithm)))
            }
            edited.events[position].digests = digests
        }
        predictedLog = edited
        current = log.replay(registers: registers).values
        predicted = edited.replay(registers: registers).values
        changes = []
        for (bank, values) in predicted.banks.sorted(by: { $0.key < $1.key }) {
            for (index, value) in values {
                if let old = current[bank, index], old != value {
                    changes.append(Change(bank: bank, index: index, current: old, predicted: value))
                }
            }
        }
        changes.sort { ($0.index, $0.bank.rawValue) < ($1.index, $1.bank.rawValue) }
    }

    /// The indices of the registers that change, in order.
    public var changedRegisters: [UInt32] {
        changes.map(\.index).reduce(into: []) { indices, index in
            if indices.last != index { indices.append(index) }
        }
    }
}
