import Attestation
import AttestationClient
import Crypto
import Foundation
import KeyBroker

/// The guest side of attestation: takes a challenge from the service, makes a fresh runtime key
/// pair for this request only, has an ``EvidenceSource`` bind both into hardware-signed
/// evidence, and either attests or receives a secret that only that key can open.
public struct GuestAgent: Sendable {
    public let client: AttestationClient
    public let source: any EvidenceSource

    public init(client: AttestationClient, source: any EvidenceSource) {
        self.client = client
        self.source = source
    }

    /// The evidence for a fresh challenge, and the private half of the runtime key it binds.
    public func freshEvidence() async throws -> (bundle: EvidenceBundle, runtimeKey: P256.KeyAgreement.PrivateKey) {
        let challenge = try await client.challenge()
        let key = P256.KeyAgreement.PrivateKey()
        return (try source.evidence(nonce: challenge.nonceBytes, runtimeKey: RuntimeKey(key.publicKey)), key)
    }

    /// Attests and returns the service's verdict (with its signed EAR).
    public func attest(policy: String? = nil, referenceValues: String? = nil) async throws -> AttestationResponse {
        let (bundle, _) = try await freshEvidence()
        return try await client.attest(evidence: try bundle.jsonEncoded(), policy: policy, referenceValues: referenceValues)
    }

    /// Releases the secret `name` to this VM and opens it; the caller owns (and should zeroize)
    /// the value. The runtime private key is discarded afterwards.
    public func releaseSecret(_ name: String) async throws -> [UInt8] {
        let (bundle, key) = try await freshEvidence()
        let response = try await client.release(secret: name, evidence: try bundle.jsonEncoded())
        return try response.secret.open(name: name, nonce: bundle.nonce, with: key)
    }
}
