import Attestation
import AttestationServer
import Foundation
import Hummingbird
import HummingbirdTesting
import KeyBroker
import Logging
import Testing

/// A service on an in-memory SQLite store, driven through Hummingbird's router test client.
struct TestService {
    static let adminToken = "test-admin-token"
    static let admin: HTTPFields = [.authorization: "Bearer \(adminToken)"]

    static func run<T: Sendable>(allowEmulated: Bool = true, _ body: @Sendable (any TestClientProtocol, AttestationService) async throws -> T) async throws -> T {
        let logger = Logger(label: "http-test")
        let store = try await SQLiteStore(path: nil, logger: logger)
        try await store.migrate()
        let service = AttestationService(
            store: store,
            configuration: ServiceConfiguration(masterKey: .random(), adminToken: adminToken,
                                                verifier: .init(emulatedSNPAnchors: [.emulated(EmulatedSNP.chain)], emulatedTDXAnchors: [SyntheticTDX.platform.anchor],
                                                                allowEmulatedRoots: allowEmulated)),
            metrics: ServiceMetrics(), logger: logger)
        try await service.prepare()
        let app = Application(router: ServiceRouter.make(service: service), logger: logger)
        do {
            let result = try await app.test(.router) { client in try await body(client, service) }
            try await store.close()
            return result
        } catch {
            try? await store.close()
            throw error
        }
    }
}

extension TestResponse {
    /// The JSON body as a dictionary (error bodies and objects).
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:] }
}

func jsonBody(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

@Suite("Attestation service HTTP API")
struct HTTPTests {
    @Test("Health, readiness, metrics and the OpenAPI document are served")
    func operational() async throws {
        try await TestService.run { client, _ in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/challenge", method: .post) { #expect($0.status == .created) }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(String(buffer: response.body).contains("cvm_challenges_issued_total 1"))
            }
            try await client.execute(uri: "/openapi.json", method: .get) { response in
                #expect(response.json["openapi"] as? String == "3.1.0")
            }
        }
    }

    @Test("A challenge is 32 fresh bytes with an expiry")
    func challenge() async throws {
        try await TestService.run { client, _ in
            var nonces: Set<Data> = []
            for _ in 0..<5 {
                try await client.execute(uri: "/v1/challenge", method: .post) { response in
                    let nonce = try #require(Data(base64Encoded: response.json["nonce"] as? String ?? ""))
                    #expect(nonce.count == 32)
                    #expect(response.json["expiresAt"] is String)
                    nonces.insert(nonce)
                }
            }
            #expect(nonces.count == 5)
        }
    }

    @Test("The admin API refuses requests without the right bearer token, and audits nothing for them")
    func adminAuthentication() async throws {
        try await TestService.run { client, service in
            for headers: HTTPFields in [[:], [.authorization: "Bearer wrong"], [.authorization: "Basic \(TestService.adminToken)"], [.authorization: TestService.adminToken]] {
                try await client.execute(uri: "/v1/admin/secrets", method: .get, headers: headers) { response in
                    #expect(response.status == .unauthorized)
                    #expect(response.json["error"] as? String == "unauthorized")
                }
                try await client.execute(uri: "/v1/admin/policies/p", method: .put, headers: headers, body: jsonBody("{}")) { #expect($0.status == .unauthorized) }
            }
            #expect(try await service.store.auditEvents(limit: 10).isEmpty)
            #expect(try await service.store.documentNames(.policy).isEmpty)
        }
    }

    @Test("Bad admin input gets a 4xx JSON error that says why, and stores nothing")
    func badAdminInput() async throws {
        try await TestService.run { client, service in
            let cases: [(String, HTTPRequest.Method, String, HTTPResponse.Status, String)] = [
                ("/v1/admin/secrets/disk", .put, "{not json", .badRequest, "bad_request"),
                ("/v1/admin/secrets/disk", .put, "{\"value\":\"aGk=\"}", .badRequest, "bad_request"),
                ("/v1/admin/secrets/disk", .put, "{\"value\":1,\"policy\":\"p\",\"referenceValues\":\"r\"}", .badRequest, "bad_request"),
                ("/v1/admin/secrets/disk", .put, "{\"value\":\"***\",\"policy\":\"p\",\"referenceValues\":\"r\"}", .badRequest, "bad_request"),
                ("/v1/admin/secrets/disk", .put, "{\"value\":\"aGk=\",\"policy\":\"missing\",\"referenceValues\":\"r\"}", .unprocessableContent, "policy_unknown"),
                ("/v1/admin/policies/p", .put, "[1,2]", .unprocessableContent, "document_invalid"),
                ("/v1/admin/policies/p", .put, "", .unprocessableContent, "document_invalid"),
                ("/v1/admin/policies/bad%20name", .put, "{}", .badRequest, "bad_request"),
                ("/v1/admin/secrets/none", .delete, "", .notFound, "not_found"),
                ("/v1/admin/policies/none", .get, "", .notFound, "not_found"),
                ("/v1/admin/audit?limit=0", .get, "", .badRequest, "bad_request"),
            ]
            for (uri, method, body, status, code) in cases {
                try await client.execute(uri: uri, method: method, headers: TestService.admin, body: jsonBody(body)) { response in
                    #expect(response.status == status, "\(method) \(uri) \(body)")
                    #expect(response.json["error"] as? String == code, "\(method) \(uri) \(body)")
                    #expect((response.json["message"] as? String)?.isEmpty == false)
                }
            }
            #expect(try await service.store.secretSummaries().isEmpty)
            #expect(try await service.store.documentNames(.policy).isEmpty)
        }
    }

    @Test("A body over the limit is refused with 413 and a JSON error")
    func oversizedBody() async throws {
        try await TestService.run { client, _ in
            let big = ByteBuffer(repeating: UInt8(ascii: "a"), count: (1 << 20) + 1)
            try await client.execute(uri: "/v1/admin/policies/p", method: .put, headers: TestService.admin, body: big) { response in
                #expect(response.status == .contentTooLarge)
                #expect(response.json["error"] as? String == "http_413")
            }
        }
    }
}
