import EventLog
import Foundation

/// The shared real event logs and what their README says about them.
enum TestData {
    /// `../shared/testdata/eventlog` next to the package root (three levels above this file).
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/testdata/eventlog").standardized

    /// Every `.bin` log, by file name.
    static let logNames: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".bin") }.sorted()
    }()

    /// The logs that come with a `.pcrs.json` file.
    static let logsWithPCRs: [String] = logNames.filter { FileManager.default.fileExists(atPath: pcrsPath($0)) }

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func pcrsPath(_ name: String) -> String {
        directory.appendingPathComponent(name.replacingOccurrences(of: ".bin", with: ".pcrs.json")).path
    }

    static func expectedPCRs(_ name: String) throws -> PCRValues {
        try PCRValues(json: [UInt8](try Data(contentsOf: URL(fileURLWithPath: pcrsPath(name)))))
    }

    /// TDX CCEL logs: the README calls them CCEL and keys their values by MR index.
    static func registers(_ name: String) -> MeasurementRegisters {
        readme(name).format.contains("CCEL") && readme(name).algorithms == ["sha384"] ? .tdxRTMRs : .tpmPCRs
    }

    /// The facts the README states for one log.
    struct Facts {
        var events = 0
        var format = ""
        var algorithms: [String] = []
        var padding: (count: Int, byte: UInt8)?
        var notableRecords = ""
        /// The "Machine / OS" line.
        var machine = ""
        /// Per bank: registers listed as matching, as not replayable, and as untouched reset values.
        var matching: [String: [UInt32]] = [:]
        var notReplayable: [String: [UInt32]] = [:]
        var resetValues: [String: [UInt32]] = [:]
    }

    static func readme(_ name: String) -> Facts { readmeFacts[name] ?? Facts() }

    private static let readmeFacts: [String: Facts] = {
        guard let text = try? String(contentsOf: directory.appendingPathComponent("README.md"), encoding: .utf8) else { return [:] }
        var facts: [String: Facts] = [:]
        for section in text.components(separatedBy: "\n### `").dropFirst() {
            guard let end = section.firstIndex(of: "`") else { continue }
            let name = String(section[..<end])
            var fact = Facts()
            for line in section.split(separator: "\n").map(String.init) {
                if line.hasPrefix("- Format: ") {
                    fact.format = line
                    if let algs = line.components(separatedBy: "digest algorithms in the Spec ID header: ").last {
                        fact.algorithms = algs.components(separatedBy: ", ")
                    }
                } else if line.hasPrefix("- Events: "), let count = Int(line.dropFirst(10).prefix { $0.isNumber }) {
                    fact.events = count
                } else if line.hasPrefix("- Trailing padding after the last event: ") {
                    let words = line.split(separator: " ")
                    if let count = Int(words[7]), let byte = UInt8(words[10].dropFirst(2), radix: 16) {
                        fact.padding = (count, byte)
                    }
                } else if line.hasPrefix("- Machine / OS: ") {
                    fact.machine = line
                } else if line.hasPrefix("- Notable records: ") {
                    fact.notableRecords = line
                } else if line.hasPrefix("  - "), let colon = line.firstIndex(of: ":") {
                    let bank = String(line[line.index(line.startIndex, offsetBy: 4)..<colon])
                    guard TPMAlgorithm(name: bank) != nil else { continue }
                    fact.matching[bank] = indices(in: line, after: "match: ")
                    fact.notReplayable[bank] = indices(in: line, after: "NOT REPLAYABLE (not extended by this log / bank absent): ")
                    fact.resetValues[bank] = indices(in: line, after: "value = reset value: ")
                }
            }
            facts[name] = fact
        }
        return facts
    }()

    private static func indices(in line: String, after marker: String) -> [UInt32] {
        guard let range = line.range(of: marker) else { return [] }
        return line[range.upperBound...].prefix { $0.isNumber || $0 == "," }.split(separator: ",").compactMap { UInt32($0) }
    }
}

/// What a log's bytes lead to: refused with a typed error, or replayed.
enum Outcome: Equatable {
    case refused(EventLogError)
    /// The register values, plus which events went into which register: for a bank that cannot be
    /// computed (SM3) that is all replay can show.
    case replayed(values: PCRValues, extendedEvents: [UInt32: [Int]], digestMismatches: [EventDigestMismatch])

    init(_ bytes: [UInt8], registers: MeasurementRegisters) {
        do {
            let result = try EventLog(bytes: bytes).replay(registers: registers)
            self = .replayed(values: result.values, extendedEvents: result.extendedEvents, digestMismatches: result.digestMismatches)
        } catch {
            self = .refused(error)
        }
    }
}
