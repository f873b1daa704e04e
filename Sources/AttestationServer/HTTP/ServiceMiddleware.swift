import Crypto
import Foundation
import Hummingbird
import Logging

/// The request context: Hummingbird's core storage plus the service's body-size limit.
public struct ServiceRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var maxUploadSize: Int { 1 << 20 }

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }
}

/// Outermost middleware: times every request for `/metrics`, logs one structured line per
/// request, and turns every error into a JSON body. An error that is not a ``ServiceError`` or
/// an HTTP error from Hummingbird is a bug: it is logged and answered 500 without details.
struct ErrorAndMetricsMiddleware: RouterMiddleware {
    typealias Context = ServiceRequestContext
    let metrics: ServiceMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as ServiceError {
            response = try error.response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            let message = (error as? HTTPError)?.body ?? "\(error.status.reasonPhrase)"
            response = try ServiceError(error.status, code: "http_\(error.status.code)", message: message).response(from: request, context: context)
        } catch {
            context.logger.error("internal error", metadata: ["error": .string(String(describing: type(of: error)))])
            response = try ServiceError(.internalServerError, code: "internal", message: "internal error; see the server log").response(from: request, context: context)
        }
        metrics.requestDuration.record(ContinuousClock.now - start)
        context.logger.info("request", metadata: [
            "method": .string(request.method.rawValue), "path": .string(request.uri.path), "status": .stringConvertible(response.status.code),
        ])
        return response
    }
}

/// Guards `/v1/admin`: the `Authorization: Bearer` token must equal the operator's, compared in
/// constant time (both sides hashed first, so neither length nor content leaks through timing).
struct AdminTokenMiddleware: RouterMiddleware {
    typealias Context = ServiceRequestContext
    let expectedDigest: SHA256.Digest?

    init(token: String?) {
        self.expectedDigest = token.map { SHA256.hash(data: Data($0.utf8)) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let expectedDigest, let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw ServiceError.unauthorized
        }
        let presented = SHA256.hash(data: Data(header.dropFirst("Bearer ".count).utf8))
        // swift-crypto compares digests in constant time.
        guard presented == expectedDigest else { throw ServiceError.unauthorized }
        return try await next(request, context)
    }
}
