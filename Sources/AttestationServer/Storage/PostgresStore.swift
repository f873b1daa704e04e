import Foundation
import KeyBroker
import Logging
import NIOCore
import PostgresNIO

/// The store for several `cvm serve` replicas: one PostgreSQL database they share. Nonce
/// redemption is a single conditional `UPDATE … RETURNING`, so PostgreSQL's row locking makes
/// exactly one replica see a nonce as fresh; migrations run under an advisory lock so replicas
/// starting together apply each migration once.
public final class PostgresStore: AttestationStore {
    /// The connection pool; run it (``run()``) for as long as the store is used.
    public let client: PostgresClient
    private let logger: Logger

    /// A store for `url` (`postgres://user:password@host:port/database`, `?sslmode=disable` or
    /// `require`).
    public init(url: String, logger: Logger) throws(StoreConfigurationError) {
        self.client = PostgresClient(configuration: try Self.configuration(url: url), backgroundLogger: logger)
        self.logger = logger
    }

    /// Runs the connection pool until the task is cancelled.
    public func run() async {
        await client.run()
    }

    static func configuration(url: String) throws(StoreConfigurationError) -> PostgresClient.Configuration {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? ""),
              let host = components.host, !host.isEmpty, let user = components.user
        else { throw .invalidURL("expected postgres://user:password@host[:port]/database") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        let sslMode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "disable"
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case "disable": tls = .disable
        case "require": tls = .require(.makeClientConfiguration())
        case "prefer": tls = .prefer(.makeClientConfiguration())
        default: throw .invalidURL("sslmode must be disable, prefer or require, not \(sslMode)")
        }
        return PostgresClient.Configuration(host: host, port: components.port ?? 5432, username: user, password: components.password,
                                            database: database.isEmpty ? nil : database, tls: tls)
    }

    public func migrate() async throws {
        try await client.withTransaction(logger: logger) { connection in
            // One lock id for CVMKit's schema: a second replica waits here until the first commits.
            try await connection.query("SELECT pg_advisory_xact_lock(7234501)", logger: logger)
            try await connection.query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)", logger: logger)
            var current = 0
            for try await version in try await connection.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", logger: logger).decode(Int.self) {
                current = version
            }
            for (index, statements) in Schema.statements(bytes: "BYTEA", serial: "BIGSERIAL").enumerated() where index + 1 > current {
                for statement in statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                try await connection.query("INSERT INTO schema_migrations (version, applied_at) VALUES (\(index + 1), \(Date().storedMilliseconds))", logger: logger)
            }
        }
    }

    public func schemaVersion() async throws -> Int {
        try await single(client.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", logger: logger).decode(Int.self)) ?? 0
    }

    public func close() async throws {}

    public func ping() async throws {
        try await client.query("SELECT 1", logger: logger)
    }

    public func insertNonce(_ nonce: [UInt8], issuedAt: Date, expiresAt: Date) async throws {
        try await client.query("INSERT INTO nonces (nonce, issued_at, expires_at) VALUES (\(ByteBuffer(bytes: nonce)), \(issuedAt.storedMilliseconds), \(expiresAt.storedMilliseconds))", logger: logger)
    }

    public func redeemNonce(_ nonce: [UInt8], at time: Date) async throws -> NonceRedemption {
        let now = time.storedMilliseconds
        let blob = ByteBuffer(bytes: nonce)
        let consumed = try await client.query(
            "UPDATE nonces SET consumed_at = \(now) WHERE nonce = \(blob) AND consumed_at IS NULL AND expires_at > \(now) RETURNING issued_at", logger: logger)
        if try await single(consumed.decode(Int64.self)) != nil { return .accepted }
        let state = try await client.query("SELECT consumed_at FROM nonces WHERE nonce = \(blob)", logger: logger)
        guard let consumedAt = try await single(state.decode(Int64?.self)) else { return .unknown }
        return consumedAt != nil ? .replayed : .expired
    }

    public func purgeNonces(expiredBefore time: Date) async throws -> Int {
        var count = 0
        for try await _ in try await client.query("DELETE FROM nonces WHERE expires_at < \(time.storedMilliseconds) RETURNING issued_at", logger: logger).decode(Int64.self) {
            count += 1
        }
        return count
    }

    public func putSecret(_ secret: StoredSecret) async throws {
        try await client.query("""
            INSERT INTO secrets (name, envelope, policy, reference_values, updated_at)
            VALUES (\(secret.name), \(ByteBuffer(bytes: secret.envelope.bytes)), \(secret.policy), \(secret.referenceValues), \(secret.updatedAt.storedMilliseconds))
            ON CONFLICT (name) DO UPDATE SET envelope = excluded.envelope, policy = excluded.policy,
              reference_values = excluded.reference_values, updated_at = excluded.updated_at
            """, logger: logger)
    }

    public func secret(named name: String) async throws -> StoredSecret? {
        let rows = try await client.query("SELECT envelope, policy, reference_values, updated_at FROM secrets WHERE name = \(name)", logger: logger)
        return try await single(rows.decode((ByteBuffer, String, String, Int64).self)).map { envelope, policy, references, updated in
            StoredSecret(name: name, envelope: SecretEnvelope(bytes: Array(buffer: envelope)), policy: policy, referenceValues: references,
                         updatedAt: Date(storedMilliseconds: updated))
        }
    }

    public func deleteSecret(named name: String) async throws -> Bool {
        try await single(client.query("DELETE FROM secrets WHERE name = \(name) RETURNING name", logger: logger).decode(String.self)) != nil
    }

    public func secretSummaries() async throws -> [SecretSummary] {
        var summaries: [SecretSummary] = []
        let rows = try await client.query("SELECT name, policy, reference_values, updated_at FROM secrets ORDER BY name", logger: logger)
        for try await (name, policy, references, updated) in rows.decode((String, String, String, Int64).self) {
            summaries.append(SecretSummary(name: name, policy: policy, referenceValues: references, updatedAt: Date(storedMilliseconds: updated)))
        }
        return summaries
    }

    public func putDocument(_ kind: DocumentKind, name: String, json: [UInt8], at time: Date) async throws {
        try await client.query("""
            INSERT INTO documents (kind, name, body, updated_at) VALUES (\(kind.rawValue), \(name), \(ByteBuffer(bytes: json)), \(time.storedMilliseconds))
            ON CONFLICT (kind, name) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at
            """, logger: logger)
    }

    public func document(_ kind: DocumentKind, name: String) async throws -> [UInt8]? {
        let rows = try await client.query("SELECT body FROM documents WHERE kind = \(kind.rawValue) AND name = \(name)", logger: logger)
        return try await single(rows.decode(ByteBuffer.self)).map { Array(buffer: $0) }
    }

    public func deleteDocument(_ kind: DocumentKind, name: String) async throws -> Bool {
        try await single(client.query("DELETE FROM documents WHERE kind = \(kind.rawValue) AND name = \(name) RETURNING name", logger: logger).decode(String.self)) != nil
    }

    public func documentNames(_ kind: DocumentKind) async throws -> [String] {
        var names: [String] = []
        for try await name in try await client.query("SELECT name FROM documents WHERE kind = \(kind.rawValue) ORDER BY name", logger: logger).decode(String.self) {
            names.append(name)
        }
        return names
    }

    public func addSigningKey(_ key: StoredSigningKey) async throws {
        try await client.query("INSERT INTO signing_keys (kid, algorithm, sealed_key, created_at) VALUES (\(key.kid), \(key.algorithm), \(ByteBuffer(bytes: key.sealedPrivateKey.bytes)), \(key.createdAt.storedMilliseconds))", logger: logger)
    }

    public func signingKeys() async throws -> [StoredSigningKey] {
        var keys: [StoredSigningKey] = []
        let rows = try await client.query("SELECT kid, algorithm, sealed_key, created_at FROM signing_keys ORDER BY created_at, kid", logger: logger)
        for try await (kid, algorithm, sealed, created) in rows.decode((String, String, ByteBuffer, Int64).self) {
            keys.append(StoredSigningKey(kid: kid, algorithm: algorithm, sealedPrivateKey: SecretEnvelope(bytes: Array(buffer: sealed)),
                                         createdAt: Date(storedMilliseconds: created)))
        }
        return keys
    }

    public func appendAudit(_ event: AuditEvent) async throws {
        try await client.query("INSERT INTO audit (time, action, subject, outcome, detail) VALUES (\(event.time.storedMilliseconds), \(event.action), \(event.subject), \(event.outcome), \(event.detail))", logger: logger)
    }

    public func auditEvents(limit: Int) async throws -> [AuditEvent] {
        var events: [AuditEvent] = []
        let rows = try await client.query("SELECT time, action, subject, outcome, detail FROM audit ORDER BY id DESC LIMIT \(limit)", logger: logger)
        for try await (time, action, subject, outcome, detail) in rows.decode((Int64, String, String, String, String).self) {
            events.append(AuditEvent(time: Date(storedMilliseconds: time), action: action, subject: subject, outcome: outcome, detail: detail))
        }
        return events
    }

    /// The first row of a sequence expected to hold at most one.
    private func single<Rows: AsyncSequence>(_ rows: Rows) async throws -> Rows.Element? {
        var iterator = rows.makeAsyncIterator()
        return try await iterator.next()
    }
}

/// A database URL or path that cannot be used.
public enum StoreConfigurationError: Error, Sendable, CustomStringConvertible {
    case invalidURL(String)

    public var description: String {
        switch self {
        case .invalidURL(let reason): "the database URL is invalid: \(reason)"
        }
    }
}
