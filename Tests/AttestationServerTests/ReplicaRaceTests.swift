import AsyncHTTPClient
import AttestationClient
import Crypto
import Foundation
import KeyBroker
import SEVSNP
import SwiftASN1
import TestSupport
import Testing

/// Two `cvm serve` processes on one PostgreSQL database, raced by many clients.
@Suite("Replicas sharing PostgreSQL", .enabled(if: StoreBackend.postgresURL != nil, "needs CVM_TEST_POSTGRES_URL (scripts/postgres.sh start)"))
struct ReplicaRaceTests {
    @Test("Every nonce is accepted exactly once, whichever replica and however many clients redeem it")
    func nonceRace() async throws {
        let binary = try #require(cvmExecutable, "the cvm executable is built beside the tests (swift build)")
        try await StoreBackend.withFreshPostgresDatabase { url in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("replicas-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let files = try ReplicaFiles(directory: directory)
            let ports = [Int.random(in: 20_000..<24_000), Int.random(in: 24_000..<28_000)]
            let replicas = try ports.map { port in
                try ChildProcess(binary: binary, arguments: [
                    "serve", "--port", "\(port)", "--database-url", url, "--master-key-file", files.masterKey.path,
                    "--admin-token-file", files.adminToken.path, "--allow-emulated", "--emulated-snp-root", files.emulatedRoot.path,
                    "--data-dir", directory.path,
                ], logDirectory: directory)
            }
            defer { replicas.forEach { $0.kill() } }
            let clients = ports.map { AttestationClient(baseURL: "http://127.0.0.1:\($0)", adminToken: ReplicaFiles.token) }
            for (replica, client) in zip(replicas, clients) {
                try await replica.waitUntilReady(client)
            }
            try await clients[0].putDocument(kind: "policies", name: "default", json: Array(EmulatedSNP.policy.utf8))
            try await clients[1].putDocument(kind: "reference-values", name: "default", json: Array(EmulatedSNP.referenceValues.utf8))
            try await clients[0].putSecret("disk", value: Array("shared secret".utf8), policy: "default", referenceValues: "default")

            let vmKey = P256.KeyAgreement.PrivateKey()
            var evidence: [[UInt8]] = []
            for index in 0..<24 {
                let nonce = try await clients[index % 2].challenge().nonceBytes
                evidence.append(try EmulatedSNP.bundle(nonce: nonce, runtimeKey: vmKey.publicKey))
            }
            // Eight clients per nonce, four on each replica, all at once.
            let outcomes = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for (index, bundle) in evidence.enumerated() {
                    for attempt in 0..<8 {
                        group.addTask {
                            do {
                                _ = try await clients[attempt % 2].release(secret: "disk", evidence: bundle)
                                return (index, "released")
                            } catch let AttestationClientError.refused(_, code, _, _) {
                                return (index, code)
                            }
                        }
                    }
                }
                return try await group.reduce(into: [Int: [String]]()) { $0[$1.0, default: []].append($1.1) }
            }
            for index in evidence.indices {
                let results = outcomes[index] ?? []
                #expect(results.filter { $0 == "released" }.count == 1, "nonce \(index): \(results)")
                #expect(results.filter { $0 == "nonce_replayed" }.count == 7, "nonce \(index): \(results)")
            }
        }
    }
}

/// The key material both replicas share, and the emulated SNP root they are told to accept.
struct ReplicaFiles {
    static let token = "replica-admin-token"
    let masterKey: URL
    let adminToken: URL
    let emulatedRoot: URL

    init(directory: URL) throws {
        masterKey = directory.appendingPathComponent("master.key")
        adminToken = directory.appendingPathComponent("admin.token")
        emulatedRoot = directory.appendingPathComponent("emulated-root.pem")
        try Data(MasterKey.random().hexEncoded.utf8).write(to: masterKey)
        try Data(Self.token.utf8).write(to: adminToken)
        let pem = [EmulatedSNP.chain.ark, EmulatedSNP.chain.ask].map { PEMDocument(type: "CERTIFICATE", derBytes: $0.derBytes).pemString }
        try Data(pem.joined(separator: "\n").utf8).write(to: emulatedRoot)
    }
}

extension ChildProcess {
    /// Polls for a challenge until the replica answers (20 s at most).
    func waitUntilReady(_ client: AttestationClient) async throws {
        for _ in 0..<200 {
            guard process.isRunning else { break }
            if (try? await client.challenge()) != nil { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ReplicaNotReady(log: self.log)
    }
}

struct ReplicaNotReady: Error, CustomStringConvertible {
    let log: String
    var description: String { "cvm serve did not come up:\n\(log)" }
}
