import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOSSL
import ServiceLifecycle

/// Everything `cvm serve` needs to start: where to listen, which store, TLS, and the service's
/// behaviour.
public struct ServerOptions: Sendable {
    public enum Storage: Sendable {
        /// The embedded default: a SQLite file.
        case sqlite(path: String)
        /// Shared by replicas: a PostgreSQL URL.
        case postgres(url: String)
    }

    public var host: String
    public var port: Int
    public var storage: Storage
    /// PEM certificate chain and private key; plain HTTP when nil.
    public var tls: (certificateChain: String, privateKey: String)?
    public var service: ServiceConfiguration

    public init(host: String, port: Int, storage: Storage, tls: (certificateChain: String, privateKey: String)?, service: ServiceConfiguration) {
        self.host = host
        self.port = port
        self.storage = storage
        self.tls = tls
        self.service = service
    }
}

/// Builds and runs the Hummingbird application for ``ServerOptions``.
public enum ServiceApplication {
    /// Opens the store, migrates it, and serves until cancelled (SIGINT/SIGTERM through
    /// ServiceLifecycle). `onListening` is called with the bound port once the server accepts.
    public static func run(_ options: ServerOptions, logger: Logger, onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        var services: [any Service] = []
        let store: any AttestationStore
        switch options.storage {
        case .sqlite(let path):
            store = try await SQLiteStore(path: path, logger: logger)
        case .postgres(let url):
            let postgres = try PostgresStore(url: url, logger: logger)
            services.append(PostgresPoolService(store: postgres))
            store = postgres
        }
        let service = AttestationService(store: store, configuration: options.service, metrics: ServiceMetrics(), logger: logger)
        let server: HTTPServerBuilder
        if let tls = options.tls {
            let chain = try NIOSSLCertificate.fromPEMFile(tls.certificateChain).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: tls.privateKey, format: .pem)
            server = try .tls(.http1(), tlsConfiguration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
        } else {
            server = .http1()
        }
        var app = Application(
            router: ServiceRouter.make(service: service), server: server,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "cvm-serve"),
            services: services,
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? options.port) },
            logger: logger)
        app.beforeServerStarts {
            try await store.migrate()
            try await service.prepare()
        }
        do {
            try await app.runService()
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }
}

/// Runs the PostgreSQL connection pool as a ServiceLifecycle service beside the HTTP server.
struct PostgresPoolService: Service {
    let store: PostgresStore

    func run() async throws {
        await store.run()
    }
}
