import Attestation
import AttestationServer
import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import JWTKit
import KeyBroker
import SEVSNP
import Testing

/// Evidence from an emulated SEV-SNP guest, bound to a nonce and runtime key the way the guest
/// agent binds them.
enum EmulatedSNP {
    static let chain: EmulatedSNPChain = try! EmulatedSNPChain(product: .milan)
    static let goodMeasurement = [UInt8](repeating: 0x5A, count: 48)

    static func bundle(nonce: [UInt8], runtimeKey: P256.KeyAgreement.PublicKey?, measurement: [UInt8] = goodMeasurement,
                       debug: Bool = false, reportNonce: [UInt8]? = nil) throws -> [UInt8] {
        let key = runtimeKey.map(RuntimeKey.init)
        let report = try chain.signReport(EmulatedReportContents(
            reportData: try EvidenceBinding.reportData(nonce: reportNonce ?? nonce, runtimeKey: key), measurement: measurement,
            policy: debug ? 0xB0000 : 0x30000))
        return try EvidenceBundle(nonce: nonce, runtimeKey: key, evidence: .sevSNP(SNPEvidence(report: report, certificates: chain.certificates))).jsonEncoded()
    }

    static let policy = """
        {"version": 1, "id": "snp-test", "rules": [
          {"rule": "platform", "in": ["sev-snp"]}, {"rule": "runtime-key"},
          {"rule": "snp-measurement"}, {"rule": "debug-forbidden"}]}
        """
    static let referenceValues = "{\"snpMeasurements\": [\"\(String(repeating: "5a", count: 48))\"]}"
}

@Suite("Attestation and secret release over HTTP")
struct ReleaseTests {
    /// Stores the SNP policy, reference values and a secret "disk" released by them.
    static func provision(_ client: any TestClientProtocol, secret: String = "disk key bytes") async throws {
        for (path, body) in [("/v1/admin/policies/default", EmulatedSNP.policy), ("/v1/admin/reference-values/default", EmulatedSNP.referenceValues)] {
            try await client.execute(uri: path, method: .put, headers: TestService.admin, body: jsonBody(body)) { #expect($0.status == .ok) }
        }
        let put = "{\"value\":\"\(Data(secret.utf8).base64EncodedString())\",\"policy\":\"default\",\"referenceValues\":\"default\"}"
        try await client.execute(uri: "/v1/admin/secrets/disk", method: .put, headers: TestService.admin, body: jsonBody(put)) { #expect($0.status == .ok) }
    }

    static func nonce(_ client: any TestClientProtocol) async throws -> [UInt8] {
        try await client.execute(uri: "/v1/challenge", method: .post) { Array(Data(base64Encoded: $0.json["nonce"] as? String ?? "") ?? Data()) }
    }

    @Test("Good evidence gets the secret, HPKE-sealed to its runtime key, and an EAR the JWKS verifies")
    func release() async throws {
        try await TestService.run { client, service in
            try await Self.provision(client)
            let vmKey = P256.KeyAgreement.PrivateKey()
            let nonce = try await Self.nonce(client)
            let evidence = try EmulatedSNP.bundle(nonce: nonce, runtimeKey: vmKey.publicKey)
            let response = try await client.execute(uri: "/v1/secrets/disk/release", method: .post, body: ByteBuffer(bytes: evidence)) { $0 }
            #expect(response.status == .ok, "\(String(buffer: response.body))")
            let secret = try JSONDecoder().decode(SecretRelease.self, from: JSONSerialization.data(withJSONObject: try #require(response.json["secret"])))
            #expect(try secret.open(name: "disk", nonce: nonce, with: vmKey) == Array("disk key bytes".utf8))
            #expect(!String(buffer: response.body).contains(Data("disk key bytes".utf8).base64EncodedString()))

            let jwks = try await client.execute(uri: "/.well-known/jwks.json", method: .get) { Data(buffer: $0.body) }
            let keys = try await JWTKeyCollection().add(jwksJSON: String(decoding: jwks, as: UTF8.self))
            let ear = try await keys.verify(try #require(response.json["ear"] as? String), as: EAR.self)
            #expect(ear.status == .affirming)
            #expect(ear.nonce != nil)

            let audit = try await service.store.auditEvents(limit: 1)
            #expect(audit.first?.action == "release" && audit.first?.outcome == "ok")
            #expect(!(audit.first?.detail.contains("disk key bytes") ?? true))
        }
    }

    @Test("Every refusal path: replayed, unknown and foreign nonces, tampered evidence, policy failures, unknown secret")
    func refusals() async throws {
        try await TestService.run { client, service in
            try await Self.provision(client)
            let vmKey = P256.KeyAgreement.PrivateKey()
            func release(_ evidence: [UInt8], expect status: HTTPResponse.Status, code: String, secret: String = "disk") async throws -> TestResponse {
                try await client.execute(uri: "/v1/secrets/\(secret)/release", method: .post, body: ByteBuffer(bytes: evidence)) { response in
                    #expect(response.status == status, "\(code): \(String(buffer: response.body))")
                    #expect(response.json["error"] as? String == code)
                    #expect(!String(buffer: response.body).contains("disk key bytes"))
                    return response
                }
            }
            // A used nonce is refused the second time.
            let nonce = try await Self.nonce(client)
            let good = try EmulatedSNP.bundle(nonce: nonce, runtimeKey: vmKey.publicKey)
            try await client.execute(uri: "/v1/secrets/disk/release", method: .post, body: ByteBuffer(bytes: good)) { #expect($0.status == .ok) }
            _ = try await release(good, expect: .conflict, code: "nonce_replayed")
            // A nonce this service never issued.
            _ = try await release(try EmulatedSNP.bundle(nonce: Array(repeating: 1, count: 32), runtimeKey: vmKey.publicKey), expect: .badRequest, code: "nonce_unknown")
            // Evidence made for another nonce than the one it presents.
            _ = try await release(try EmulatedSNP.bundle(nonce: try await Self.nonce(client), runtimeKey: vmKey.publicKey, reportNonce: Array(repeating: 2, count: 32)),
                                  expect: .unprocessableContent, code: "evidence_invalid")
            // A flipped bit in the signed report.
            var tampered = try JSONSerialization.jsonObject(with: Data(try EmulatedSNP.bundle(nonce: try await Self.nonce(client), runtimeKey: vmKey.publicKey))) as! [String: Any]
            var report = Array(Data(base64Encoded: tampered["report"] as! String)!)
            report[0x90] ^= 1
            tampered["report"] = Data(report).base64EncodedString()
            _ = try await release(Array(try JSONSerialization.data(withJSONObject: tampered)), expect: .unprocessableContent, code: "evidence_invalid")
            // Policy failures: a measurement not in the reference values, the debug bit.
            let refused = try await release(try EmulatedSNP.bundle(nonce: try await Self.nonce(client), runtimeKey: vmKey.publicKey, measurement: Array(repeating: 0x66, count: 48)),
                                            expect: .forbidden, code: "policy_refused")
            let rules = refused.json["rules"] as? [[String: Any]] ?? []
            #expect(rules.contains { ($0["rule"] as? String)?.hasPrefix("snp-measurement") == true && $0["passed"] as? Bool == false })
            _ = try await release(try EmulatedSNP.bundle(nonce: try await Self.nonce(client), runtimeKey: vmKey.publicKey, debug: true), expect: .forbidden, code: "policy_refused")
            // No runtime key to encrypt to: the policy's runtime-key rule refuses it.
            _ = try await release(try EmulatedSNP.bundle(nonce: try await Self.nonce(client), runtimeKey: nil), expect: .forbidden, code: "policy_refused")
            // Malformed bodies and unknown evidence types.
            _ = try await release(Array("{".utf8), expect: .badRequest, code: "evidence_malformed")
            _ = try await release(Array("{\"version\":1,\"type\":\"sgx\",\"nonce\":\"AAAA\"}".utf8), expect: .badRequest, code: "evidence_malformed")
            _ = try await release(Array("[]".utf8), expect: .badRequest, code: "evidence_malformed")
            _ = try await release(good, expect: .notFound, code: "not_found", secret: "nobody")

            let audit = try await service.store.auditEvents(limit: 50)
            #expect(audit.filter { $0.action == "release" && $0.outcome == "refused" }.count == 3)
            #expect(audit.filter { $0.action == "release" && $0.outcome == "ok" }.count == 1)
        }
    }

    @Test("Emulated evidence is refused unless the service opted in")
    func emulatedRootsNeedOptIn() async throws {
        try await TestService.run(allowEmulated: false) { client, _ in
            try await Self.provision(client)
            let nonce = try await Self.nonce(client)
            let evidence = try EmulatedSNP.bundle(nonce: nonce, runtimeKey: P256.KeyAgreement.PrivateKey().publicKey)
            try await client.execute(uri: "/v1/attest", method: .post, body: ByteBuffer(bytes: evidence)) { response in
                #expect(response.status == .unprocessableContent)
                #expect((response.json["message"] as? String)?.contains("emulated") == true)
            }
        }
    }

    @Test("Attest returns the verdict with every rule; a policy failure is a contraindicated EAR, not an error")
    func attest() async throws {
        try await TestService.run { client, _ in
            try await Self.provision(client)
            let good = try EmulatedSNP.bundle(nonce: try await Self.nonce(client), runtimeKey: nil)
            try await client.execute(uri: "/v1/attest", method: .post, body: ByteBuffer(bytes: good)) { response in
                #expect(response.status == .ok)
                #expect(response.json["status"] as? String == "contraindicated")
                #expect((response.json["roots"] as? [String])?.first?.contains("emulated") == true)
            }
            try await client.execute(uri: "/v1/attest?policy=missing", method: .post, body: ByteBuffer(bytes: good)) { #expect($0.status == .notFound) }
        }
    }

    @Test("Rotating the signing key publishes both keys and signs with the new one")
    func rotation() async throws {
        try await TestService.run { client, _ in
            let first = try await client.execute(uri: "/.well-known/jwks.json", method: .get) { ($0.json["keys"] as? [[String: Any]]) ?? [] }
            #expect(first.count == 1)
            let created = try await client.execute(uri: "/v1/admin/signing-keys/rotate", method: .post, headers: TestService.admin) { $0 }
            #expect(created.status == .created)
            let kid = try #require(created.json["kid"] as? String)
            let keys = try await client.execute(uri: "/.well-known/jwks.json", method: .get) { ($0.json["keys"] as? [[String: Any]]) ?? [] }
            #expect(keys.count == 2)
            #expect(keys.last?["kid"] as? String == kid)
        }
    }
}
