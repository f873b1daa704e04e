import Crypto
import Foundation
import TPM2
import TPMClient
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
