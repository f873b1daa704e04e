import Foundation
import KeyBroker
import Logging
import NIOCore
import SQLiteNIO

/// The embedded default store: one SQLite file (write-ahead log, so readers never wait for the
/// writer), or an in-memory database for tests. One process owns the file; for several replicas
/// use ``PostgresStore``.
public final class SQLiteStore: AttestationStore {
    private let connection: SQLiteConnection

    /// Opens (creating if needed) the database at `path`, or an in-memory one when nil.
    public init(path: String?, logger: Logger) async throws {
        self.connection = try await SQLiteConnection.open(storage: path.map { .file(path: $0) } ?? .memory, logger: logger)
        if path != nil {
            _ = try await connection.query("PRAGMA journal_mode=WAL")
            _ = try await connection.query("PRAGMA synchronous=NORMAL")
        }
        _ = try await connection.query("PRAGMA busy_timeout=5000")
    }

    public func close() async throws {
        try await connection.close()
    }

    public func migrate() async throws {
        _ = try await connection.query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)")
        let current = try await schemaVersion()
        for (index, statements) in Schema.statements(bytes: "BLOB", serial: "INTEGER").enumerated() where index + 1 > current {
            _ = try await connection.query("BEGIN IMMEDIATE")
            do {
                for statement in statements { _ = try await connection.query(statement) }
                _ = try await connection.query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                                               [.integer(SQLiteInt64(index + 1)), .integer(SQLiteInt64(Date().storedMilliseconds))])
                _ = try await connection.query("COMMIT")
            } catch {
                _ = try? await connection.query("ROLLBACK")
                throw error
            }
        }
    }

    public func schemaVersion() async throws -> Int {
        let rows = try await connection.query("SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations")
        return Int(rows.first?.column("version")?.integer ?? 0)
    }

    public func ping() async throws {
        _ = try await connection.query("SELECT 1")
    }

    public func insertNonce(_ nonce: [UInt8], issuedAt: Date, expiresAt: Date) async throws {
        _ = try await connection.query("INSERT INTO nonces (nonce, issued_at, expires_at) VALUES (?, ?, ?)",
                                       [.blob(ByteBuffer(bytes: nonce)), .integer(SQLiteInt64(issuedAt.storedMilliseconds)), .integer(SQLiteInt64(expiresAt.storedMilliseconds))])
    }

    public func redeemNonce(_ nonce: [UInt8], at time: Date) async throws -> NonceRedemption {
        let now = SQLiteData.integer(SQLiteInt64(time.storedMilliseconds))
        let blob = SQLiteData.blob(ByteBuffer(bytes: nonce))
        let consumed = try await connection.query(
            "UPDATE nonces SET consumed_at = ? WHERE nonce = ? AND consumed_at IS NULL AND expires_at > ? RETURNING nonce", [now, blob, now])
        if !consumed.isEmpty { return .accepted }
        let rows = try await connection.query("SELECT expires_at, consumed_at FROM nonces WHERE nonce = ?", [blob])
        guard let row = rows.first else { return .unknown }
        return row.column("consumed_at")?.integer != nil ? .replayed : .expired
    }

    public func purgeNonces(expiredBefore time: Date) async throws -> Int {
        try await connection.query("DELETE FROM nonces WHERE expires_at < ? RETURNING nonce", [.integer(SQLiteInt64(time.storedMilliseconds))]).count
    }

    public func putSecret(_ secret: StoredSecret) async throws {
        _ = try await connection.query(
            "INSERT INTO secrets (name, envelope, policy, reference_values, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET envelope = excluded.envelope, policy = excluded.policy, reference_values = excluded.reference_values, updated_at = excluded.updated_at",
            [.text(secret.name), .blob(ByteBuffer(bytes: secret.envelope.bytes)), .text(secret.policy), .text(secret.referenceValues),
             .integer(SQLiteInt64(secret.updatedAt.storedMilliseconds))])
    }

    public func secret(named name: String) async throws -> StoredSecret? {
        let rows = try await connection.query("SELECT envelope, policy, reference_values, updated_at FROM secrets WHERE name = ?", [.text(name)])
        return try rows.first.map { row in
            StoredSecret(name: name, envelope: SecretEnvelope(bytes: try row.bytes("envelope")), policy: try row.text("policy"),
                         referenceValues: try row.text("reference_values"), updatedAt: Date(storedMilliseconds: try row.int64("updated_at")))
        }
    }

    public func deleteSecret(named name: String) async throws -> Bool {
        !(try await connection.query("DELETE FROM secrets WHERE name = ? RETURNING name", [.text(name)]).isEmpty)
    }

    public func secretSummaries() async throws -> [SecretSummary] {
        try await connection.query("SELECT name, policy, reference_values, updated_at FROM secrets ORDER BY name").map { row in
            SecretSummary(name: try row.text("name"), policy: try row.text("policy"), referenceValues: try row.text("reference_values"),
                          updatedAt: Date(storedMilliseconds: try row.int64("updated_at")))
        }
    }

    public func putDocument(_ kind: DocumentKind, name: String, json: [UInt8], at time: Date) async throws {
        _ = try await connection.query(
            "INSERT INTO documents (kind, name, body, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (kind, name) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
            [.text(kind.rawValue), .text(name), .blob(ByteBuffer(bytes: json)), .integer(SQLiteInt64(time.storedMilliseconds))])
    }

    public func document(_ kind: DocumentKind, name: String) async throws -> [UInt8]? {
        let rows = try await connection.query("SELECT body FROM documents WHERE kind = ? AND name = ?", [.text(kind.rawValue), .text(name)])
        return try rows.first.map { try $0.bytes("body") }
    }

    public func deleteDocument(_ kind: DocumentKind, name: String) async throws -> Bool {
        !(try await connection.query("DELETE FROM documents WHERE kind = ? AND name = ? RETURNING name", [.text(kind.rawValue), .text(name)]).isEmpty)
    }

    public func documentNames(_ kind: DocumentKind) async throws -> [String] {
        try await connection.query("SELECT name FROM documents WHERE kind = ? ORDER BY name", [.text(kind.rawValue)]).map { try $0.text("name") }
    }

    public func addSigningKey(_ key: StoredSigningKey) async throws {
        _ = try await connection.query("INSERT INTO signing_keys (kid, algorithm, sealed_key, created_at) VALUES (?, ?, ?, ?)",
                                       [.text(key.kid), .text(key.algorithm), .blob(ByteBuffer(bytes: key.sealedPrivateKey.bytes)),
                                        .integer(SQLiteInt64(key.createdAt.storedMilliseconds))])
    }

    public func signingKeys() async throws -> [StoredSigningKey] {
        try await connection.query("SELECT kid, algorithm, sealed_key, created_at FROM signing_keys ORDER BY created_at, kid").map { row in
            StoredSigningKey(kid: try row.text("kid"), algorithm: try row.text("algorithm"), sealedPrivateKey: SecretEnvelope(bytes: try row.bytes("sealed_key")),
                             createdAt: Date(storedMilliseconds: try row.int64("created_at")))
        }
    }

    public func appendAudit(_ event: AuditEvent) async throws {
        _ = try await connection.query("INSERT INTO audit (time, action, subject, outcome, detail) VALUES (?, ?, ?, ?, ?)",
                                       [.integer(SQLiteInt64(event.time.storedMilliseconds)), .text(event.action), .text(event.subject),
                                        .text(event.outcome), .text(event.detail)])
    }

    public func auditEvents(limit: Int) async throws -> [AuditEvent] {
        try await connection.query("SELECT time, action, subject, outcome, detail FROM audit ORDER BY id DESC LIMIT ?", [.integer(SQLiteInt64(limit))]).map { row in
            AuditEvent(time: Date(storedMilliseconds: try row.int64("time")), action: try row.text("action"), subject: try row.text("subject"),
                       outcome: try row.text("outcome"), detail: try row.text("detail"))
        }
    }
}

/// A column the schema guarantees was missing or of another type: the database was altered
/// outside CVMKit.
struct StoredColumnError: Error, CustomStringConvertible {
    let column: String
    var description: String { "the database column \(column) is missing or has an unexpected type" }
}

extension SQLiteRow {
    func text(_ name: String) throws(StoredColumnError) -> String {
        guard let value = column(name)?.string else { throw StoredColumnError(column: name) }
        return value
    }

    func int64(_ name: String) throws(StoredColumnError) -> Int64 {
        guard let value = column(name)?.integer else { throw StoredColumnError(column: name) }
        return Int64(value)
    }

    func bytes(_ name: String) throws(StoredColumnError) -> [UInt8] {
        guard case .blob(var buffer) = column(name) else { throw StoredColumnError(column: name) }
        return buffer.readBytes(length: buffer.readableBytes) ?? []
    }
}
