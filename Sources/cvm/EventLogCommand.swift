import ArgumentParser
import EventLog
import Foundation
import EvidenceCore

/// `cvm eventlog`: lists and replays TCG event logs. All decoding and checking is in EventLog.
struct EventLogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eventlog",
        abstract: "Inspect and replay TCG event logs (TPM logs and TDX CCEL logs).",
        subcommands: [Show.self, Replay.self, SecureBoot.self]
    )

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the events of a log.")

        @Argument(help: "The binary event log.")
        var file: String

        @Flag(help: "Print the events as JSON.")
        var json = false

        func run() throws {
            let log = try EventLog(bytes: try readBinaryFile(file))
            if json {
                let events: [[String: Any]] = log.events.map { event in
                    [
                        "index": event.index, "offset": event.offset, "pcr": event.pcrIndex, "type": event.eventType.description,
                        "digests": Dictionary(uniqueKeysWithValues: event.digests.map { ($0.algorithm.description, $0.hex) }),
                        "summary": event.summary,
                    ]
                }
                let data = try JSONSerialization.data(withJSONObject: events, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print("\(log.format) log, \(log.events.count) events, banks: \(log.algorithms.map(\.description).joined(separator: ", "))")
            print(row("#", "PCR", "type", "digests", "event"))
            for event in log.events {
                let digests = event.digests.map { "\($0.algorithm):\($0.hex.prefix(8))" }.joined(separator: " ")
                print(row("\(event.index)", "\(event.pcrIndex)", event.eventType.description, digests, event.summary))
            }
            if let padding = log.padding {
                print("followed by \(padding.count) bytes of 0x\(String(padding.byte, radix: 16)) padding")
            }
        }

        private func row(_ index: String, _ pcr: String, _ type: String, _ digests: String, _ summary: String) -> String {
            func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
            return pad(index, 5) + pad(pcr, 5) + pad(type, 34) + pad(digests, 30) + " " + summary.prefix(120)
        }
    }

    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay a log and compare with PCR (or RTMR) values.",
            discussion: "Exits non-zero if a register the log extends does not reproduce, or if an event's digest contradicts its data."
        )

        @Argument(help: "The binary event log.")
        var file: String

        @Option(help: "Expected values: {\"sha256\": {\"0\": \"<hex>\"}}.")
        var pcrs: String?

        @Flag(help: "The log is a TDX CCEL: indices 1-4 are RTMR[0-3].")
        var tdx = false

        func run() throws {
            let log = try EventLog(bytes: try readBinaryFile(file))
            let result = log.replay(registers: registers)
            for bank in result.unsupportedBanks {
                print("\(bank): not replayed (hash not supported)")
            }
            var failures = result.digestMismatches.map(\.description)
            if let pcrs {
                let comparison = result.compare(with: try PCRValues(json: try readBinaryFile(pcrs)))
                for entry in comparison.entries {
                    print("\(column(label(entry.index))) \(entry.bank) \(status(entry.status))")
                }
                if let mismatch = comparison.firstMismatch {
                    let actual = mismatch.actual.map { hexString($0) } ?? "nothing"
                    failures.insert("\(label(mismatch.index)) \(mismatch.bank) does not reproduce: expected \(hexString(mismatch.expected)), the log gives \(actual).", at: 0)
                }
            } else {
                for (bank, values) in result.values.banks.sorted(by: { $0.key < $1.key }) {
                    for (index, value) in values.sorted(by: { $0.key < $1.key }) {
                        print("\(column(label(index))) \(bank) \(hexString(value))")
                    }
                }
            }
            guard failures.isEmpty else {
                FileHandle.standardError.write(Data(failures.map { $0 + "\n" }.joined().utf8))
                throw ExitCode.failure
            }
        }

        private var registers: MeasurementRegisters { tdx ? .tdxRTMRs : .tpmPCRs }

        private func label(_ index: UInt32) -> String { registers.name(of: index) }

        private func column(_ text: String) -> String { text.padding(toLength: 16, withPad: " ", startingAt: 0) }

        private func status(_ status: PCRComparison.Status) -> String {
            switch status {
            case .match: "matches"
            case .mismatch: "MISMATCH"
            case .notExtended(let isReset): isReset ? "not extended by the log (reset value)" : "not extended by the log (cannot be reproduced)"
            case .bankAbsent: "bank not in the log"
            case .bankUnsupported: "bank not supported"
            }
        }
    }

    struct SecureBoot: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "secureboot",
            abstract: "Report the Secure Boot state a log records: SecureBoot, PK/KEK/db/dbx, the authority of each loaded image, dbx hits.",
            discussion: "Exits non-zero if a loaded image's SHA-256 digest is in the measured dbx."
        )

        @Argument(help: "The binary event log.")
        var file: String

        @Flag(help: "Print the report as JSON.")
        var json = false

        func run() throws {
            let report = try EventLog(bytes: try readBinaryFile(file)).secureBootReport()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                print(text(report))
            }
            guard report.imagesInDbx.isEmpty else {
                let events = report.imagesInDbx.map { "\($0.event)" }.joined(separator: ", ")
                FileHandle.standardError.write(Data("Loaded images revoked by dbx: events \(events).\n".utf8))
                throw ExitCode.failure
            }
        }

        private func text(_ report: SecureBootReport) -> String {
            var lines = ["SecureBoot: " + (report.secureBoot.map { $0 ? "on" : "off" } ?? "not measured")]
            for name in ["PK", "KEK", "db", "dbx"] {
                guard let database = report.database(name) else {
                    lines.append("\(name): not measured")
                    continue
                }
                lines.append("\(name) (event \(database.event)): \(database.certificates.count) certificates, \(database.sha256Hashes.count) SHA-256 hashes, \(database.entries.count) entries")
                for certificate in database.certificates {
                    lines.append("  cert \(certificate.subject ?? "(does not decode)")  sha256 \(certificate.sha256)")
                }
            }
            for authority in report.authorities {
                let entry = authority.entry.subject ?? "sha256 \(authority.entry.sha256)"
                let position = authority.dbEntry.map { " (db entry \($0))" } ?? ""
                let images = authority.images.isEmpty ? "no image" : "image events " + authority.images.map(String.init).joined(separator: ", ")
                lines.append("authority event \(authority.event): \(authority.variable)\(position) \(entry) -> \(images)")
            }
            for image in report.images {
                let authority = image.authority.map { "authority event \($0)" } ?? "no authority logged"
                let dbx = image.inDbx.map { $0 ? "IN DBX" : "not in dbx" } ?? "dbx not checked"
                let path = image.devicePath.isEmpty ? "(no device path)" : image.devicePath
                lines.append("image event \(image.event) index \(image.pcrIndex) \(image.eventType) sha256 \(image.sha256 ?? "-"): \(authority), \(dbx); \(path)")
            }
            return lines.joined(separator: "\n")
        }
    }
}
