import Crypto
import Foundation
import TPM2
import TPMClient
import TestSupport
import VirtualTPM

/// A powered-on, started engine and a client talking to it in-process.
struct StartedTPM {
    let engine: TPMEngine
    let client: TPM2Client

    init(_ mode: TPMEngine.Mode = .ephemeral) throws {
        engine = try TPMEngine(mode: mode)
        client = TPM2Client(transport: EngineTransport(engine: engine))
        try boot()
    }

    /// _TPM_Init then TPM2_Startup(CLEAR).
    func boot() throws {
        engine.powerOn()
        try client.startup(.clear)
    }

    /// Power cycle: everything volatile is lost.
    func reboot() throws {
        engine.powerOff()
        try boot()
    }
}

/// A temporary directory removed when the value is released.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("cvmkit-vtpm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// SHA-256 of the concatenated parts, computed with swift-crypto (not the engine's hashing).
func sha256(_ parts: [UInt8]...) -> [UInt8] {
    var hasher = SHA256()
    for part in parts { hasher.update(data: part) }
    return Array(hasher.finalize())
}

extension ChildProcess {
    /// Polls with a raw TPM2_GetRandom until any TPM response comes back (5 s at most).
    func waitUntilAnswering(_ transport: any TPMTransport) -> Bool {
        let getRandom: [UInt8] = [0x80, 0x01, 0, 0, 0, 0x0C, 0, 0, 0x01, 0x7B, 0, 8]
        for _ in 0..<250 {
            guard process.isRunning else { return false }
            if (try? transport.send(getRandom)) != nil { return true }
            usleep(20_000)
        }
        return false
    }
}
