import struct Attestation.ReferenceValues
import Authenticode
import EventLog
import PCRPrediction
import TPM2

/// A measured boot to derive PCR reference values for: the TCG event log of a boot of the same
/// platform (its firmware, secure boot variables and boot order) and the boot files that replace
/// the ones that log records, as `cvm pcr predict` takes them.
///
/// The values come from ``PCRPrediction``: shim, GRUB and the kernel replace the boot applications
/// that ``BootChainLayout`` finds for them (their Authenticode digests in every bank, PFP v1.06
/// §10.4.4); the kernel and initrds replace GRUB's PCR 9 measurements of the files its `linux` and
/// `initrd` commands name, `files` the measurements of other logged paths; the command line
/// rewrites GRUB's and systemd-stub's command line events; a UKI replaces the last boot
/// application and systemd-stub's PCR 11 section measurements. Everything else in the log is
/// assumed unchanged, in particular PCR 7's secure boot authorities: the new files must be signed
/// by the same db and shim vendor certificates as the old ones.
public struct MeasuredBoot: Sendable {
    /// The log the new boot's measurements are predicted from.
    public var eventLog: EventLog
    /// The new shim.
    public var shim: PEImage?
    /// The new GRUB.
    public var grub: PEImage?
    /// The new kernel: a PE/COFF image (EFI stub) when the log loads it as a boot application.
    public var kernel: [UInt8]?
    /// The new initrds, in the order of GRUB's `initrd` command's paths.
    public var initrds: [[UInt8]]
    /// Other files GRUB reads (grub.cfg, grubenv), found by their logged path.
    public var files: [BootFile]
    /// The new kernel command line (arguments only).
    public var commandLine: String?
    /// The new unified kernel image.
    public var uki: PEImage?

    /// The PCRs the boot chain determines (TCG PC Client PFP v1.06 §3.3.4): 4 the boot
    /// applications, 7 the secure boot policy and authorities, 8 GRUB's commands and the command
    /// line, 9 the files GRUB reads, 11 a UKI's sections.
    public static let bootChainPCRs = [4, 7, 8, 9, 11]

    /// A boot of `eventLog`'s platform with the given files replaced.
    public init(
        eventLog: EventLog, shim: PEImage? = nil, grub: PEImage? = nil, kernel: [UInt8]? = nil, initrds: [[UInt8]] = [],
        files: [BootFile] = [], commandLine: String? = nil, uki: PEImage? = nil
    ) {
        self.eventLog = eventLog
        self.shim = shim
        self.grub = grub
        self.kernel = kernel
        self.initrds = initrds
        self.files = files
        self.commandLine = commandLine
        self.uki = uki
    }

    /// The reference values this boot gives: for each bank of the log that reference values can
    /// hold (SHA-1, SHA-256, SHA-384, SHA-512), the predicted value of each of `indices` the
    /// predicted log extends, and as boot files the SHA-256 Authenticode digests of every boot
    /// application the new boot loads — the replacements and any the log loads besides them.
    public func referenceValues(pcrs indices: [Int] = Self.bootChainPCRs) throws(ReferenceValueDerivationError) -> DerivedMeasuredBoot {
        if let index = indices.first(where: { !(0...23).contains($0) }) { throw .pcrIndexOutOfRange(index) }
        guard self.shim != nil || self.grub != nil || self.kernel != nil || !self.initrds.isEmpty || !self.files.isEmpty
            || self.commandLine != nil || self.uki != nil else { throw .noReplacement }
        if self.kernel != nil, self.uki != nil { throw .kernelAndUKI }

        let layout = BootChainLayout(self.eventLog)
        var images: [(BootApplicationRole, PEImage)] = []
        if let shim { images.append((.shim, shim)) }
        if let grub { images.append((.grub, grub)) }
        if let kernel, layout.positions[.kernel]?.isEmpty == false {
            do { images.append((.kernel, try PEImage(bytes: kernel))) } catch { throw .kernelNotEFIApplication(error) }
        }
        var replacements: [Int: PEImage] = [:]
        var replaced: [BootApplicationRole: [Int]] = [:]
        for (role, image) in images {
            guard let positions = layout.positions[role], !positions.isEmpty else { throw .noBootApplication(role) }
            for position in positions { replacements[position] = image }
            replaced[role] = positions
        }
        let grubFiles = (self.kernel.map { [BootFile(target: .kernel, contents: $0)] } ?? [])
            + self.initrds.map { BootFile(target: .initrd, contents: $0) } + self.files
        let prediction: PCRPrediction
        do {
            prediction = try PCRPrediction(
                log: self.eventLog, replacingBootApplications: replacements, commandLine: self.commandLine, files: grubFiles, uki: self.uki)
        } catch {
            throw .prediction(error)
        }

        var pcrs: [TPMAlgorithmID: [Int: [[UInt8]]]] = [:]
        for (bank, values) in prediction.predicted.banks {
            let id = TPMAlgorithmID(rawValue: bank.rawValue)
            guard TPMHashAlgorithm(id) != nil else { continue }
            for index in indices {
                if let value = values[UInt32(index)] { pcrs[id, default: [:]][index] = [value] }
            }
        }
        guard !pcrs.isEmpty else { throw .noPCRs(indices) }

        let bootApplications = prediction.predictedLog.events.filter { $0.eventType == .efiBootServicesApplication }
        if self.uki != nil { replaced[.uki] = [bootApplications.count - 1] }
        // A log without a SHA-256 bank has no SHA-256 digests of the applications it keeps; those
        // it replaces are hashed here.
        let loaded = images.map(\.1) + (self.uki.map { [$0] } ?? [])
        var bootFiles: [[UInt8]] = []
        for digest in bootApplications.compactMap({ $0.digest(.sha256) }) + loaded.map({ $0.authenticodeDigest(.sha256) })
        where !bootFiles.contains(digest) {
            bootFiles.append(digest)
        }
        let events = self.eventLog.events.filter { $0.eventType == .efiBootServicesApplication }.map(\.index)
        return DerivedMeasuredBoot(
            referenceValues: ReferenceValues(pcrs: pcrs, bootFiles: bootFiles), prediction: prediction,
            replacedBootApplications: replaced.flatMap { role, positions in positions.map { ReplacedBootApplication(event: events[$0], role: role) } }
                .sorted { $0.event < $1.event })
    }
}

/// The reference values one ``MeasuredBoot`` gives, and how they came about.
public struct DerivedMeasuredBoot: Sendable {
    /// The predicted PCRs (one value each) and the boot applications' SHA-256 Authenticode digests.
    public var referenceValues: ReferenceValues
    /// The prediction behind them: the predicted log, the GRUB file measurements it replaced, and
    /// every register before and after.
    public var prediction: PCRPrediction
    /// The log's boot applications that a replacement took the place of, in log order.
    public var replacedBootApplications: [ReplacedBootApplication]
}

/// One boot application of the log and the file that replaced it.
public struct ReplacedBootApplication: Sendable, Equatable {
    /// The event's position in the log.
    public var event: Int
    /// Which file replaced it.
    public var role: BootApplicationRole
}
