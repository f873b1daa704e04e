import ArgumentParser
import Authenticode
import EventLog
import Foundation
import PCRPrediction
import EvidenceCore

/// `cvm pcr`: register values the next boot will produce. The prediction is in PCRPrediction.
struct PCRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pcr",
        abstract: "Predict PCR (or TDX RTMR) values from an event log.",
        subcommands: [Predict.self]
    )

    struct Predict: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Predict the register values of the next boot when the log's boot files change.",
            discussion: """
            The images replace the log's EV_EFI_BOOT_SERVICES_APPLICATION events in order (shim, grub, kernel…); \
            --cmdline rewrites GRUB's kernel_cmdline/linux EV_IPL events and systemd-stub's UTF-16 EV_IPL command line; \
            --kernel, --initrd and --file replace the digests of GRUB's PCR 9 file measurements, found by the logged path; \
            --uki replaces the last boot application and recomputes systemd-stub's PCR 11 section measurements. \
            All other events are kept. Prints every register either log extends: current, predicted, changed.
            """
        )

        @Argument(help: "The binary event log of the current boot.")
        var log: String

        @OptionGroup var inputs: PredictionInputs

        @Flag(help: "The log is a TDX CCEL: indices 1-4 are RTMR[0-3].")
        var tdx = false

        @Flag(help: "Print JSON.")
        var json = false

        func validate() throws {
            if inputs.isEmpty { throw PredictionInputs.missing }
        }

        func run() throws {
            let registers: MeasurementRegisters = tdx ? .tdxRTMRs : .tpmPCRs
            let prediction = try inputs.prediction(log: log, registers: registers)
            if json {
                let rows: [[String: Any]] = prediction.registers.map {
                    ["register": registers.name(of: $0.index), "index": $0.index, "bank": $0.bank.description,
                     "current": hexString($0.current), "predicted": hexString($0.predicted), "changed": $0.changed]
                }
                let replaced: [[String: Any]] = prediction.replacedFiles.map { ["event": $0.event, "path": $0.path] }
                let data = try JSONSerialization.data(withJSONObject: ["registers": rows, "replacedFiles": replaced],
                                                      options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print("| register | bank | current | predicted | changed |")
            print("|---|---|---|---|---|")
            for row in prediction.registers {
                print("| \(registers.name(of: row.index)) | \(row.bank) | \(hexString(row.current)) | \(hexString(row.predicted)) | \(row.changed ? "yes" : "no") |")
            }
            for file in prediction.replacedFiles {
                print("replaced GRUB file measurement: event \(file.event), \(file.path)")
            }
        }
    }
}

/// The boot files that change on the next boot, as options shared by `cvm pcr predict` and
/// `cvm disk reseal`.
struct PredictionInputs: ParsableArguments {
    @Option(name: .customLong("image"), help: "A new image, in the order the firmware and shim load them (repeat the option).")
    var images: [String] = []

    @Option(help: "The new kernel command line (arguments only, without the kernel path).")
    var cmdline: String?

    @Option(help: "The new kernel GRUB loads (replaces the PCR 9 measurement of the path its linux command names).")
    var kernel: String?

    @Option(name: .customLong("initrd"), help: "A new initrd GRUB loads, in the order of its initrd command's paths (repeat the option).")
    var initrds: [String] = []

    @Option(name: .customLong("file"), help: "PATH=FILE: FILE replaces GRUB's PCR 9 measurements of the logged PATH (repeat the option).")
    var files: [String] = []

    @Option(help: "A new unified kernel image: replaces the last boot application and the PCR 11 section measurements.")
    var uki: String?

    func validate() throws {
        for file in files where !file.contains("=") {
            throw ValidationError("--file takes PATH=FILE, not \(file).")
        }
    }

    /// Whether any boot file is replaced.
    var isEmpty: Bool {
        images.isEmpty && cmdline == nil && kernel == nil && initrds.isEmpty && files.isEmpty && uki == nil
    }

    static let missing = ValidationError("Give at least one --image, --cmdline, --kernel, --initrd, --file or --uki.")

    /// The GRUB files to replace, read from disk.
    func bootFiles() throws -> [BootFile] {
        var targets: [(BootFile.Target, String)] = kernel.map { [(.kernel, $0)] } ?? []
        targets += initrds.map { (.initrd, $0) }
        for file in files {
            let separator = file.lastIndex(of: "=") ?? file.endIndex
            targets.append((.path(String(file[..<separator])), String(file[file.index(after: separator)...])))
        }
        return try targets.map { BootFile(target: $0.0, contents: try readBinaryFile($0.1)) }
    }

    /// The prediction for the binary event log at `log` with these files.
    func prediction(log: String, registers: MeasurementRegisters = .tpmPCRs) throws -> PCRPrediction {
        try PCRPrediction(log: try EventLog(bytes: try readBinaryFile(log)),
                          replacing: try images.map { try PEImage(bytes: try readBinaryFile($0)) },
                          commandLine: cmdline, files: try bootFiles(),
                          uki: try uki.map { try PEImage(bytes: try readBinaryFile($0)) }, registers: registers)
    }
}
