import Attestation
import Foundation
import KeyBroker

/// How one `cvm serve` instance behaves. Replicas sharing a database must share the master key
/// and admin token.
public struct ServiceConfiguration: Sendable {
    /// Wraps every secret and EAR signing key at rest.
    public var masterKey: MasterKey
    /// The operator's bearer token for `/v1/admin`; nil refuses every admin request.
    public var adminToken: String?
    /// How long a challenge nonce stays redeemable.
    public var nonceLifetime: Duration
    /// How long an EAR this service signs is valid (its `exp` is `iat` plus this).
    public var earValidity: Duration
    /// Largest request body accepted (evidence with an event log and certificates fits in 1 MiB).
    public var maximumBodySize: Int
    /// What the verifier trusts: AMD's roots, TPM CAs, and emulated roots only if opted in.
    public var verifier: AttestationVerifier.Configuration
    /// The EAR `ear.verifier-id` developer/build and the JWT issuer.
    public var verifierName: String
    /// The clock (a fixed one in tests).
    public var now: @Sendable () -> Date

    public init(masterKey: MasterKey, adminToken: String?, nonceLifetime: Duration = .seconds(300), earValidity: Duration = EAR.defaultValidity,
                maximumBodySize: Int = 1 << 20,
                verifier: AttestationVerifier.Configuration = .init(), verifierName: String = "cvmkit", now: @escaping @Sendable () -> Date = Date.init) {
        self.masterKey = masterKey
        self.adminToken = adminToken
        self.nonceLifetime = nonceLifetime
        self.earValidity = earValidity
        self.maximumBodySize = maximumBodySize
        self.verifier = verifier
        self.verifierName = verifierName
        self.now = now
    }
}
