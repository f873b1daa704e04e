import Foundation
import KeyBroker

/// What the attestation service keeps: challenge nonces, sealed secrets, policies and
/// reference values, EAR signing keys and the audit log. Implemented by ``SQLiteStore`` (the
/// zero-set-up default) and ``PostgresStore`` (for several replicas); both pass the same tests.
public protocol AttestationStore: Sendable {
    /// Brings the schema to the newest version (idempotent; safe with several replicas).
    func migrate() async throws
    /// The schema version after ``migrate()``.
    func schemaVersion() async throws -> Int
    /// A cheap round trip for `/readyz`.
    func ping() async throws
    /// Releases the store's connections (a PostgreSQL pool ends when its ``PostgresStore/run()``
    /// task is cancelled instead).
    func close() async throws

    /// Records a fresh challenge nonce.
    func insertNonce(_ nonce: [UInt8], issuedAt: Date, expiresAt: Date) async throws
    /// Consumes a nonce atomically: exactly one caller, on any replica, gets `.accepted`.
    func redeemNonce(_ nonce: [UInt8], at time: Date) async throws -> NonceRedemption
    /// Deletes nonces that expired before `time`; returns how many.
    @discardableResult func purgeNonces(expiredBefore time: Date) async throws -> Int

    func putSecret(_ secret: StoredSecret) async throws
    func secret(named name: String) async throws -> StoredSecret?
    /// Returns false when there was no such secret.
    func deleteSecret(named name: String) async throws -> Bool
    func secretSummaries() async throws -> [SecretSummary]

    func putDocument(_ kind: DocumentKind, name: String, json: [UInt8], at time: Date) async throws
    func document(_ kind: DocumentKind, name: String) async throws -> [UInt8]?
    func deleteDocument(_ kind: DocumentKind, name: String) async throws -> Bool
    func documentNames(_ kind: DocumentKind) async throws -> [String]

    func addSigningKey(_ key: StoredSigningKey) async throws
    /// Every signing key, oldest first.
    func signingKeys() async throws -> [StoredSigningKey]

    func appendAudit(_ event: AuditEvent) async throws
    /// The newest `limit` audit events, newest first.
    func auditEvents(limit: Int) async throws -> [AuditEvent]
}

/// What happened when a nonce was presented.
public enum NonceRedemption: String, Sendable, Equatable {
    /// Issued here, unexpired, and never used before: now consumed.
    case accepted
    /// Never issued by this service (or already purged).
    case unknown
    /// Issued, but its lifetime is over.
    case expired
    /// Already consumed by an earlier request.
    case replayed
}

/// The two kinds of JSON document an operator manages.
public enum DocumentKind: String, Sendable, CaseIterable {
    case policy
    case referenceValues = "reference-values"
}

/// A secret as stored: sealed value, the policy that releases it, and when it was written.
public struct StoredSecret: Sendable, Equatable {
    public let name: String
    public let envelope: SecretEnvelope
    /// The name of the policy document whose appraisal must pass for release.
    public let policy: String
    /// The reference-values document the policy is appraised against.
    public let referenceValues: String
    public let updatedAt: Date

    public init(name: String, envelope: SecretEnvelope, policy: String, referenceValues: String, updatedAt: Date) {
        self.name = name
        self.envelope = envelope
        self.policy = policy
        self.referenceValues = referenceValues
        self.updatedAt = updatedAt
    }
}

/// A secret's metadata, never its value.
public struct SecretSummary: Sendable, Equatable, Codable {
    public let name: String
    public let policy: String
    public let referenceValues: String
    public let updatedAt: Date

    public init(name: String, policy: String, referenceValues: String, updatedAt: Date) {
        self.name = name
        self.policy = policy
        self.referenceValues = referenceValues
        self.updatedAt = updatedAt
    }
}

/// An EAR signing key: its private key sealed under the master key, so every replica can sign
/// and publish the same key set.
public struct StoredSigningKey: Sendable, Equatable {
    public let kid: String
    /// `ES256` or `ES384`.
    public let algorithm: String
    public let sealedPrivateKey: SecretEnvelope
    public let createdAt: Date

    public init(kid: String, algorithm: String, sealedPrivateKey: SecretEnvelope, createdAt: Date) {
        self.kid = kid
        self.algorithm = algorithm
        self.sealedPrivateKey = sealedPrivateKey
        self.createdAt = createdAt
    }
}

/// One line of the audit log: every release, refusal, attestation and administrative change.
/// `detail` says why in words and never holds secret values.
public struct AuditEvent: Sendable, Equatable, Codable {
    public let time: Date
    /// `challenge`, `attest`, `release`, `secret.put`, `secret.delete`, `policy.put`, ...
    public let action: String
    /// The secret, policy or evidence type concerned.
    public let subject: String
    /// `ok`, `refused` or `rejected` (bad request).
    public let outcome: String
    public let detail: String

    public init(time: Date, action: String, subject: String, outcome: String, detail: String) {
        self.time = time
        self.action = action
        self.subject = subject
        self.outcome = outcome
        self.detail = detail
    }
}

/// The schema both backends share, as numbered migrations; the SQL differs only in types.
enum Schema {
    /// Each migration's statements, in order, with `BLOB`/`BYTEA` written as `{bytes}`.
    static let migrations: [[String]] = [
        [
            "CREATE TABLE nonces (nonce {bytes} PRIMARY KEY, issued_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, consumed_at BIGINT)",
            "CREATE INDEX nonces_expiry ON nonces (expires_at)",
            "CREATE TABLE secrets (name TEXT PRIMARY KEY, envelope {bytes} NOT NULL, policy TEXT NOT NULL, reference_values TEXT NOT NULL, updated_at BIGINT NOT NULL)",
            "CREATE TABLE documents (kind TEXT NOT NULL, name TEXT NOT NULL, body {bytes} NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (kind, name))",
            "CREATE TABLE signing_keys (kid TEXT PRIMARY KEY, algorithm TEXT NOT NULL, sealed_key {bytes} NOT NULL, created_at BIGINT NOT NULL)",
            "CREATE TABLE audit (id {serial} PRIMARY KEY, time BIGINT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL)",
        ],
    ]

    static func statements(bytes: String, serial: String) -> [[String]] {
        migrations.map { $0.map { $0.replacingOccurrences(of: "{bytes}", with: bytes).replacingOccurrences(of: "{serial}", with: serial) } }
    }
}

extension Date {
    /// Milliseconds since 1970, the unit both backends store.
    var storedMilliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }

    init(storedMilliseconds: Int64) { self.init(timeIntervalSince1970: Double(storedMilliseconds) / 1000) }
}
