import ArgumentParser
import Authenticode
import EventLog
import Foundation
import PCRPrediction

/// `cvm pcr`: register values the next boot will produce. The prediction is in PCRPrediction.
struct PCRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pcr",
        abstract: "Predict PCR (or TDX RTMR) values from an event log.",
        subcommands: [Predict.self]
    )

    struct Predict: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Predict the register values of the next boot when the log's boot applications (and optionally the kernel command line) change.",
            discussion: """
            The images replace the log's EV_EFI_BOOT_SERVICES_APPLICATION events in order (shim, grub, kernel…); \
            --cmdline rewrites GRUB's kernel_cmdline/linux EV_IPL events and systemd-stub's UTF-16 EV_IPL command line. \
            All other events are kept. Prints every register the log extends: current, predicted, changed.
            """
        )

        @Argument(help: "The binary event log of the current boot.")
        var log: String

        @Option(name: .customLong("image"), help: "A new image, in the order the firmware and shim load them (repeat the option).")
        var images: [String] = []

        @Option(help: "The new kernel command line (arguments only, without the kernel path).")
        var cmdline: String?

        @Flag(help: "The log is a TDX CCEL: indices 1-4 are RTMR[0-3].")
        var tdx = false

        @Flag(help: "Print JSON.")
        var json = false

        func validate() throws {
            guard !images.isEmpty || cmdline != nil else { throw ValidationError("Give at least one --image or --cmdline.") }
        }

        func run() throws {
            let registers: MeasurementRegisters = tdx ? .tdxRTMRs : .tpmPCRs
            let prediction = try PCRPrediction(log: try EventLog(bytes: try readBinaryFile(log)),
                                               replacing: try images.map { try PEImage(bytes: try readBinaryFile($0)) },
                                               commandLine: cmdline, registers: registers)
            if json {
                let rows: [[String: Any]] = prediction.registers.map {
                    ["register": registers.name(of: $0.index), "index": $0.index, "bank": $0.bank.description,
                     "current": hexEncoded($0.current), "predicted": hexEncoded($0.predicted), "changed": $0.changed]
                }
                let data = try JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print("| register | bank | current | predicted | changed |")
            print("|---|---|---|---|---|")
            for row in prediction.registers {
                print("| \(registers.name(of: row.index)) | \(row.bank) | \(hexEncoded(row.current)) | \(hexEncoded(row.predicted)) | \(row.changed ? "yes" : "no") |")
            }
        }
    }
}
