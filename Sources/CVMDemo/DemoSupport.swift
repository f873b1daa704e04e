import AttestationServer
import Crypto
import DiskEncryption
import Foundation
import KeyBroker
import Logging
import SEVSNP

/// The attestation service, in this process on a free loopback port with SQLite in the demo's
/// directory, stopped by cancelling its task.
struct DemoService: Sendable {
    let url: String
    let adminToken: String
    let task: Task<Void, any Error>

    static func start(directory: URL, emulatedAnchor: SNPTrustAnchor) async throws -> DemoService {
        var logger = Logger(label: "cvm-demo-service")
        logger.logLevel = .critical
        let token = MasterKey.random().hexEncoded
        let options = ServerOptions(
            host: "127.0.0.1", port: 0, storage: .sqlite(path: directory.appendingPathComponent("service.sqlite").path), tls: nil,
            service: ServiceConfiguration(masterKey: .random(), adminToken: token,
                                          verifier: .init(emulatedSNPAnchors: [emulatedAnchor], allowEmulatedRoots: true)))
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let task = Task {
            defer { continuation.finish() }
            try await ServiceApplication.run(options, logger: logger) { continuation.yield($0) }
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            _ = try await task.value
            throw DemoError.serviceDidNotStart
        }
        return DemoService(url: "http://127.0.0.1:\(port)", adminToken: token, task: task)
    }

    /// Stops the server and waits until its database is closed.
    func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}

/// The release policy the demo's owner puts: the emulated VM's platform, a runtime key, fresh
/// evidence, the reference measurement, PCRs and TCB, secure boot, and no debugging.
enum DemoPolicy {
    static let document = """
        {"version": 1, "id": "cvm", "rules": [
          {"rule": "platform", "in": ["azure-sev-snp-vtpm"]},
          {"rule": "runtime-key"},
          {"rule": "max-report-age", "seconds": 300},
          {"rule": "snp-measurement"},
          {"rule": "debug-forbidden"},
          {"rule": "min-tcb"},
          {"rule": "secure-boot"},
          {"rule": "pcrs", "bank": "sha256", "indices": [4, 7, 8, 9]}
        ]}
        """
}

/// The VM's data disk: LUKS2 whose passphrase is the key the service releases.
enum DemoDisk {
    static func format(path: String, key: [UInt8], message: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw DemoError.io(path)
        }
        try handle.truncate(atOffset: 17 << 20)
        try handle.close()
        let options = LUKS2Volume.FormatOptions(kdf: .pbkdf2(iterations: 1000), digestIterations: 1000, label: "cvm-demo-data")
        let (volume, volumeKey) = try LUKS2Volume.format(path: path, passphrase: key, options: options)
        var sector = Array(message.utf8)
        sector += [UInt8](repeating: 0, count: 4096 - sector.count)
        try LUKS2DataSegment(volume: volume, volumeKey: volumeKey).write(sector, sector: 0)
    }

    static func read(path: String, key: [UInt8]) throws -> String {
        let volume = try LUKS2Volume(path: path)
        let unlocked = try volume.unlock(passphrase: key)
        let sector = try LUKS2DataSegment(volume: volume, volumeKey: unlocked.volumeKey).read(sector: 0, count: 1)
        return String(decoding: sector.prefix { $0 != 0 }, as: UTF8.self)
    }
}

enum DemoError: Error, CustomStringConvertible {
    case serviceDidNotStart
    case io(String)

    var description: String {
        switch self {
        case .serviceDidNotStart: "the attestation service did not start"
        case .io(let path): "cannot create \(path)"
        }
    }
}
