import ArgumentParser
import AsyncHTTPClient
import NIOCore
import Attestation
import AttestationClient
import Crypto
import Foundation
import SEVSNP
import SwiftASN1
import Synchronization
import EvidenceCore

/// `cvm bench attest`: attestations per second through `cvm serve` beside the same verification
/// in process, in one run on this machine.
struct BenchAttest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attest",
        abstract: "SEV-SNP attestations per second and latency through cvm serve, beside the in-process rate.",
        discussion: """
        Starts `cvm serve` (this executable; SQLite unless --database-url) trusting a fresh \
        emulated SEV-SNP chain, measures verify+appraise+EAR in process with one task per core, \
        then fetches challenges and signs one report per nonce (untimed) and posts them to \
        /v1/attest with --concurrency clients for --duration seconds. Build in release mode first.
        """
    )

    @Option(help: "Concurrent HTTP clients.")
    var concurrency = 32

    @Option(help: "Seconds of HTTP load (and of in-process measurement).")
    var duration: Double = 10

    @Option(help: "PostgreSQL URL for the server's store (default: SQLite in a temporary directory).")
    var databaseURL: String?

    func validate() throws {
        guard (1...1024).contains(concurrency) else { throw ValidationError("--concurrency must be 1 to 1024") }
        guard duration > 0, duration <= 600 else { throw ValidationError("--duration must be in (0, 600]") }
    }

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cvm-bench-attest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let chain = try EmulatedSNPChain(product: .milan)
        let rootPEM = directory.appendingPathComponent("emulated-root.pem")
        try Data([chain.ark, chain.ask].map { PEMDocument(type: "CERTIFICATE", derBytes: $0.derBytes).pemString }.joined(separator: "\n").utf8).write(to: rootPEM)
        let masterKey = directory.appendingPathComponent("master.key")
        try Data(String(repeating: "ab", count: 32).utf8).write(to: masterKey)

        let measurement = [UInt8](repeating: 0x5A, count: 48)
        let policy = Array(#"{"version":1,"id":"bench","rules":[{"rule":"platform","in":["sev-snp"]},{"rule":"runtime-key"},{"rule":"snp-measurement"},{"rule":"debug-forbidden"}]}"#.utf8)
        let references = Array("{\"snpMeasurements\":[\"\(hexString(measurement))\"]}".utf8)
        let runtimeKey = RuntimeKey(P256.KeyAgreement.PrivateKey().publicKey)
        let makeBundle = { @Sendable (nonce: [UInt8]) throws -> [UInt8] in
            let report = try chain.signReport(EmulatedReportContents(
                reportData: try EvidenceBinding.reportData(nonce: nonce, runtimeKey: runtimeKey), measurement: measurement))
            return try EvidenceBundle(nonce: nonce, runtimeKey: runtimeKey, evidence: .sevSNP(SNPEvidence(report: report, certificates: chain.certificates))).jsonEncoded()
        }

        let cores = ProcessInfo.processInfo.activeProcessorCount
        let inProcess = try await inProcessRate(bundle: makeBundle, chain: chain, policy: policy, references: references, tasks: cores)
        print(String(format: "in process: %.0f attestations/s (verify + appraise + EAR, %d tasks)", inProcess, cores))

        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        var serveArguments = ["serve", "--data-dir", directory.path, "--master-key-file", masterKey.path, "--allow-emulated",
                              "--emulated-snp-root", rootPEM.path, "--log-level", "warning"]
        if let databaseURL { serveArguments += ["--database-url", databaseURL] }
        let server = try BenchPeer.start(name: "cvm serve", executable: me) { serveArguments + ["--port", "\($0)"] }
        defer { server.stop() }
        let token = String(decoding: try Data(contentsOf: directory.appendingPathComponent("admin-token")), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let client = AttestationClient(baseURL: "http://127.0.0.1:\(server.port)", adminToken: token)
        try await client.putDocument(kind: "policies", name: "default", json: policy)
        try await client.putDocument(kind: "reference-values", name: "default", json: references)

        let count = Int(inProcess * duration * 1.3) + concurrency
        FileHandle.standardError.write(Data("preparing \(count) challenges and reports (untimed)...\n".utf8))
        let bundles = try await prepare(count: count, client: client, bundle: makeBundle)
        let result = try await load(client: client, bundles: bundles)
        let rate = Double(result.latencies.count) / result.elapsed
        print(String(format: "cvm serve:  %.0f attestations/s, p50 %.1f ms, p99 %.1f ms (%d clients, %d requests, %d errors)",
                     rate, result.percentile(0.5), result.percentile(0.99), concurrency, result.latencies.count, result.errors))
        print(String(format: "ratio HTTP / in process: %.2f", rate / inProcess))
    }

    /// Verify, appraise and sign EARs for fresh bundles with `tasks` concurrent tasks.
    private func inProcessRate(bundle: @escaping @Sendable ([UInt8]) throws -> [UInt8], chain: EmulatedSNPChain, policy: [UInt8], references: [UInt8],
                               tasks: Int) async throws -> Double {
        let verifier = AttestationVerifier(configuration: .init(emulatedSNPAnchors: [.emulated(chain)], allowEmulatedRoots: true))
        let appraisalPolicy = try AppraisalPolicy(json: policy)
        let referenceValues = try ReferenceValues(json: references)
        let signer = try EARSigner(keys: [.es256(kid: "bench")], verifierID: .init(developer: "cvmkit", build: "bench"))
        let perTask = 400
        let inputs = try (0..<(perTask * tasks)).map { _ in try bundle((0..<32).map { _ in UInt8.random(in: 0...255) }) }
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    for json in inputs[(task * perTask)..<((task + 1) * perTask)] {
                        let parsed = try EvidenceBundle(json: json)
                        let verified = try verifier.verify(parsed, expecting: .nonce(parsed.nonce))
                        _ = try await signer.sign(appraisalPolicy.appraise(verified, referenceValues: referenceValues))
                    }
                }
            }
            try await group.waitForAll()
        }
        return Double(inputs.count) / (ContinuousClock.now - start).inSeconds
    }

    /// `count` bundles, each answering its own challenge from the server.
    private func prepare(count: Int, client: AttestationClient, bundle: @escaping @Sendable ([UInt8]) throws -> [UInt8]) async throws -> [[UInt8]] {
        try await withThrowingTaskGroup(of: [[UInt8]].self) { group in
            let workers = 8
            for worker in 0..<workers {
                group.addTask {
                    var made: [[UInt8]] = []
                    for _ in stride(from: worker, to: count, by: workers) {
                        made.append(try bundle(try await client.challenge().nonceBytes))
                    }
                    return made
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }

    private struct LoadResult {
        var latencies: [Double]
        var errors: Int
        var elapsed: Double

        func percentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return .nan }
            let sorted = latencies.sorted()
            return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] * 1000
        }
    }

    /// `concurrency` clients post bundles until `duration` passes or the bundles run out.
    private func load(client: AttestationClient, bundles: [[UInt8]]) async throws -> LoadResult {
        let next = NextIndex()
        let start = ContinuousClock.now
        let deadline = start + .milliseconds(Int(duration * 1000))
        let results = try await withThrowingTaskGroup(of: ([Double], Int).self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var latencies: [Double] = []
                    var errors = 0
                    while ContinuousClock.now < deadline, let index = next.take(below: bundles.count) {
                        let sent = ContinuousClock.now
                        // A raw POST: the load generator shares the cores with the server, so it
                        // reads the answer without decoding it.
                        var request = HTTPClientRequest(url: client.baseURL + "/v1/attest")
                        request.method = .POST
                        request.body = .bytes(ByteBuffer(bytes: bundles[index]))
                        do {
                            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                            _ = try await response.body.collect(upTo: 1 << 20)
                            if response.status == .ok {
                                latencies.append((ContinuousClock.now - sent).inSeconds)
                            } else {
                                errors += 1
                            }
                        } catch {
                            errors += 1
                        }
                    }
                    return (latencies, errors)
                }
            }
            return try await group.reduce(into: LoadResult(latencies: [], errors: 0, elapsed: 0)) { $0.latencies += $1.0; $0.errors += $1.1 }
        }
        return LoadResult(latencies: results.latencies, errors: results.errors, elapsed: (ContinuousClock.now - start).inSeconds)
    }
}

/// Hands out bundle indices to the load tasks.
private final class NextIndex: Sendable {
    private let counter = Mutex(0)

    func take(below limit: Int) -> Int? {
        counter.withLock { value in
            guard value < limit else { return nil }
            defer { value += 1 }
            return value
        }
    }
}
