import ArgumentParser
import Foundation
import TPM2
import TPMClient
import VirtualTPM

/// `cvm bench`: performance measured side by side with peer tools on the same machine.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure CVMKit beside peer tools on this machine.",
        subcommands: [BenchVTPM.self, BenchEventLog.self, BenchDisk.self, BenchAttest.self, BenchTDX.self]
    )
}

/// `cvm bench vtpm`: operations per second through one client against Debian's swtpm and
/// against `cvm vtpm serve`, both over the swtpm socket protocol on loopback, in one run.
struct BenchVTPM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vtpm",
        abstract: "TPM operations per second: swtpm beside cvm vtpm serve, one client, same protocol.",
        discussion: "Build in release mode first (swift build -c release); the vTPM server is this executable."
    )

    @Option(help: "Seconds to run each operation on each TPM, in alternating rounds.")
    var seconds: Double = 5

    static let rounds = 5

    @Option(help: "The swtpm executable.")
    var swtpm: String = "swtpm"

    @Option(help: "Passed to cvm vtpm serve (0: block at once, as swtpm does); its default when not given.")
    var pollMicroseconds: Int?

    func validate() throws {
        guard seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600]") }
    }

    func run() throws {
        let stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("cvm-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: stateDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: stateDirectory) }
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path

        let peers = [
            try BenchPeer.start(name: "swtpm", executable: swtpm) { port in
                ["socket", "--tpm2", "--tpmstate", "dir=\(stateDirectory.path)",
                 "--server", "type=tcp,port=\(port),bindaddr=127.0.0.1", "--ctrl", "type=tcp,port=\(port + 1),bindaddr=127.0.0.1",
                 "--flags", "not-need-init,startup-clear"]
            },
            try BenchPeer.start(name: "cvm vtpm serve", executable: me) { port in
                ["vtpm", "serve", "--no-mssim", "--swtpm-port", "\(port)", "--startup-clear"] + (pollMicroseconds.map { ["--poll-microseconds", "\($0)"] } ?? [])
            },
        ]
        defer { peers.forEach { $0.stop() } }

        print("cvm bench vtpm: \(seconds) s per operation per TPM in \(Self.rounds) alternating rounds (median shown), one client, swtpm socket protocol on loopback")
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores; \(BenchPeer.version(of: swtpm))"
              + (pollMicroseconds.map { "; cvm vtpm serve --poll-microseconds \($0)" } ?? ""))
        var table: [(String, [Double])] = []
        for workload in TPMWorkload.all {
            let clients = peers.map { TPM2Client(transport: SwtpmTransport(port: $0.port)) }
            let operations = try clients.map { try workload.prepare($0) }
            // Short rounds alternate between the TPMs so that a change in machine load
            // affects both alike; the median round is reported.
            var rounds = [[Double]](repeating: [], count: peers.count)
            for _ in 0..<Self.rounds {
                for i in peers.indices { rounds[i].append(try callsPerSecond(seconds: seconds / Double(Self.rounds), minimumCalls: 3, operations[i])) }
            }
            for client in clients { try workload.cleanup(client) }
            let rates = rounds.map { $0.sorted()[$0.count / 2] }
            table.append((workload.name, rates))
            let label = workload.name.padding(toLength: 40, withPad: " ", startingAt: 0)
            print(label + String(format: "swtpm %9.1f/s   cvm %9.1f/s", rates[0], rates[1]))
        }
        print("")
        print("| operation | swtpm (ops/s) | cvm vtpm serve (ops/s) | cvm / swtpm |")
        print("|---|---:|---:|---:|")
        for (name, rates) in table {
            print(String(format: "| %@ | %.1f | %.1f | %.2f |", name as NSString, rates[0], rates[1], rates[1] / rates[0]))
        }
    }
}

/// One benchmark row: set-up on a TPM, the operation to repeat, and clean-up.
struct TPMWorkload {
    let name: String
    let prepare: (TPM2Client) throws -> (() throws -> Void)
    let cleanup: (TPM2Client) throws -> Void

    static let pcr = 16
    static let sha256PCR16 = TPMLPCRSelection([TPMSPCRSelection(hash: .sha256, indices: [pcr])])

    /// An ECC P-256 restricted signing key (an AK) for quotes.
    static let attestationKey = TPMTPublic(
        nameAlg: .sha256, objectAttributes: [.fixedTPM, .fixedParent, .sensitiveDataOrigin, .userWithAuth, .restricted, .signEncrypt],
        parameters: .ecc(TPMSECCParms(scheme: TPMTScheme(.ecdsa, hash: .sha256), curve: .nistP256)),
        unique: .ecc(TPMSECCPoint(x: [], y: []))
    )

    /// An ECC P-256 storage key (an SRK) to seal under.
    static let storageKey = TPMTPublic(
        nameAlg: .sha256, objectAttributes: [.fixedTPM, .fixedParent, .sensitiveDataOrigin, .userWithAuth, .noDA, .restricted, .decrypt],
        parameters: .ecc(TPMSECCParms(symmetric: .aes128CFB, curve: .nistP256)),
        unique: .ecc(TPMSECCPoint(x: [], y: []))
    )

    static func flushAll(_ client: TPM2Client) throws {
        for handle in try client.transientHandles() { try client.flushContext(handle) }
    }

    /// CreatePrimary then FlushContext, with the template's unique field varied by `vary`.
    static func primary(_ name: String, template: TPMTPublic, vary: Bool) -> TPMWorkload {
        TPMWorkload(name: name, prepare: { client in
            var counter: UInt32 = 0
            return {
                var t = template
                if vary {
                    counter += 1
                    var w = TPMWriter()
                    w.u32(counter)
                    t.unique = .rsa(w.bytes + [UInt8](repeating: 0, count: 252))
                }
                let object = try client.createPrimary(hierarchy: .endorsement, template: t)
                try client.flushContext(object.handle)
            }
        }, cleanup: flushAll)
    }

    static var all: [TPMWorkload] { [
        TPMWorkload(name: "PCR_Extend (SHA-256)", prepare: { client in
            let digest = TPMLDigestValues([TPMTHA(algorithm: .sha256, digest: TPMHashAlgorithm.sha256.hash(Array("cvm bench".utf8)))])
            return { try client.pcrExtend(pcr: pcr, digests: digest) }
        }, cleanup: { _ in }),
        TPMWorkload(name: "Quote (ECC P-256, 8 PCRs)", prepare: { client in
            let ak = try client.createPrimary(hierarchy: .owner, template: attestationKey)
            let selection = TPMLPCRSelection([TPMSPCRSelection(hash: .sha256, indices: 0..<8)])
            let nonce = [UInt8](repeating: 0xA5, count: 32)
            return { _ = try client.quote(key: ak.handle, qualifyingData: nonce, selection: selection) }
        }, cleanup: flushAll),
        TPMWorkload(name: "Unseal with a PolicyPCR session", prepare: { client in
            let srk = try client.createPrimary(hierarchy: .owner, template: storageKey)
            let current = try client.pcrRead(sha256PCR16).digests
            var policy = PolicyDigest(.sha256)
            policy.policyPCR(selection: sha256PCR16, values: current)
            let sealedTemplate = TPMTPublic(nameAlg: .sha256, objectAttributes: [.fixedTPM, .fixedParent, .noDA], authPolicy: policy.digest,
                                            parameters: .keyedHash(.null), unique: .digest([]))
            let created = try client.create(parent: srk.handle, template: sealedTemplate, sensitive: TPMSSensitiveCreate(data: Array(repeating: 7, count: 32)))
            let sealed = try client.load(parent: srk.handle, created)
            return {
                let session = try client.startAuthSession(type: .policy)
                try client.policyPCR(session: session.handle, selection: sha256PCR16)
                _ = try client.unseal(sealed.handle, auth: TPMSessionAuth(handle: session.handle, attributes: []))
            }
        }, cleanup: flushAll),
        primary("CreatePrimary ECC P-256 (EK L-2)", template: .ekECCP256, vary: false),
        primary("CreatePrimary RSA-2048 (EK L-1)", template: .ekRSA2048, vary: false),
        primary("CreatePrimary RSA-2048, new template", template: .ekRSA2048, vary: true),
    ] }
}

extension TPM2Client {
    /// Transient object handles (TPM2_GetCapability TPM_CAP_HANDLES, Part 3 §30.2).
    func transientHandles() throws -> [TPMHandle] {
        var w = TPMWriter()
        w.u16(TPMStructureTag.noSessions.rawValue)
        w.u32(22)
        w.write(TPMCommandCode.getCapability)
        w.u32(TPMCapability.handles.rawValue)
        w.u32(0x8000_0000)
        w.u32(64)
        let response = try sendRaw(w.bytes)
        var r = TPMReader(response.dropFirst(10))
        _ = try r.u8("moreData")
        _ = try r.u32("capability")
        return try r.list("TPML_HANDLE", maximum: 64) { r2 throws(TPMMarshalError) in try TPMHandle(from: &r2) }
    }
}

/// A TPM server process started for the benchmark, on the first free pair of ports found.
final class BenchPeer {
    let name: String
    let pid: pid_t
    let port: UInt16

    private init(name: String, pid: pid_t, port: UInt16) {
        self.name = name
        self.pid = pid
        self.port = port
    }

    static func start(name: String, executable: String, arguments: (UInt16) -> [String]) throws -> BenchPeer {
        for _ in 0..<20 {
            // Below the ephemeral range, so a port in use by an outgoing connection is unlikely.
            let port = UInt16.random(in: 20000...31998)
            let pid = try launchProcess(executable, arguments(port))
            for _ in 0..<50 {
                if (try? Connection.connect(host: "127.0.0.1", port: port)) != nil { return BenchPeer(name: name, pid: pid, port: port) }
                guard !hasExited(pid) else { break }
                Thread.sleep(forTimeInterval: 0.1)
            }
            stop(pid)
        }
        throw ValidationError("could not start \(name) (\(executable))")
    }

    func stop() { Self.stop(pid) }

    /// SIGTERM, then waits for the process to end.
    private static func stop(_ pid: pid_t) {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    }

    private static func hasExited(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == pid
    }

    static func version(of executable: String) -> String {
        let process = Process()
        let pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable, "--version"]
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "\(executable): version unknown" }
        process.waitUntilExit()
        return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n").first.map(String.init) ?? executable
    }
}
