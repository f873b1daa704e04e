import ArgumentParser
import Foundation
import Logging
import TPM2
import VirtualTPM
import EvidenceCore

/// `cvm vtpm`: run the virtual TPM.
struct VTPMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vtpm",
        abstract: "Run CVMKit's TPM 2.0 engine.",
        subcommands: [Serve.self, Fuzz.self]
    )

    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the vTPM over the TPM simulator (mssim) and swtpm socket protocols.",
            discussion: """
            The mssim protocol listens on --port (commands) and --port+1 (platform signals): use \
            TCTI "mssim:host=127.0.0.1,port=PORT". The swtpm protocol listens when --swtpm-port \
            or --swtpm-ctrl is given: use TCTI "swtpm:host=127.0.0.1,port=PORT". Without --state \
            the vTPM is ephemeral: nothing is written and every power-on makes new seeds.
            """
        )

        @Option(help: "mssim command port on loopback (the platform port is the next one).")
        var port: UInt16 = 2321

        @Flag(help: "Do not serve the mssim protocol.")
        var noMssim = false

        @Option(help: "swtpm data port on loopback (the control port is the next one).")
        var swtpmPort: UInt16?

        @Option(help: "swtpm data channel address (tcp:HOST:PORT or unix:PATH).")
        var swtpmData: String?

        @Option(help: "swtpm control channel address (tcp:HOST:PORT or unix:PATH).")
        var swtpmCtrl: String?

        @Option(help: "Directory for persistent state (seeds, NV, persistent objects, clock).")
        var state: String?

        @Option(help: "File with the 32-byte state key (raw, or 64 hex digits). Required with --state.")
        var stateKeyFile: String?

        @Flag(help: "Keep no state: new seeds at every power-on (the default without --state).")
        var ephemeral = false

        @Flag(help: "Send TPM2_Startup(CLEAR) at start, like swtpm's startup-clear flag.")
        var startupClear = false

        @Option(help: "Microseconds a command connection keeps polling for the next command before it sleeps (0: never poll).")
        var pollMicroseconds: Int = 50

        @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
        var logLevel: String = "info"

        func validate() throws {
            if state != nil, ephemeral { throw ValidationError("--state and --ephemeral exclude each other") }
            if state != nil, stateKeyFile == nil { throw ValidationError("--state needs --state-key-file (the host's key for the state)") }
            if noMssim, swtpmPort == nil, swtpmCtrl == nil { throw ValidationError("nothing to serve: give --swtpm-port or --swtpm-ctrl, or drop --no-mssim") }
            guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown log level '\(logLevel)'") }
            guard (0...10_000).contains(pollMicroseconds) else { throw ValidationError("--poll-microseconds must be in 0...10000") }
        }

        func run() throws {
            var logger = Logger(label: "cvmkit.vtpm")
            logger.logLevel = Logger.Level(rawValue: logLevel)!
            let mode: TPMEngine.Mode
            if let state, let stateKeyFile {
                let store = try VTPMStateStore(directory: URL(fileURLWithPath: state), key: try readStateKey(stateKeyFile))
                mode = .persistent(store)
            } else {
                mode = .ephemeral
            }
            let engine = try TPMEngine(mode: mode, logger: logger)
            engine.powerOn()
            if startupClear {
                let response = engine.execute([0x80, 0x01, 0, 0, 0, 0x0C, 0, 0, 0x01, 0x44, 0, 0])
                guard response.count >= 10, response[6...9] == [0, 0, 0, 0] else { throw ValidationError("TPM2_Startup failed") }
            }
            let stop: @Sendable () -> Void = { Foundation.exit(0) }
            let poll = Duration.microseconds(pollMicroseconds)
            var servers: [String] = []
            if !noMssim {
                let mssim = try MSSimServer(engine: engine, command: .tcp(host: "127.0.0.1", port: port),
                                            platform: .tcp(host: "127.0.0.1", port: port + 1), logger: logger, pollBeforeBlocking: poll, onStop: stop)
                mssim.start()
                servers.append("mssim on 127.0.0.1:\(port)+\(port + 1) (TCTI mssim:host=127.0.0.1,port=\(port))")
            }
            if swtpmPort != nil || swtpmCtrl != nil {
                let data = try swtpmData.map(ListenAddress.init(parsing:)) ?? swtpmPort.map { ListenAddress.tcp(host: "127.0.0.1", port: $0) }
                let control = try swtpmCtrl.map(ListenAddress.init(parsing:)) ?? .tcp(host: "127.0.0.1", port: swtpmPort! + 1)
                let swtpm = try SwtpmServer(engine: engine, data: data, control: control, logger: logger, pollBeforeBlocking: poll, onStop: stop)
                swtpm.start()
                servers.append("swtpm data \(data?.description ?? "-") control \(control)" + (swtpmPort.map { " (TCTI swtpm:host=127.0.0.1,port=\($0))" } ?? ""))
            }
            let modeText: String
            if case .persistent = mode { modeText = "persistent state in \(state!)" } else { modeText = "ephemeral (no state kept)" }
            print("cvm vtpm: \(modeText)")
            for line in servers { print("cvm vtpm: serving \(line)") }
            fflush(nil)
            while true { sleep(3600) }
        }
    }
}

/// Reads a 32-byte key given raw or as 64 hexadecimal digits.
func readStateKey(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read state key file \(path)") }
    if data.count == 32 { return Array(data) }
    let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    guard text.count == 64, let bytes = decodeHex(text) else {
        throw ValidationError("state key file \(path) must hold 32 raw bytes or 64 hex digits")
    }
    return bytes
}
