import Attestation
import Crypto
import Foundation
import KeyBroker
import Logging

/// The service's behaviour, independent of HTTP: challenges, attestation, secret release and
/// the operator's administration, all over an ``AttestationStore``. The HTTP layer only maps
/// requests to these methods and their ``ServiceError``s to responses.
public final class AttestationService: Sendable {
    public let store: any AttestationStore
    public let configuration: ServiceConfiguration
    let metrics: ServiceMetrics
    let logger: Logger
    let verifier: AttestationVerifier
    let signingKeys: SigningKeyRing
    let documents = DocumentCache()

    public init(store: any AttestationStore, configuration: ServiceConfiguration, metrics: ServiceMetrics, logger: Logger) {
        self.store = store
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        self.verifier = AttestationVerifier(configuration: configuration.verifier)
        self.signingKeys = SigningKeyRing(store: store, masterKey: configuration.masterKey,
                                          verifierID: EAR.VerifierID(developer: "https://github.com/cvmkit", build: configuration.verifierName),
                                          now: configuration.now)
    }

    /// Work before the first request: drops nonces that expired while no replica was running.
    public func prepare() async throws {
        _ = try await signingKeys.signer()
        let purged = try await store.purgeNonces(expiredBefore: configuration.now())
        logger.info("service ready", metadata: ["purgedNonces": .stringConvertible(purged)])
    }

    // MARK: Challenges

    /// A fresh single-use nonce (32 random bytes) and when it expires.
    public func issueChallenge() async throws -> Challenge {
        let now = configuration.now()
        let nonce = Array(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
        let expires = now.addingTimeInterval(configuration.nonceLifetime.timeInterval)
        try await store.insertNonce(nonce, issuedAt: now, expiresAt: expires)
        metrics.challenges.increment()
        return Challenge(nonce: nonce, expiresAt: expires)
    }

    /// Consumes `nonce` or throws the 4xx that says why it cannot be used.
    func redeem(_ nonce: [UInt8]) async throws -> Void {
        switch try await store.redeemNonce(nonce, at: configuration.now()) {
        case .accepted: return
        case .unknown: throw ServiceError(.badRequest, code: "nonce_unknown", message: "the nonce was not issued by this service (or has been purged): request a new challenge")
        case .expired: throw ServiceError(.badRequest, code: "nonce_expired", message: "the nonce has expired: request a new challenge")
        case .replayed: throw ServiceError(.conflict, code: "nonce_replayed", message: "the nonce has already been used: every attestation needs a new challenge")
        }
    }

    // MARK: Administration

    /// Stores (or replaces) a secret, sealed under the master key, released by `policy`.
    public func putSecret(name: String, value: [UInt8], policy: String, referenceValues: String) async throws -> SecretSummary {
        var value = value
        defer { value.zeroize() }
        guard try await store.document(.policy, name: policy) != nil else {
            throw ServiceError(.unprocessableContent, code: "policy_unknown", message: "no policy named \"\(policy)\": put it first under /v1/admin/policies/\(policy)")
        }
        guard try await store.document(.referenceValues, name: referenceValues) != nil else {
            throw ServiceError(.unprocessableContent, code: "reference_values_unknown",
                               message: "no reference values named \"\(referenceValues)\": put them first under /v1/admin/reference-values/\(referenceValues)")
        }
        let envelope = try Self.serviceError { () throws(KeyBrokerError) in try SecretEnvelope.seal(value, name: name, masterKey: configuration.masterKey) }
        let stored = StoredSecret(name: name, envelope: envelope, policy: policy, referenceValues: referenceValues, updatedAt: configuration.now())
        try await store.putSecret(stored)
        try await audit("secret.put", subject: name, outcome: "ok", detail: "policy \(policy), reference values \(referenceValues)")
        return SecretSummary(name: name, policy: policy, referenceValues: referenceValues, updatedAt: stored.updatedAt)
    }

    public func deleteSecret(name: String) async throws {
        guard try await store.deleteSecret(named: name) else { throw ServiceError.notFound("no secret named \"\(name)\"") }
        try await audit("secret.delete", subject: name, outcome: "ok", detail: "")
    }

    public func putDocument(_ kind: DocumentKind, name: String, json: [UInt8]) async throws {
        try Self.validateDocumentName(name)
        try DocumentValidation.validate(kind, json: json)
        try await store.putDocument(kind, name: name, json: json, at: configuration.now())
        try await audit("\(kind.rawValue).put", subject: name, outcome: "ok", detail: "\(json.count) bytes")
    }

    public func deleteDocument(_ kind: DocumentKind, name: String) async throws {
        guard try await store.deleteDocument(kind, name: name) else { throw ServiceError.notFound("no \(kind.rawValue) document named \"\(name)\"") }
        try await audit("\(kind.rawValue).delete", subject: name, outcome: "ok", detail: "")
    }

    /// Writes one audit record (and the matching structured log line, without secret values).
    func audit(_ action: String, subject: String, outcome: String, detail: String) async throws {
        let event = AuditEvent(time: configuration.now(), action: action, subject: subject, outcome: outcome, detail: detail)
        logger.info("audit", metadata: ["action": .string(action), "subject": .string(subject), "outcome": .string(outcome), "detail": .string(detail)])
        try await store.appendAudit(event)
    }

    static func validateDocumentName(_ name: String) throws(ServiceError) {
        do {
            try SecretName.validate(name)
        } catch {
            throw .badRequest("document name \"\(name.prefix(80))\" is invalid: use 1 to 128 characters from A-Z a-z 0-9 . _ -")
        }
    }

    /// Runs a KeyBroker operation, turning its error into a 4xx with its sentence.
    static func serviceError<T>(_ body: () throws(KeyBrokerError) -> T) throws(ServiceError) -> T {
        do {
            return try body()
        } catch {
            throw ServiceError(.unprocessableContent, code: "secret_invalid", message: error.description)
        }
    }
}

/// A challenge issued to a VM.
public struct Challenge: Sendable, Codable, Equatable {
    public let nonce: [UInt8]
    public let expiresAt: Date

    private enum CodingKeys: String, CodingKey { case nonce, expiresAt }

    public init(nonce: [UInt8], expiresAt: Date) {
        self.nonce = nonce
        self.expiresAt = expiresAt
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard let nonce = Data(base64Encoded: try container.decode(String.self, forKey: .nonce)) else {
            throw DecodingError.dataCorruptedError(forKey: .nonce, in: container, debugDescription: "nonce must be base64")
        }
        self.nonce = Array(nonce)
        self.expiresAt = try container.decode(Date.self, forKey: .expiresAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Data(nonce).base64EncodedString(), forKey: .nonce)
        try container.encode(expiresAt, forKey: .expiresAt)
    }
}

extension Duration {
    var timeInterval: TimeInterval { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
