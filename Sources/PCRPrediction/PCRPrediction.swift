import Authenticode
import EventLog

/// Why a prediction could not be made.
public enum PCRPredictionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// More replacement images than the log has EV_EFI_BOOT_SERVICES_APPLICATION events.
    case tooManyImages(given: Int, bootApplications: Int)
    /// A bank the log records has no Authenticode digest (SM3_256, or an unknown algorithm).
    case unsupportedBank(TPMAlgorithm)
    /// A new kernel command line was given but the log measures none that can be rewritten.
    case noCommandLineEvents

    public var description: String {
        switch self {
        case let .tooManyImages(given, bootApplications):
            return "\(given) replacement images, but the log loads only \(bootApplications) boot applications."
        case let .unsupportedBank(bank):
            return "The log records the \(bank) bank, for which no Authenticode digest can be computed."
        case .noCommandLineEvents:
            return "The log has no kernel command line event (GRUB kernel_cmdline/linux EV_IPL, systemd-stub UTF-16 EV_IPL) whose digest is the hash of its data."
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
/// command-line and file events unless a new kernel command line is given.
public struct PCRPrediction: Sendable {
    /// One register before and after.
    public struct Register: Sendable, Equatable {
        public var bank: TPMAlgorithm
        public var index: UInt32
        public var current: [UInt8]
        public var predicted: [UInt8]
        public var changed: Bool { current != predicted }
    }

    /// The log with the replaced boot application digests (and command line events).
    public var predictedLog: EventLog
    /// The replay of the original log.
    public var current: PCRValues
    /// The replay of `predictedLog`.
    public var predicted: PCRValues
    /// Every register the log extends, ordered by index then bank.
    public var registers: [Register]
    /// The registers whose values differ, ordered by index then bank.
    public var changes: [Register]

    /// Replaces the digests of the first `images.count` EV_EFI_BOOT_SERVICES_APPLICATION events,
    /// in log order, by the Authenticode digests of `images`; with `commandLine`, rewrites the
    /// kernel command line events (see `KernelCommandLine`) with it; then replays both logs.
    public init(
        log: EventLog, replacing images: [PEImage], commandLine: String? = nil, registers: MeasurementRegisters = .tpmPCRs
    ) throws(PCRPredictionError) {
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
        if let commandLine {
            guard KernelCommandLine.rewrite(&edited, to: commandLine) else { throw .noCommandLineEvents }
        }
        predictedLog = edited
        current = log.replay(registers: registers).values
        predicted = edited.replay(registers: registers).values
        var rows: [Register] = []
        for (bank, values) in predicted.banks {
            for (index, value) in values {
                if let old = current[bank, index] {
                    rows.append(Register(bank: bank, index: index, current: old, predicted: value))
                }
            }
        }
        rows.sort { ($0.index, $0.bank) < ($1.index, $1.bank) }
        self.registers = rows
        changes = rows.filter(\.changed)
    }

    /// The indices of the registers that change, in order.
    public var changedRegisters: [UInt32] {
        changes.map(\.index).reduce(into: []) { indices, index in
            if indices.last != index { indices.append(index) }
        }
    }
}
