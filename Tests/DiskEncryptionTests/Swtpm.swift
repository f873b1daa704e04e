import Foundation
import TPMClient

/// Debian's swtpm (libtpms, an implementation independent of CVMKit's engine) serving its data
/// and control channels on two loopback ports for one test, and the tpm2-tools that drive it.
/// swtpm serves one connection at a time: a client made by ``client()`` must be released before
/// a tool connects.
final class Swtpm {
    static let available = ["swtpm", "tpm2_unseal", "tpm2_create"].allSatisfy { tool in
        (try? Tools.run(["sh", "-c", "command -v \(tool)"]))?.status == 0
    }
    static let missing = "needs swtpm and tpm2-tools: apt-get install swtpm tpm2-tools libtss2-tcti-swtpm0"

    let port: UInt16
    let directory: URL
    private let process: Process

    /// Starts swtpm on a free pair of ports below the ephemeral range.
    init() throws {
        directory = try Tools.scratchDirectory()
        for _ in 0..<20 {
            let port = UInt16.random(in: 20000..<32000) & ~1
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [
                "swtpm", "socket", "--tpm2", "--tpmstate", "dir=\(directory.path)", "--flags", "not-need-init",
                "--server", "type=tcp,port=\(port),bindaddr=127.0.0.1", "--ctrl", "type=tcp,port=\(port + 1),bindaddr=127.0.0.1",
            ]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            for _ in 0..<50 where process.isRunning {
                if Self.answers(port) {
                    self.port = port
                    self.process = process
                    return
                }
                usleep(100_000)
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        throw Tools.Failure(description: "swtpm did not start")
    }

    /// Whether the data port answers a command (TPM_RC_INITIALIZE before TPM2_Startup counts).
    private static func answers(_ port: UInt16) -> Bool {
        do {
            _ = try TPM2Client(transport: SwtpmTransport(port: port)).getRandom(1)
            return true
        } catch {
            return error.responseCode != nil
        }
    }

    /// swtpm waiting on its sockets does not act on SIGTERM; SIGKILL ends it.
    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }

    /// A client on its own connection, after TPM2_Startup(CLEAR) if the TPM needs it.
    func client() throws -> TPM2Client {
        let client = TPM2Client(transport: SwtpmTransport(port: port))
        do {
            try client.startup(.clear)
        } catch where error.responseCode?.base == .initialize {}
        return client
    }

    /// The TCTI configuration for tpm2-tools and systemd.
    var tcti: String { "swtpm:host=127.0.0.1,port=\(port)" }

    /// Runs a tpm2-tools command (or any tool reading TPM2TOOLS_TCTI) against this TPM.
    @discardableResult
    func tool(_ arguments: [String], environment: [String: String] = [:], allowFailure: Bool = false) throws -> (status: Int32, output: [UInt8]) {
        let variables = (["TPM2TOOLS_TCTI": tcti] as [String: String]).merging(environment) { $1 }
        return try Tools.run(["env"] + variables.map { "\($0.key)=\($0.value)" } + arguments, allowFailure: allowFailure)
    }
}
