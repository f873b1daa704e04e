import AsyncHTTPClient
import Foundation
import KeyBroker
import NIOCore
import NIOHTTP1

/// A client of the attestation service's HTTP API (`cvm serve`), used by `cvm attest`,
/// `cvm secret`, the guest agent and the load benchmark. Evidence is passed as the JSON bundle
/// bytes; the service's JSON errors come back as ``AttestationClientError/refused``.
public struct AttestationClient: Sendable {
    public let baseURL: String
    let adminToken: String?
    let http: HTTPClient
    let timeout: TimeAmount

    /// A client of `baseURL` (`http://host:port`), with the admin token for `/v1/admin` calls.
    public init(baseURL: String, adminToken: String? = nil, http: HTTPClient = .shared, timeout: TimeAmount = .seconds(30)) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.adminToken = adminToken
        self.http = http
        self.timeout = timeout
    }

    /// `POST /v1/challenge`.
    public func challenge() async throws -> ServiceChallenge {
        try await call("/v1/challenge", method: .POST, as: ServiceChallenge.self)
    }

    /// `POST /v1/attest`: the service's verdict and its signed EAR.
    public func attest(evidence: [UInt8], policy: String? = nil, referenceValues: String? = nil) async throws -> AttestationResponse {
        var query: [String] = []
        if let policy { query.append("policy=\(policy)") }
        if let referenceValues { query.append("referenceValues=\(referenceValues)") }
        return try await call("/v1/attest" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")), method: .POST, body: evidence,
                              as: AttestationResponse.self)
    }

    /// `POST /v1/secrets/{name}/release`: the secret wrapped for the evidence's runtime key.
    public func release(secret name: String, evidence: [UInt8]) async throws -> ReleaseResponse {
        try await call("/v1/secrets/\(name)/release", method: .POST, body: evidence, as: ReleaseResponse.self)
    }

    /// `PUT /v1/admin/secrets/{name}`.
    public func putSecret(_ name: String, value: [UInt8], policy: String, referenceValues: String) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["value": Data(value).base64EncodedString(), "policy": policy, "referenceValues": referenceValues])
        _ = try await call("/v1/admin/secrets/\(name)", method: .PUT, body: Array(body), admin: true, as: [String: String].self)
    }

    /// `GET /v1/admin/secrets`: names and policies, never values.
    public func secrets() async throws -> [[String: String]] {
        try await call("/v1/admin/secrets", method: .GET, admin: true, as: [[String: String]].self)
    }

    /// `PUT /v1/admin/policies/{name}` or `/v1/admin/reference-values/{name}`.
    public func putDocument(kind: String, name: String, json: [UInt8]) async throws {
        _ = try await call("/v1/admin/\(kind)/\(name)", method: .PUT, body: json, admin: true, as: [String: String].self)
    }

    private func call<T: Decodable>(_ path: String, method: HTTPMethod, body: [UInt8]? = nil, admin: Bool = false, as type: T.Type) async throws -> T {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Content-Type", value: "application/json")
        if admin {
            guard let adminToken else { throw AttestationClientError.adminTokenMissing }
            request.headers.add(name: "Authorization", value: "Bearer \(adminToken)")
        }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await http.execute(request, timeout: timeout)
        let buffer = try await response.body.collect(upTo: 4 << 20)
        let bytes = Data(buffer.readableBytesView)
        guard (200..<300).contains(response.status.code) else {
            let error = try? JSONDecoder().decode(ErrorBody.self, from: bytes)
            throw AttestationClientError.refused(status: Int(response.status.code), code: error?.error ?? "http_\(response.status.code)",
                                                 message: error?.message ?? String(decoding: bytes.prefix(200), as: UTF8.self), rules: error?.rules ?? [])
        }
        do {
            return try decoder.decode(T.self, from: bytes)
        } catch {
            throw AttestationClientError.unexpectedResponse(path: path)
        }
    }

    private var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }

    private struct ErrorBody: Decodable {
        let error: String
        let message: String
        let rules: [ServiceRule]?
    }
}

/// A challenge from the service.
public struct ServiceChallenge: Sendable, Decodable {
    public let nonce: String
    public let expiresAt: Date

    /// The nonce bytes (the service sends base64).
    public var nonceBytes: [UInt8] { Array(Data(base64Encoded: nonce) ?? Data()) }
}

/// One appraisal rule as the service reports it.
public struct ServiceRule: Sendable, Codable, Equatable {
    public let rule: String
    public let passed: Bool
    public let expected: String
    public let actual: String
}

/// `POST /v1/attest`'s answer.
public struct AttestationResponse: Sendable, Decodable {
    public let status: String
    public let ear: String
    public let rules: [ServiceRule]
}

/// `POST /v1/secrets/{name}/release`'s answer.
public struct ReleaseResponse: Sendable, Decodable {
    public let name: String
    public let secret: SecretRelease
    public let ear: String
}

/// Why a call to the service failed.
public enum AttestationClientError: Error, Sendable, CustomStringConvertible {
    /// The service answered with an error: its code, sentence and (for policy refusals) rules.
    case refused(status: Int, code: String, message: String, rules: [ServiceRule])
    /// The answer was not the JSON the API documents.
    case unexpectedResponse(path: String)
    /// An admin call was made without the admin token.
    case adminTokenMissing

    public var description: String {
        switch self {
        case .refused(let status, let code, let message, let rules):
            (["the service refused (\(status) \(code)): \(message)"] + rules.filter { !$0.passed }.map { "  ✘ \($0.rule): expected \($0.expected), got \($0.actual)" })
                .joined(separator: "\n")
        case .unexpectedResponse(let path): "the service's answer to \(path) is not the documented JSON"
        case .adminTokenMissing: "this call needs the admin token (--admin-token-file or CVM_ADMIN_TOKEN)"
        }
    }
}
