import Foundation
import Hummingbird
import KeyBroker

/// The HTTP API (documented in `Resources/openapi.json`, served at `/openapi.json`): a thin map
/// from routes to ``AttestationService`` methods.
public enum ServiceRouter {
    /// The committed OpenAPI 3.1 document.
    public static func openAPIDocument() throws -> [UInt8] {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json") else {
            throw ServiceError(.internalServerError, code: "internal", message: "the OpenAPI document is missing from the build")
        }
        return Array(try Data(contentsOf: url))
    }

    public static func make(service: AttestationService) -> Router<ServiceRequestContext> {
        let router = Router(context: ServiceRequestContext.self)
        router.add(middleware: ErrorAndMetricsMiddleware(metrics: service.metrics))
        let maximumBody = service.configuration.maximumBodySize
        let openAPI = try? openAPIDocument()

        router.get("/healthz") { _, _ in try JSONResponse.make(["status": "ok"]) }
        router.get("/readyz") { _, _ in
            do {
                try await service.store.ping()
            } catch {
                throw ServiceError(.serviceUnavailable, code: "not_ready", message: "the database does not answer")
            }
            return try JSONResponse.make(["status": "ready"])
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: service.metrics.exposition())))
        }
        router.get("/openapi.json") { _, _ in
            guard let openAPI else { throw ServiceError(.notFound, code: "not_found", message: "the OpenAPI document is missing from the build") }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: openAPI)))
        }

        router.get("/.well-known/jwks.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try await service.jwks())))
        }
        router.post("/v1/challenge") { _, _ in try JSONResponse.make(try await service.issueChallenge(), status: .created) }
        router.post("/v1/attest") { request, _ in
            let policy = request.uri.queryParameters.get("policy") ?? "default"
            let references = request.uri.queryParameters.get("referenceValues") ?? "default"
            try AttestationService.validateDocumentName(policy)
            try AttestationService.validateDocumentName(references)
            let evidence = Array(buffer: try await request.body.collect(upTo: maximumBody))
            let verdict = try await service.attest(evidence: evidence, policy: policy, referenceValues: references)
            return try JSONResponse.make(AttestationResult(
                status: verdict.appraisal.status.rawValue, ear: verdict.ear, rules: AttestationService.rules(verdict.appraisal),
                roots: verdict.appraisal.evidence.roots.map(\.description)))
        }
        router.post("/v1/secrets/:name/release") { request, context in
            let name = try context.parameters.require("name")
            let evidence = Array(buffer: try await request.body.collect(upTo: maximumBody))
            let (release, ear) = try await service.release(secret: name, evidence: evidence)
            return try JSONResponse.make(ReleasedSecret(name: name, secret: release, ear: ear))
        }

        let admin = router.group("/v1/admin").add(middleware: AdminTokenMiddleware(token: service.configuration.adminToken))
        admin.get("/secrets") { _, _ in try JSONResponse.make(try await service.store.secretSummaries()) }
        admin.put("/secrets/:name") { request, context in
            let name = try context.parameters.require("name")
            let body = try decode(SecretPut.self, from: try await request.body.collect(upTo: maximumBody))
            guard let value = Data(base64Encoded: body.value) else { throw ServiceError.badRequest("value must be base64") }
            return try JSONResponse.make(try await service.putSecret(name: name, value: Array(value), policy: body.policy, referenceValues: body.referenceValues))
        }
        admin.delete("/secrets/:name") { _, context in
            try await service.deleteSecret(name: try context.parameters.require("name"))
            return Response(status: .noContent)
        }
        for kind in DocumentKind.allCases {
            let path = kind == .policy ? "policies" : kind.rawValue
            admin.get("/\(path)") { _, _ in try JSONResponse.make(try await service.store.documentNames(kind)) }
            admin.get("/\(path)/:name") { _, context in
                let name = try context.parameters.require("name")
                guard let json = try await service.store.document(kind, name: name) else { throw ServiceError.notFound("no \(kind.rawValue) document named \"\(name)\"") }
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json)))
            }
            admin.put("/\(path)/:name") { request, context in
                let name = try context.parameters.require("name")
                let body = try await request.body.collect(upTo: maximumBody)
                try await service.putDocument(kind, name: name, json: Array(buffer: body))
                return try JSONResponse.make(["name": name, "kind": kind.rawValue])
            }
            admin.delete("/\(path)/:name") { _, context in
                try await service.deleteDocument(kind, name: try context.parameters.require("name"))
                return Response(status: .noContent)
            }
        }
        admin.post("/signing-keys/rotate") { _, _ in
            Response(status: .created, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try await service.rotateSigningKey())))
        }
        admin.get("/audit") { request, _ in
            let limit = request.uri.queryParameters.get("limit", as: Int.self) ?? 100
            guard (1...10_000).contains(limit) else { throw ServiceError.badRequest("limit must be 1 to 10000") }
            return try JSONResponse.make(try await service.store.auditEvents(limit: limit))
        }
        return router
    }

    /// Decodes a JSON request body, refusing it with a 400 that says what is wrong.
    static func decode<T: Decodable>(_ type: T.Type, from body: ByteBuffer) throws(ServiceError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(buffer: body))
        } catch let DecodingError.keyNotFound(key, _) {
            throw .badRequest("the JSON body lacks \"\(key.stringValue)\"")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw .badRequest("the JSON body has the wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))")
        } catch {
            throw .badRequest("the body is not valid JSON of the expected shape")
        }
    }
}

/// `POST /v1/attest`'s answer.
struct AttestationResult: Encodable {
    let status: String
    let ear: String
    let rules: [RuleOutcome]
    let roots: [String]
}

/// `POST /v1/secrets/{name}/release`'s answer.
struct ReleasedSecret: Encodable {
    let name: String
    let secret: SecretRelease
    let ear: String
}

/// `PUT /v1/admin/secrets/{name}`.
struct SecretPut: Decodable {
    let value: String
    let policy: String
    let referenceValues: String
}
