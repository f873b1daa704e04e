import ArgumentParser
import Attestation
import Authenticode
import EventLog
import Foundation
import PCRPrediction
import ReferenceValueDerivation
import SEVSNP
import EvidenceCore

/// `cvm reference-values`: a reference values document derived from artifacts — firmware images,
/// an event log and new boot files — instead of golden values copied from a running VM. Argument
/// handling and formatting only; the work is ``ReferenceValueSources`` in ReferenceValueDerivation.
struct ReferenceValuesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reference-values",
        abstract: "Derive reference values (docs/policy.md) from firmware images, event logs and boot files.",
        discussion: """
            Any number of sets, each begun by --ovmf or --event-log; the options after it belong to it.

            --ovmf FILE --vcpus N --vcpu-type TYPE [--guest-features HEX] [--kernel FILE [--initrd FILE] [--append TEXT]]
            An SEV-SNP launch under QEMU, with the options of `cvm snp measure` (--kernel, --initrd and --append are \
            QEMU's measured direct boot): its launch digest is added to snpMeasurements.

            --event-log LOG [--shim FILE] [--grub FILE] [--kernel FILE] [--initrd FILE]... [--file PATH=FILE]... \
            [--cmdline TEXT] [--uki FILE]
            A measured boot: the log of a boot of the same platform, and the new boot files, as `cvm pcr predict` takes \
            them. shim, GRUB and the kernel replace the boot applications the log loads for them (found by what GRUB \
            logs); the kernel and initrds replace GRUB's PCR 9 measurements of the files its linux and initrd commands \
            name, --file those of other logged paths; --uki replaces the last boot application and the PCR 11 sections. \
            The predicted PCRs (--pcrs, in every bank of the log) are added to pcrs, the boot applications' \
            Authenticode SHA-256 digests to bootFiles. PCR 7 is the log's: the new files must be signed by the same keys.

            The document goes to standard output (or --out), a summary to standard error.
            """)

    @Option(help: "An existing reference values document to add to: lists are merged, TCB minimums and policy flags never weaken.")
    var merge: String?

    @Option(help: "Write the document to this file instead of standard output.")
    var out: String?

    @Option(name: .customLong("min-tcb"), help: "The minimum SNP REPORTED_TCB: bootloader=N,tee=N,snp=N,microcode=N (and fmc=N on Turin).")
    var minimumTCB: String?

    @Flag(help: "Allow every SNP guest policy flag but debug (allowedSNPPolicyFlags).")
    var forbidDebug = false

    @Option(help: "The PCRs each measured boot gives values for, comma-separated.")
    var pcrs: String = MeasuredBoot.bootChainPCRs.map(String.init).joined(separator: ",")

    @Argument(parsing: .allUnrecognized, help: "The sets (see above).")
    var sets: [String] = []

    func validate() throws {
        if let minimumTCB, Self.minimumTCB(minimumTCB) == nil {
            throw ValidationError("--min-tcb takes NAME=N pairs, names fmc, bootloader, tee, snp, microcode and N 0-255, e.g. bootloader=4,tee=0,snp=22,microcode=213.")
        }
        let (launches, boots) = try self.parsedSets()
        if launches.isEmpty, boots.isEmpty, self.merge == nil, self.minimumTCB == nil, !self.forbidDebug {
            throw ValidationError("Give at least one --ovmf or --event-log set, or --merge, --min-tcb or --forbid-debug.")
        }
    }

    func run() throws {
        try reportingFailures {
            let (launches, boots) = try self.parsedSets()
            let sources = ReferenceValueSources(
                snpLaunches: try launches.map { try $0.launch() }, measuredBoots: try boots.map { try $0.measuredBoot() },
                pcrIndices: try pcrIndices(self.pcrs), minimumTCB: self.minimumTCB.flatMap(Self.minimumTCB), forbidDebug: self.forbidDebug)
            let existing = try self.merge.map { try ReferenceValues(json: try readBinaryFile($0)) } ?? ReferenceValues()
            let derived = try sources.derive(adding: existing)
            let json = try derived.document.jsonEncoded()
            if let out {
                try Data(json).write(to: URL(fileURLWithPath: out))
            } else {
                FileHandle.standardOutput.write(Data(json))
            }
            FileHandle.standardError.write(Data(Self.summary(derived, launches: launches, boots: boots, merged: self.merge, out: out).utf8))
        }
    }

    /// The sets in the unrecognized arguments, each begun by --ovmf or --event-log and parsed
    /// with its own options.
    private func parsedSets() throws -> (launches: [SNPMeasureCommand], boots: [BootOptions]) {
        var groups: [[String]] = []
        for argument in self.sets {
            if ["--ovmf", "--event-log"].contains(where: { argument == $0 || argument.hasPrefix($0 + "=") }) {
                groups.append([argument])
            } else if groups.isEmpty {
                throw ValidationError("\(argument) must follow an --ovmf or --event-log that begins its set.")
            } else {
                groups[groups.count - 1].append(argument)
            }
        }
        var launches: [SNPMeasureCommand] = []
        var boots: [BootOptions] = []
        for group in groups {
            do {
                if group[0].hasPrefix("--ovmf") {
                    launches.append(try SNPMeasureCommand.parse(group))
                } else {
                    boots.append(try BootOptions.parse(group))
                }
            } catch {
                let message = group[0].hasPrefix("--ovmf") ? SNPMeasureCommand.message(for: error) : BootOptions.message(for: error)
                throw ValidationError("In the set \(group.prefix(2).joined(separator: " ")): \(message)")
            }
        }
        return (launches, boots)
    }

    /// `bootloader=4,tee=0,...` as a minimum TCB; nil if malformed.
    private static func minimumTCB(_ text: String) -> SNPPolicy.MinimumTCB? {
        var minimum = SNPPolicy.MinimumTCB()
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: "=", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let value = UInt8(parts[1]) else { return nil }
            switch parts[0] {
            case "fmc": minimum.fmc = value
            case "bootloader": minimum.bootloader = value
            case "tee": minimum.tee = value
            case "snp": minimum.snp = value
            case "microcode": minimum.microcode = value
            default: return nil
            }
        }
        return minimum == SNPPolicy.MinimumTCB() ? nil : minimum
    }

    /// What each set gave and what the document holds, for standard error.
    private static func summary(
        _ derived: DerivedReferenceValues, launches: [SNPMeasureCommand], boots: [BootOptions], merged: String?, out: String?
    ) -> String {
        var lines: [String] = []
        for (launch, measurement) in zip(launches, derived.snpMeasurements) {
            let kernel = launch.kernel.map { ", kernel \($0)" } ?? ""
            lines.append("SNP launch \(launch.ovmf), \(launch.vcpus) × \(launch.vcpuType.rawValue), features 0x\(String(launch.guestFeatures, radix: 16))\(kernel): \(hexString(measurement))")
        }
        for (boot, result) in zip(boots, derived.measuredBoots) {
            let replaced = result.replacedBootApplications.map { "\($0.role.rawValue) (event \($0.event))" }
                + result.prediction.replacedFiles.map { "\($0.path) (event \($0.event))" }
            lines.append("boot \(boot.eventLog): replaced \(replaced.isEmpty ? "no file" : replaced.joined(separator: ", "))\(boot.cmdline == nil ? "" : " and the command line")")
            for (bank, values) in result.referenceValues.pcrs.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                for (index, value) in values.sorted(by: { $0.key < $1.key }) {
                    lines.append("  PCR \(index) \(bank): \(value.map { hexString($0) }.joined(separator: ", "))")
                }
            }
            lines.append("  boot files: \(result.referenceValues.bootFiles.map { hexString($0) }.joined(separator: ", "))")
        }
        let document = derived.document
        let pcrs = document.pcrs.sorted { $0.key.rawValue < $1.key.rawValue }.map { bank, values in
            "\(bank) \(values.keys.sorted().map(String.init).joined(separator: " "))"
        }
        var parts: [String] = []
        if !document.snpMeasurements.isEmpty { parts.append("\(document.snpMeasurements.count) SNP measurements") }
        if !pcrs.isEmpty { parts.append("PCRs \(pcrs.joined(separator: "; "))") }
        if !document.bootFiles.isEmpty { parts.append("\(document.bootFiles.count) boot files") }
        if let tcb = document.minimumTCB {
            let components = [("fmc", tcb.fmc), ("bootloader", tcb.bootloader), ("tee", tcb.tee), ("snp", tcb.snp), ("microcode", tcb.microcode)]
            parts.append("minimum TCB " + components.compactMap { name, value in value.map { "\(name) \($0)" } }.joined(separator: ", "))
        }
        if let flags = document.allowedSNPPolicyFlags {
            parts.append("SNP policy flags allowed: " + (flags.isEmpty ? "none" : SNPPolicyFlag.allCases.filter(flags.contains).map(\.rawValue).joined(separator: ", ")))
        }
        let added = merged.map { " (\($0) merged)" } ?? ""
        lines.append("document\(added): \(parts.isEmpty ? "empty" : parts.joined(separator: ", ")); written to \(out ?? "standard output")")
        return lines.joined(separator: "\n") + "\n"
    }
}

/// The options of one measured boot set of `cvm reference-values`.
struct BootOptions: ParsableArguments {
    @Option(help: "The binary event log of a boot of the same platform.")
    var eventLog: String

    @Option(help: "The new shim.")
    var shim: String?

    @Option(help: "The new GRUB.")
    var grub: String?

    @Option(help: "The new kernel.")
    var kernel: String?

    @Option(name: .customLong("initrd"), help: "A new initrd, in the order of GRUB's initrd command's paths (repeat the option).")
    var initrds: [String] = []

    @Option(name: .customLong("file"), help: "PATH=FILE: FILE replaces GRUB's PCR 9 measurements of the logged PATH (repeat the option).")
    var files: [String] = []

    @Option(help: "The new kernel command line (arguments only).")
    var cmdline: String?

    @Option(help: "The new unified kernel image.")
    var uki: String?

    func validate() throws {
        for file in files where !file.contains("=") {
            throw ValidationError("--file takes PATH=FILE, not \(file).")
        }
    }

    /// The measured boot, its files read.
    func measuredBoot() throws -> MeasuredBoot {
        let image = { (path: String) throws -> PEImage in try PEImage(bytes: try readBinaryFile(path)) }
        let files = try self.files.map { file in
            let separator = file.lastIndex(of: "=") ?? file.endIndex
            return BootFile(target: .path(String(file[..<separator])), contents: try readBinaryFile(String(file[file.index(after: separator)...])))
        }
        return MeasuredBoot(
            eventLog: try EventLog(bytes: try readBinaryFile(self.eventLog)), shim: try self.shim.map(image), grub: try self.grub.map(image),
            kernel: try self.kernel.map(readBinaryFile), initrds: try self.initrds.map(readBinaryFile), files: files,
            commandLine: self.cmdline, uki: try self.uki.map(image))
    }
}
