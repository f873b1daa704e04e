import Attestation
import Foundation
import KeyBroker

extension AttestationService {
    /// The verdict on one piece of evidence: the appraisal and its signed EAR.
    public struct Verdict: Sendable {
        public let appraisal: Appraisal
        public let ear: String
    }

    /// `POST /v1/attest`: redeems the bundle's nonce, verifies the evidence, appraises it
    /// against the named policy and reference values, and signs the EAR. A policy failure is a
    /// verdict (status contraindicated), not an error; bad evidence is a ``ServiceError``.
    public func attest(evidence json: [UInt8], policy: String, referenceValues: String) async throws -> Verdict {
        do {
            let verdict = try await verifyAndAppraise(json, policy: policy, referenceValues: referenceValues)
            metrics.attestations[verdict.appraisal.status == .contraindicated ? .refused : .affirmed]?.increment()
            try await audit("attest", subject: verdict.appraisal.evidence.type.rawValue, outcome: verdict.appraisal.status.rawValue,
                            detail: Self.summary(verdict.appraisal))
            return verdict
        } catch let error as ServiceError {
            metrics.attestations[.rejected]?.increment()
            try await audit("attest", subject: policy, outcome: "rejected", detail: error.message)
            throw error
        }
    }

    /// `POST /v1/secrets/{name}/release`: as ``attest(evidence:policy:referenceValues:)`` with
    /// the secret's own policy; on an affirming or warning verdict, the secret sealed by HPKE to
    /// the evidence's runtime key, otherwise a 403 listing every rule.
    public func release(secret name: String, evidence json: [UInt8]) async throws -> (release: SecretRelease, ear: String) {
        do {
            guard let secret = try await store.secret(named: name) else { throw ServiceError.notFound("no secret named \"\(name)\"") }
            let verdict = try await verifyAndAppraise(json, policy: secret.policy, referenceValues: secret.referenceValues)
            let appraisal = verdict.appraisal
            guard appraisal.status == .affirming || appraisal.status == .warning else {
                metrics.releases[.refused]?.increment()
                try await audit("release", subject: name, outcome: "refused", detail: Self.summary(appraisal))
                throw ServiceError(.forbidden, code: "policy_refused",
                                   message: "the evidence does not meet policy \"\(secret.policy)\": \(appraisal.failures.map(\.rule).joined(separator: ", "))",
                                   rules: Self.rules(appraisal))
            }
            guard let runtimeKey = appraisal.evidence.runtimeKey else {
                throw ServiceError(.unprocessableContent, code: "runtime_key_missing", message: "a release needs a runtimeKey bound into the evidence to encrypt the secret to")
            }
            var value = try secret.envelope.open(name: name, masterKey: configuration.masterKey)
            defer { value.zeroize() }
            let release = try SecretRelease.seal(value, name: name, nonce: appraisal.evidence.nonce, to: runtimeKey.keyAgreementKey)
            metrics.releases[.affirmed]?.increment()
            try await audit("release", subject: name, outcome: "ok", detail: Self.summary(appraisal))
            return (release, verdict.ear)
        } catch let error as ServiceError {
            if error.code != "policy_refused" {
                metrics.releases[.rejected]?.increment()
                try await audit("release", subject: name, outcome: "rejected", detail: error.message)
            }
            throw error
        }
    }

    /// Adds a new EAR signing key and returns its public JWK.
    public func rotateSigningKey() async throws -> [UInt8] {
        let jwk = try await signingKeys.rotate()
        try await audit("signing-key.rotate", subject: "ear", outcome: "ok", detail: "")
        return jwk
    }

    /// The JWK Set of every EAR signing key.
    public func jwks() async throws -> [UInt8] {
        try await signingKeys.signer().jwksJSON()
    }

    private func verifyAndAppraise(_ json: [UInt8], policy policyName: String, referenceValues referenceName: String) async throws -> Verdict {
        let bundle: EvidenceBundle
        do {
            bundle = try EvidenceBundle(json: json)
        } catch {
            throw ServiceError(.badRequest, code: "evidence_malformed", message: error.description)
        }
        let policy: AppraisalPolicy
        let references: ReferenceValues
        do {
            guard let parsed = try await documents.document(.policy, name: policyName, store: store, parse: { try AppraisalPolicy(json: $0) }) else {
                throw ServiceError(.notFound, code: "policy_unknown", message: "no policy named \"\(policyName)\"")
            }
            policy = parsed
            guard let values = try await documents.document(.referenceValues, name: referenceName, store: store, parse: { try ReferenceValues(json: $0) }) else {
                throw ServiceError(.notFound, code: "reference_values_unknown", message: "no reference values named \"\(referenceName)\"")
            }
            references = values
        } catch let error as AttestationError {
            throw ServiceError(.unprocessableContent, code: "document_invalid", message: error.description)
        }
        try await redeem(bundle.nonce)
        let verified: VerifiedEvidence
        do {
            verified = try verifier.verify(bundle, expecting: .nonce(bundle.nonce))
        } catch {
            throw ServiceError(.unprocessableContent, code: "evidence_invalid", message: error.description)
        }
        let appraisal = policy.appraise(verified, referenceValues: references, at: configuration.now())
        let ear = try await signingKeys.signer().sign(appraisal, issuedAt: configuration.now(), validity: configuration.earValidity)
        return Verdict(appraisal: appraisal, ear: ear)
    }

    /// The appraisal's rules as the API reports them.
    static func rules(_ appraisal: Appraisal) -> [RuleOutcome] {
        appraisal.results.map { RuleOutcome(rule: "\($0.rule) (\($0.subject))", passed: $0.passed, expected: $0.expected, actual: $0.actual) }
    }

    /// One audit line: status, type, roots and failed rules; never values that could be secret.
    private static func summary(_ appraisal: Appraisal) -> String {
        let roots = appraisal.evidence.roots.map(\.description).joined(separator: ", ")
        let failed = appraisal.failures.map { "\($0.rule) (\($0.subject))" }
        return "\(appraisal.status.rawValue); \(appraisal.evidence.type.rawValue) via \(roots)" + (failed.isEmpty ? "" : "; failed: \(failed.joined(separator: ", "))")
    }
}
