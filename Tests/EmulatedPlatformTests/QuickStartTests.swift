import Foundation
import TestSupport
import Testing

/// README.md's "Attestation service quick start", run as written: its shell commands are read from
/// the README and run one by one with bash in a scratch directory that looks like the package root
/// (`.build/debug/cvm` is the built binary, `examples/` the package's). The only change is the
/// port: `cvm serve` gets a free one below 32768 and the client commands and URLs are pointed at it.
@Suite("README: attestation service quick start")
struct QuickStartTests {
    @Test("The owner's VM receives the secret; the VM with a changed kernel is refused by the PCR 4 and 9 rules")
    func quickStart() throws {
        let binary = try #require(cvmExecutable, "the cvm executable is built beside the tests (swift build)")
        let commands = try Self.readmeCommands()
        try #require(commands.filter { $0.contains("cvm secret release") }.count == 2, "\(commands)")

        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cvmkit-quickstart-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent(".build/debug"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createSymbolicLink(at: root.appendingPathComponent(".build/debug/cvm"), withDestinationURL: binary)
        try FileManager.default.createSymbolicLink(
            at: root.appendingPathComponent("examples"), withDestinationURL: Self.packageRoot.appendingPathComponent("examples"))

        let port = try #require(Self.freePort())
        var session = ShellSession(directory: root)
        var server: Process?
        defer {
            if let server, server.isRunning { kill(server.processIdentifier, SIGKILL) }
            server?.waitUntilExit()
        }
        var releases: [ShellSession.Outcome] = []
        var launches: [ShellSession.Outcome] = []
        for command in commands.map({ Self.onPort(port, $0) }) {
            if command.contains("cvm serve ") {
                server = try session.start(command)
                try session.waitForOutput("listening on http://127.0.0.1:\(port)", of: try #require(server))
                continue
            }
            let outcome = try session.run(command)
            if command.contains("cvm secret release") {
                releases.append(outcome)
                continue
            }
            #expect(outcome.status == 0, "\(command)\n\(outcome.output)\(outcome.errors)")
            if command.contains("cvm launch") { launches.append(outcome) }
        }

        #expect(launches.count == 3)
        #expect(launches.first?.output.contains("Created an emulated host in quickstart/host") == true)
        #expect(launches.first?.output.contains("Trust its root with: cvm serve --allow-emulated --emulated-snp-root quickstart/host/emulated-root.pem") == true)
        #expect(launches.dropFirst().allSatisfy { $0.output.contains("Using the emulated host in quickstart/host.") })
        #expect(try EmulatedHostTests.mode(root.appendingPathComponent("quickstart/host").path) == 0o700)
        #expect(try EmulatedHostTests.mode(root.appendingPathComponent("quickstart/host/emulated-host.pem").path) == 0o600)
        #expect(try EmulatedHostTests.mode(root.appendingPathComponent("quickstart/vm1.key").path) == 0o600)

        let secret = try String(contentsOf: root.appendingPathComponent("quickstart/secret.txt"), encoding: .utf8)
        #expect(!secret.isEmpty)
        let (good, tampered) = (releases[0], releases[1])
        #expect(good.status == 0, "\(good.errors)")
        #expect(good.output == secret)

        #expect(tampered.status != 0)
        #expect(tampered.output.isEmpty)
        #expect(tampered.errors.contains("the service refused (403 policy_refused)"), "\(tampered.errors)")
        let failed = tampered.errors.split(separator: "\n").filter { $0.contains("✘") }.map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(failed.count == 2, "\(tampered.errors)")
        #expect(failed.allSatisfy { $0.hasPrefix("✘ pcrs (PCR 4 (sha256)): expected one of ") || $0.hasPrefix("✘ pcrs (PCR 9 (sha256)): expected one of ") })
    }

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The shell commands of the README's quick start section, continuation lines joined, comments
    /// and `swift` commands (the build) left out.
    static func readmeCommands() throws -> [String] {
        let readme = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let start = try #require(readme.range(of: "\n## Attestation service quick start\n"))
        let section = readme[start.upperBound...].components(separatedBy: "\n## ")[0]
        let blocks = section.components(separatedBy: "```").enumerated().filter { $0.offset % 2 == 1 && $0.element.hasPrefix("sh\n") }
        return blocks.flatMap { block in
            block.element.dropFirst(3).replacingOccurrences(of: "\\\n", with: " ").split(separator: "\n").map { line in
                let command = line.range(of: "  #").map { line[..<$0.lowerBound] } ?? line[...]
                return command.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            }
        }.filter { !$0.isEmpty && !$0.hasPrefix("#") && !$0.hasPrefix("swift ") }
    }

    /// `command` with the service on `port` instead of 8443.
    static func onPort(_ port: Int, _ command: String) -> String {
        let server = "--server http://127.0.0.1:\(port)"
        return command
            .replacingOccurrences(of: ".build/debug/cvm serve", with: ".build/debug/cvm serve --port \(port)")
            .replacingOccurrences(of: ".build/debug/cvm attest challenge", with: ".build/debug/cvm attest challenge \(server)")
            .replacingOccurrences(of: ".build/debug/cvm secret put", with: ".build/debug/cvm secret put \(server)")
            .replacingOccurrences(of: ".build/debug/cvm policy put ", with: ".build/debug/cvm policy put \(server) ")
            .replacingOccurrences(of: ".build/debug/cvm secret release", with: ".build/debug/cvm secret release \(server)")
            .replacingOccurrences(of: "127.0.0.1:8443", with: "127.0.0.1:\(port)")
    }

    /// A loopback port in 20000–32767, below Linux's ephemeral range, that nothing is bound to.
    static func freePort() -> Int? {
        for _ in 0..<100 {
            let port = Int.random(in: 20_000..<32_768)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(descriptor) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if bound == 0 { return port }
        }
        return nil
    }
}

/// Shell commands run one at a time in a directory, as someone typing them would: each by bash,
/// with the variables earlier `NAME=$(command)` lines set.
struct ShellSession {
    struct Outcome {
        let status: Int32
        let output: String
        let errors: String
    }

    let directory: URL
    var variables: [String: String] = [:]

    init(directory: URL) {
        self.directory = directory
    }

    /// Runs `command` to its end; `NAME=$(command)` runs the inner command and keeps its output.
    mutating func run(_ command: String) throws -> Outcome {
        if let match = command.wholeMatch(of: /([A-Z_]+)=\$\((.*)\)/) {
            let outcome = try self.run(String(match.2))
            self.variables[String(match.1)] = outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
            return outcome
        }
        let process = self.process(command)
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                       errors: String(decoding: errorData, as: UTF8.self))
    }

    /// Starts `command` in the background (exec'd by bash, so its process is the command's),
    /// logging to a file in the directory.
    func start(_ command: String) throws -> Process {
        let process = self.process("exec " + command)
        let log = self.directory.appendingPathComponent("background.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    /// Waits until the background command has written `text` (30 s at most).
    func waitForOutput(_ text: String, of process: Process) throws {
        let log = self.directory.appendingPathComponent("background.log")
        for _ in 0..<300 {
            let written = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if written.contains(text) { return }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        Issue.record("the background command never wrote \"\(text)\": \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        throw CancellationError()
    }

    private func process(_ command: String) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", command]
        process.currentDirectoryURL = self.directory
        var environment = ProcessInfo.processInfo.environment.filter { $0.key != "CVM_ADMIN_TOKEN" }
        environment.merge(self.variables) { $1 }
        process.environment = environment
        return process
    }
}
