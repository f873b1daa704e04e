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
/// against `cvm vtpm serve`, all over the swtpm socket protocol on loopback, in one run. Ours
/// runs twice: as served by default (a command connection polls briefly for the next command
/// before it sleeps) and with `--poll-microseconds 0` (it sleeps at once, as swtpm does). Each
/// server's CPU time per operation is shown beside its rate, so the price of polling is visible.
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

    @Option(help: "Run only the operations whose name contains this text (case-insensitive); repeatable.")
    var only: [String] = []

    func validate() throws {
        guard seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600]") }
        for text in only where !TPMWorkload.all.contains(where: { $0.name.localizedCaseInsensitiveContains(text) }) {
            throw ValidationError("no operation matches --only '\(text)'; the operations: \(TPMWorkload.all.map(\.name).joined(separator: ", "))")
        }
    }

    func run() throws {
        let stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("cvm-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: stateDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: stateDirectory) }
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let serve = { (port: UInt16) in ["vtpm", "serve", "--no-mssim", "--swtpm-port", "\(port)", "--startup-clear"] }

        let peers = [
            try BenchPeer.start(name: "swtpm", executable: swtpm) { port in
                ["socket", "--tpm2", "--tpmstate", "dir=\(stateDirectory.path)",
                 "--server", "type=tcp,port=\(port),bindaddr=127.0.0.1", "--ctrl", "type=tcp,port=\(port + 1),bindaddr=127.0.0.1",
                 "--flags", "not-need-init,startup-clear"]
            },
            try BenchPeer.start(name: "cvm", executable: me, arguments: serve),
            try BenchPeer.start(name: "cvm, no polling", executable: me) { serve($0) + ["--poll-microseconds", "0"] },
        ]
        defer { peers.forEach { $0.stop() } }

        print("cvm bench vtpm: \(seconds) s per operation per TPM in \(Self.rounds) alternating rounds (median shown), one client, swtpm socket protocol on loopback")
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores; \(ChildProcess.firstLine(swtpm))")
        print("rates in operations per second; in brackets, the server's CPU time per operation in microseconds")
        let workloads = TPMWorkload.all.filter { workload in only.isEmpty || only.contains { workload.name.localizedCaseInsensitiveContains($0) } }
        var table: [(String, [Measurement])] = []
        for workload in workloads {
            let clients = peers.map { TPM2Client(transport: SwtpmTransport(port: $0.port)) }
            let operations = try clients.map { try workload.prepare($0) }
            // Short rounds alternate between the TPMs so that a change in machine load
            // affects both alike; the median round is reported.
            var rounds = [[Double]](repeating: [], count: peers.count)
            var calls = [Int](repeating: 0, count: peers.count)
            var cpu = [Duration](repeating: .zero, count: peers.count)
            for _ in 0..<Self.rounds {
                for i in peers.indices {
                    let before = peers[i].cpuTime()
                    let (rate, count) = try timedCalls(seconds: seconds / Double(Self.rounds), minimumCalls: 3, operations[i])
                    cpu[i] += peers[i].cpuTime() - before
                    rounds[i].append(rate)
                    calls[i] += count + 1  // and the warm-up call
                }
            }
            for client in clients { try workload.cleanup(client) }
            let results = peers.indices.map { i in
                Measurement(rate: rounds[i].sorted()[Self.rounds / 2], cpuPerCall: cpu[i].inSeconds * 1e6 / Double(calls[i]))
            }
            table.append((workload.name, results))
            print(workload.name.padding(toLength: 40, withPad: " ", startingAt: 0)
                  + zip(peers, results).map { "\($0.name) \($1)" }.joined(separator: "   "))
        }
        print("")
        print("| operation | swtpm | cvm vtpm serve | cvm / swtpm | cvm, --poll-microseconds 0 | that / swtpm |")
        print("|---|---:|---:|---:|---:|---:|")
        for (name, results) in table {
            print("| \(name) | \(results[0]) | \(results[1]) | "
                  + String(format: "%.2f", results[1].rate / results[0].rate)
                  + " | \(results[2]) | " + String(format: "%.2f", results[2].rate / results[0].rate) + " |")
        }
    }

    /// One server's figures for one operation.
    struct Measurement: CustomStringConvertible {
        let rate: Double
        let cpuPerCall: Double
        var description: String { String(format: "%.0f/s (%.0f µs)", rate, cpuPerCall) }
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
            let pid = try ChildProcess.start([executable] + arguments(port))
            var exited = false
            for _ in 0..<50 {
                if (try? Connection.connect(host: "127.0.0.1", port: port)) != nil { return BenchPeer(name: name, pid: pid, port: port) }
                exited = ChildProcess.hasExited(pid)
                if exited { break }
                Thread.sleep(forTimeInterval: 0.1)
            }
            // A reaped pid may already be another process's: signal only a child still running.
            if !exited { ChildProcess.stop(pid) }
        }
        throw ValidationError("could not start \(name) (\(executable))")
    }

    func stop() { ChildProcess.stop(pid) }

    /// The CPU time (user and system, all threads) the process has used: utime and stime,
    /// fields 14 and 15 of /proc/PID/stat (proc(5)), in clock ticks.
    func cpuTime() -> Duration {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let end = stat.lastIndex(of: ")") else { return .zero }
        // Fields after the command name, which is in parentheses and may hold spaces: state is 3.
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return .zero }
        return .seconds(Double(user + system) / Double(sysconf(Int32(_SC_CLK_TCK))))
    }
}
