import AttestationServer
import Crypto
import DiskEncryption
import EmulatedPlatform
import EventLog
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

/// Reference values derived from the artifacts, never read off a running VM: the SNP launch
/// measurement the firmware image gives for the VM's vCPUs, and the PCRs the firmware's measured
/// boot of the owner's boot chain gives (replayed from the log the firmware writes for it).
struct DemoReferences {
    let measurement: [UInt8]
    let pcrs: [Int: [UInt8]]

    static let policy = """
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

    static func derive(platform: EmulatedPlatform, bootChain: EmulatedBootChain, directory: URL) async throws -> DemoReferences {
        let configuration = EmulatedVMConfiguration(bootChain: bootChain)
        let measurement = try platform.firmware.launchMeasurement(vcpus: configuration.vcpus, vcpuType: configuration.vcpuType)
        let replay = try platform.firmware.bootLog(bootChain, secureBoot: true).replay()
        let sha256 = replay.values.banks[.sha256] ?? [:]
        var pcrs: [Int: [UInt8]] = [:]
        for index in [4, 7, 8, 9] { pcrs[index] = sha256[UInt32(index)] }
        return DemoReferences(measurement: measurement, pcrs: pcrs)
    }

    func document() throws -> [UInt8] {
        let tcb = EmulatedPlatform.defaultTCB
        let document: [String: Any] = [
            "snpMeasurements": [DemoScenario.hex(measurement)],
            "minimumTCB": ["bootloader": Int(tcb.bootloader), "tee": Int(tcb.tee), "snp": Int(tcb.snp), "microcode": Int(tcb.microcode)],
            "pcrs": ["sha256": Dictionary(uniqueKeysWithValues: pcrs.map { ("\($0.key)", [DemoScenario.hex($0.value)]) })],
        ]
        return Array(try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys]))
    }
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
