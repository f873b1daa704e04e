import Foundation
import Hummingbird

/// A refused request, as the client sees it: an HTTP status and a JSON body
/// `{"error": code, "message": sentence, "rules": [...]}` that says why. Every failure the
/// service expects is one of these, so clients get a 4xx with a reason and never a bare 500.
public struct ServiceError: Error, HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    /// A stable machine-readable code (`bad_request`, `nonce_replayed`, `policy_refused`, ...).
    public let code: String
    /// The human sentence.
    public let message: String
    /// For refusals by policy: every rule with pass/fail, expected and actual.
    public let rules: [RuleOutcome]?

    public init(_ status: HTTPResponse.Status, code: String, message: String, rules: [RuleOutcome]? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.rules = rules
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = ErrorBody(error: code, message: message, rules: rules)
        return try JSONResponse.make(body, status: status)
    }

    static func badRequest(_ message: String) -> ServiceError { ServiceError(.badRequest, code: "bad_request", message: message) }
    static func notFound(_ message: String) -> ServiceError { ServiceError(.notFound, code: "not_found", message: message) }
    static let unauthorized = ServiceError(.unauthorized, code: "unauthorized", message: "the admin API needs the operator's bearer token (Authorization: Bearer ...)")

    private struct ErrorBody: Encodable {
        let error: String
        let message: String
        let rules: [RuleOutcome]?
    }
}

/// One appraisal rule as the API reports it.
public struct RuleOutcome: Sendable, Codable, Equatable {
    public let rule: String
    public let passed: Bool
    public let expected: String
    public let actual: String

    public init(rule: String, passed: Bool, expected: String, actual: String) {
        self.rule = rule
        self.passed = passed
        self.expected = expected
        self.actual = actual
    }
}

/// JSON responses with the service's one encoder configuration.
enum JSONResponse {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
