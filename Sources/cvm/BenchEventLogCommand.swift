import ArgumentParser
import Authenticode
import EventLog
import Foundation

/// `cvm bench eventlog`: event log parse + replay and Authenticode hashing, CVMKit beside
/// tpm2_eventlog, pesign and sbverify on the same inputs in one run.
struct BenchEventLog: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eventlog",
        abstract: "Event log parse+replay and Authenticode SHA-256 throughput beside tpm2_eventlog, pesign and sbverify.",
        discussion: """
        Build in release mode first (swift build -c release). Peers run as one process per input, \
        so CVMKit is measured both in process and as `cvm eventlog replay` / `cvm pe hash` \
        subprocesses started the same way; `true` gives the process start-up floor.
        """
    )

    @Option(help: "Seconds per contestant per workload, split into alternating rounds.")
    var seconds: Double = 5

    @Option(help: "Directory of binary event logs (*.bin).")
    var logs: String = "../shared/testdata/eventlog"

    @Option(help: "A signed PE/COFF image to hash; defaults to the newest /boot/vmlinuz-*.")
    var image: String?

    static let rounds = 3

    func validate() throws {
        guard seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600]") }
    }

    func run() throws {
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let tools = try ["tpm2_eventlog", "pesign", "sbverify", "true"].map(executable)
        let (tpm2Eventlog, pesign, sbverify, trueTool) = (tools[0], tools[1], tools[2], tools[3])

        let corpus = try LogCorpus(directory: logs, accepting: tpm2Eventlog)
        print("cvm bench eventlog: \(seconds) s per contestant per workload in \(Self.rounds) alternating rounds (median shown)")
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores; \(ChildProcess.firstLine(tpm2Eventlog))")
        print("logs: \(corpus.logs.count) in \(logs) that tpm2_eventlog parses (\(corpus.events) events, \(corpus.bytes) bytes)"
            + (corpus.rejected.isEmpty ? "" : "; left out, tpm2_eventlog refuses them: \(corpus.rejected.joined(separator: ", "))"))

        let logContestants: [Contestant] = [
            Contestant(name: "CVMKit in process (EventLog parse + replay)") {
                for log in corpus.logs {
                    let parsed = try EventLog(bytes: log.bytes)
                    _ = parsed.replay()
                }
            },
            Contestant(name: "cvm eventlog replay (a process per log)") {
                for log in corpus.logs { try Self.spawn(me, ["eventlog", "replay", log.path], allowFailure: true) }
            },
            Contestant(name: "tpm2_eventlog (a process per log)") {
                for log in corpus.logs { try Self.spawn(tpm2Eventlog, [log.path]) }
            },
            Contestant(name: "cvm eventlog replay /dev/null (cvm start-up; the empty log is refused)") {
                for _ in corpus.logs { try Self.spawn(me, ["eventlog", "replay", "/dev/null"], allowFailure: true) }
            },
            Contestant(name: "true (process start-up floor)") {
                for _ in corpus.logs { try Self.spawn(trueTool, []) }
            },
        ]
        let logRates = try measure(logContestants)
        print("")
        print("| parse + replay, \(corpus.logs.count) logs | passes/s | ms per log | events/s | MB/s | vs tpm2_eventlog |")
        print("|---|---:|---:|---:|---:|---:|")
        for (contestant, rate) in zip(logContestants, logRates) {
            print(String(format: "| %@ | %.2f | %.3f | %.0f | %.2f | %.1f× |", contestant.name as NSString, rate,
                         1000 / (rate * Double(corpus.logs.count)), rate * Double(corpus.events), rate * Double(corpus.bytes) / 1e6, rate / logRates[2]))
        }

        let imagePath = try image ?? Self.newestKernel()
        let imageBytes = try readBinaryFile(imagePath)
        let hashContestants: [Contestant] = [
            Contestant(name: "CVMKit in process (PEImage + Authenticode SHA-256)") {
                _ = try PEImage(bytes: imageBytes).authenticodeDigest(.sha256)
            },
            Contestant(name: "cvm pe hash (a process)") { try Self.spawn(me, ["pe", "hash", imagePath]) },
            Contestant(name: "pesign -h -i (a process)") { try Self.spawn(pesign, ["-h", "-i", imagePath]) },
            Contestant(name: "sbverify --list (a process)") { try Self.spawn(sbverify, ["--list", imagePath]) },
            Contestant(name: "true (process start-up floor)") { try Self.spawn(trueTool, []) },
        ]
        let hashRates = try measure(hashContestants)
        print("")
        print("| Authenticode SHA-256, \(imagePath) (\(imageBytes.count) bytes) | hashes/s | ms per hash | MB/s | vs pesign |")
        print("|---|---:|---:|---:|---:|")
        for (contestant, rate) in zip(hashContestants, hashRates) {
            print(String(format: "| %@ | %.2f | %.3f | %.1f | %.1f× |", contestant.name as NSString, rate, 1000 / rate,
                         rate * Double(imageBytes.count) / 1e6, rate / hashRates[2]))
        }
    }

    /// Runs every contestant in alternating rounds; returns each one's median rate (runs/s).
    private func measure(_ contestants: [Contestant]) throws -> [Double] {
        for contestant in contestants { try contestant.body() }
        var rounds = [[Double]](repeating: [], count: contestants.count)
        let perRound = seconds / Double(Self.rounds)
        for _ in 0..<Self.rounds {
            for (i, contestant) in contestants.enumerated() {
                rounds[i].append(try contestant.rate(seconds: perRound))
            }
        }
        return rounds.map { $0.sorted()[$0.count / 2] }
    }

    /// Runs `path` with `arguments`, output discarded, and waits for it. posix_spawn directly:
    /// Foundation's Process adds milliseconds of its own per launch, which would hide the
    /// start-up cost of the programs being compared.
    static func spawn(_ path: String, _ arguments: [String], allowFailure: Bool = false) throws {
        let status = ChildProcess.wait(try ChildProcess.start([path] + arguments))
        guard allowFailure || status == 0 else {
            throw ValidationError("\(path) \(arguments.joined(separator: " ")) exited with status \(status)")
        }
    }

    /// The absolute path of a tool on PATH, so that no shell or env process is timed.
    private func executable(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw ValidationError("\(name) is not on PATH")
    }

    private static func newestKernel() throws -> String {
        let kernels = (try? FileManager.default.contentsOfDirectory(atPath: "/boot"))?.filter { $0.hasPrefix("vmlinuz-") }.sorted() ?? []
        guard let kernel = kernels.last else { throw ValidationError("no /boot/vmlinuz-*; give --image") }
        return "/boot/" + kernel
    }
}

/// One timed workload: a closure run repeatedly.
private struct Contestant {
    let name: String
    let body: () throws -> Void

    /// Runs `body` repeatedly for `seconds` (at least twice); returns runs per second.
    func rate(seconds: Double) throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start.advanced(by: .seconds(seconds))
        var count = 0
        while count < 2 || clock.now < deadline {
            try body()
            count += 1
        }
        return Double(count) / (start.duration(to: clock.now) / .seconds(1))
    }
}

/// The logs of a directory that both CVMKit and tpm2_eventlog parse, read into memory.
private struct LogCorpus {
    struct Log {
        let path: String
        let bytes: [UInt8]
    }

    var logs: [Log] = []
    var rejected: [String] = []
    var events = 0
    var bytes = 0

    init(directory: String, accepting tool: String) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".bin") }.sorted()
        guard !names.isEmpty else { throw ValidationError("no *.bin logs in \(directory)") }
        for name in names {
            let path = URL(fileURLWithPath: directory).appendingPathComponent(name).path
            let bytes = try readBinaryFile(path)
            guard (try? BenchEventLog.spawn(tool, [path])) != nil, let log = try? EventLog(bytes: bytes) else {
                rejected.append(name)
                continue
            }
            logs.append(Log(path: path, bytes: bytes))
            events += log.events.count
            self.bytes += bytes.count
        }
    }
}
