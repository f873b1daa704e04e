import ArgumentParser
import CVMDemo
import Foundation

/// `cvm demo`: the whole chain on the emulated platform, narrated.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the end-to-end story: service, policy, a confidential VM that attests and unlocks its disk, and refused ones.",
        discussion: "Everything runs in this process on the emulated platform (never trusted like real hardware) in a temporary directory."
    )

    @Option(help: "Keep the disk images and database here instead of a temporary directory.")
    var keep: String?

    func run() async throws {
        let directory = keep.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("cvm-demo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { if keep == nil { try? FileManager.default.removeItem(at: directory) } }
        let report = try await DemoScenario(workDirectory: directory).run { line in
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }
        if !report.succeeded { throw ExitCode(1) }
    }
}
