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
    /// A new kernel or initrd was given but the log has no GRUB command (`linux`, `initrd`) naming it.
    case noGRUBCommand(String)
    /// The log has no GRUB file measurement (PCR 9 EV_IPL) of this path.
    case noFileEvent(String)
    /// The UKI has a measured section more than once: multi-profile UKIs and `.dtbauto` sections
    /// for several devices, of which systemd-stub measures the ones it selects, are not predicted.
    case repeatedUKISection(String)
    /// The image given as a UKI has no `.linux` section, so systemd-stub would not boot it.
    case notAUKI
    /// A replacement names a boot application position the log does not have.
    case noBootApplication(position: Int, bootApplications: Int)
    /// The UKI replaces the last boot application, which an image already replaces.
    case bootApplicationReplacedTwice(position: Int)

    public var description: String {
        switch self {
        case let .tooManyImages(given, bootApplications):
            return "\(given) replacement images, but the log loads only \(bootApplications) boot applications."
        case let .unsupportedBank(bank):
            return "The log records the \(bank) bank, for which no Authenticode digest can be computed."
        case .noCommandLineEvents:
            return "The log has no kernel command line event (GRUB kernel_cmdline/linux EV_IPL, systemd-stub UTF-16 EV_IPL) whose digest is the hash of its data."
        case let .noGRUBCommand(command):
            return "The log has no GRUB \(command) command naming the file to replace."
        case let .noFileEvent(path):
            return "The log has no GRUB file measurement (PCR 9 EV_IPL) of \(path)."
        case let .repeatedUKISection(name):
            return "The UKI has more than one \(name) section; multi-profile and multi-devicetree UKIs are not predicted."
        case .notAUKI:
            return "The UKI has no .linux section, so systemd-stub would not boot it."
        case let .noBootApplication(position, bootApplications):
            return "A replacement for boot application \(position + 1), but the log loads only \(bootApplications) boot applications."
        case let .bootApplicationReplacedTwice(position):
            return "Boot application \(position + 1) is the last one, which the UKI replaces, and an image replaces it too."
        }
    }
}

/// The register values the next boot will produce when the boot applications the log records
/// (shim, grub, the kernel's EFI stub…), the files GRUB reads, the kernel command line or the
/// unified kernel image are replaced and nothing else changes.
///
/// UEFI firmware measures each image it loads from a boot option as an
/// EV_EFI_BOOT_SERVICES_APPLICATION event whose digest, in every bank, is the image's Authenticode
/// digest with that bank's algorithm (PFP v1.06 §3.3.4.5 and §10.4.4; in a TDX CCEL the same
/// events extend RTMR[1]). The prediction replaces those digests, in log order, with the new images'
/// digests, rewrites GRUB's PCR 9 file measurements (`GRUBFiles`), the command line events
/// (`KernelCommandLine`) and systemd-stub's PCR 11 section measurements (`UnifiedKernelImage`),
/// and replays the log. Everything else is assumed unchanged, in particular PCR 7's Secure Boot
/// authority events (the same db entries must authorize the new images).
public struct PCRPrediction: Sendable {
    /// One register before and after.
    public struct Register: Sendable, Equatable {
        public var bank: TPMAlgorithm
        public var index: UInt32
        public var current: [UInt8]
        public var predicted: [UInt8]
        public var changed: Bool { current != predicted }
    }

    /// The log with the replaced boot application digests, file, command line and UKI events.
    public var predictedLog: EventLog
    /// The GRUB file measurements whose digests were replaced.
    public var replacedFiles: [ReplacedFile]
    /// The replay of the original log.
    public var current: PCRValues
    /// The replay of `predictedLog`.
    public var predicted: PCRValues
    /// Every register either log extends, ordered by index then bank.
    public var registers: [Register]
    /// The registers whose values differ, ordered by index then bank.
    public var changes: [Register]

    /// Replaces the digests of the first `images.count` EV_EFI_BOOT_SERVICES_APPLICATION events,
    /// in log order, by the Authenticode digests of `images`; with `commandLine`, rewrites the
    /// kernel command line events (see `KernelCommandLine`); replaces the digests of GRUB's
    /// measurements of `files` (see `GRUBFiles`); with `uki`, replaces the last boot application's
    /// digests by the UKI's and systemd-stub's PCR 11 events (any the log has) by the UKI's section
    /// measurements (see `UnifiedKernelImage`); then replays both logs. A register the log does
    /// not extend but the prediction does (PCR 11 for a first UKI) is reported from zero.
    public init(
        log: EventLog, replacing images: [PEImage], commandLine: String? = nil, files: [BootFile] = [], uki: PEImage? = nil,
        registers: MeasurementRegisters = .tpmPCRs
    ) throws(PCRPredictionError) {
        let bootApplications = log.events.count { $0.eventType == .efiBootServicesApplication }
        let loaded = images.count + (uki == nil ? 0 : 1)
        guard loaded <= bootApplications else {
            throw .tooManyImages(given: loaded, bootApplications: bootApplications)
        }
        try self.init(log: log, replacingBootApplications: Dictionary(uniqueKeysWithValues: images.enumerated().map { ($0.offset, $0.element) }),
                      commandLine: commandLine, files: files, uki: uki, registers: registers)
    }

    /// As ``init(log:replacing:commandLine:files:uki:registers:)``, but each image replaces the boot
    /// application at its position among the log's EV_EFI_BOOT_SERVICES_APPLICATION events (0 for
    /// the first), so that a file can be replaced wherever the log loads it: shim after a firmware
    /// application, a kernel GRUB has the firmware load twice.
    public init(
        log: EventLog, replacingBootApplications replacements: [Int: PEImage], commandLine: String? = nil, files: [BootFile] = [],
        uki: PEImage? = nil, registers: MeasurementRegisters = .tpmPCRs
    ) throws(PCRPredictionError) {
        let bootApplications = log.events.indices.filter { log.events[$0].eventType == .efiBootServicesApplication }
        var loaded = replacements
        if let uki {
            guard let last = bootApplications.indices.last else { throw .tooManyImages(given: loaded.count + 1, bootApplications: 0) }
            guard loaded[last] == nil else { throw .bootApplicationReplacedTwice(position: last) }
            loaded[last] = uki
        }
        if let position = loaded.keys.sorted().first(where: { !bootApplications.indices.contains($0) }) {
            throw .noBootApplication(position: position, bootApplications: bootApplications.count)
        }
        var edited = log
        for (position, image) in loaded.map({ (bootApplications[$0.key], $0.value) }) {
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
        if let uki, let position = bootApplications.last {
            let register: UInt32 = registers == .tpmPCRs ? 11 : 3
            let events = try UnifiedKernelImage.events(for: uki, template: edited.events[position], register: register)
            let old = edited.events.indices.filter { UnifiedKernelImage.isSectionMeasurement(edited.events[$0], register: register) }
            edited.events.removeAll { UnifiedKernelImage.isSectionMeasurement($0, register: register) }
            edited.events.insert(contentsOf: events, at: old.first ?? position + 1)
            for position in edited.events.indices {
                edited.events[position].index = position
            }
        }
        replacedFiles = try GRUBFiles.rewrite(&edited, files, register: registers == .tpmPCRs ? 9 : 3)
        predictedLog = edited
        current = log.replay(registers: registers).values
        predicted = edited.replay(registers: registers).values
        var rows: [Register] = []
        for (bank, values) in predicted.banks {
            for (index, value) in values {
                let old = current[bank, index] ?? [UInt8](repeating: 0, count: value.count)
                rows.append(Register(bank: bank, index: index, current: old, predicted: value))
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
