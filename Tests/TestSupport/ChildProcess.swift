import Foundation

/// The `cvm` executable built next to this test bundle, or `CVM_BINARY`.
public let cvmExecutable: URL? = {
    if let path = ProcessInfo.processInfo.environment["CVM_BINARY"] { return URL(fileURLWithPath: path) }
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = directory.appendingPathComponent("cvm")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        directory.deleteLastPathComponent()
    }
    return nil
}()

/// A child process, typically `cvm serve` or `cvm vtpm serve`, whose output goes to a log file,
/// killed with SIGKILL (the test runner leaves SIGTERM ignored in children).
public final class ChildProcess: @unchecked Sendable {
    public let process = Process()
    public let logFile: URL

    /// Starts `binary` with `arguments`, logging to a new file in `logDirectory`.
    public init(binary: URL, arguments: [String], logDirectory: URL) throws {
        logFile = logDirectory.appendingPathComponent("\(arguments.first ?? "child")-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        process.executableURL = binary
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    /// What the process has written so far.
    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    public func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
