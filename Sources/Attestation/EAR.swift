import Foundation
import JWTKit

/// An EAT Attestation Result (EAR, draft-ietf-rats-ear-03 §3, JSON serialisation §4): the
/// verifier's signed statement about one piece of evidence, with the EAR profile
/// "tag:github.com,2023:veraison/ear". One submodule per appraisal, named by the evidence type,
/// carries the AR4SI status and trustworthiness vector, the policy's identifier and the verified
/// claims (as Veraison's `ear.veraison.annotated-evidence`). ``EARSigner`` signs it as a JWT.
public struct EAR: Sendable, Hashable {
    /// The EAR profile this library produces (draft-ietf-rats-ear §3.1, `eat_profile`).
    public static let profile = "tag:github.com,2023:veraison/ear"

    /// `eat_profile`.
    public var eatProfile: String
    /// `iat`: seconds since the Unix epoch.
    public var issuedAt: Int
    /// `exp` (RFC 7519 §4.1.4, which EAT and EAR reuse): seconds since the Unix epoch after
    /// which a relying party must not accept the result; nil for a result that never expires.
    public var expiresAt: Int?
    /// `ear.verifier-id`.
    public var verifierID: VerifierID
    /// `eat_nonce`: the evidence's nonce, base64url (EAT §4.1 JSON form); nil for an empty nonce.
    public var nonce: String?
    /// `submods`: one appraisal per attester component.
    public var submods: [String: Submodule]

    /// `ear.verifier-id` (draft-ietf-rats-ear §3.2): who built the verifier, and which build.
    public struct VerifierID: Sendable, Hashable, Codable {
        public var developer: String
        public var build: String

        public init(developer: String, build: String) {
            self.developer = developer
            self.build = build
        }
    }

    /// One submodule's appraisal (draft-ietf-rats-ear §3.3, `ear-appraisal`).
    public struct Submodule: Sendable, Hashable, Codable {
        /// `ear.status`.
        public var status: EARStatus
        /// `ear.trustworthiness-vector`.
        public var trustworthinessVector: TrustworthinessVector
        /// `ear.appraisal-policy-id`.
        public var appraisalPolicyID: String?
        /// `ear.veraison.annotated-evidence`: the verified claims.
        public var annotatedEvidence: EvidenceClaims

        enum CodingKeys: String, CodingKey {
            case status = "ear.status"
            case trustworthinessVector = "ear.trustworthiness-vector"
            case appraisalPolicyID = "ear.appraisal-policy-id"
            case annotatedEvidence = "ear.veraison.annotated-evidence"
        }
    }

    /// How long an EAR is valid unless the issuer says otherwise: five minutes, the default
    /// lifetime of the challenge it answers.
    public static let defaultValidity: Duration = .seconds(300)

    /// The result of `appraisal`, issued at `issuedAt` (whole seconds) and valid for `validity`
    /// (nil: no `exp`).
    public init(appraisal: Appraisal, verifierID: VerifierID, issuedAt: Date = Date(), validity: Duration? = EAR.defaultValidity) {
        self.eatProfile = Self.profile
        let issued = Int(issuedAt.timeIntervalSince1970.rounded(.down))
        self.issuedAt = issued
        self.expiresAt = validity.map { issued + Int($0.components.seconds) }
        self.verifierID = verifierID
        let nonce = appraisal.evidence.nonce
        self.nonce = nonce.isEmpty ? nil : ByteEncoding.base64URL(nonce)
        self.submods = [appraisal.evidence.type.rawValue: Submodule(
            status: appraisal.status, trustworthinessVector: appraisal.trustworthinessVector,
            appraisalPolicyID: appraisal.policyID, annotatedEvidence: appraisal.evidence.claims)]
    }

    /// The worst status among the submodules.
    public var status: EARStatus { self.submods.values.map(\.status).max() ?? .none }
}

extension EAR: JWTPayload {
    enum CodingKeys: String, CodingKey {
        case eatProfile = "eat_profile"
        case issuedAt = "iat"
        case expiresAt = "exp"
        case verifierID = "ear.verifier-id"
        case nonce = "eat_nonce"
        case submods
    }

    /// Checks, after the signature, that the token is an EAR of this profile with submodules and
    /// that its `exp`, if any, has not passed.
    public func verify(using algorithm: some JWTAlgorithm) async throws {
        if let expiresAt = self.expiresAt, Date().timeIntervalSince1970 >= TimeInterval(expiresAt) {
            throw AttestationError.earInvalid(reason: "it expired at \(Date(timeIntervalSince1970: TimeInterval(expiresAt)))")
        }
        guard self.eatProfile == Self.profile else {
            throw AttestationError.earInvalid(reason: "eat_profile is \"\(self.eatProfile)\", not \"\(Self.profile)\"")
        }
        guard !self.submods.isEmpty else { throw AttestationError.earInvalid(reason: "it has no submods") }
    }
}
