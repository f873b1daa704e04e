import Attestation
import Crypto
import Foundation
import KeyBroker
import Synchronization

/// The EAR signing keys every replica shares: kept in the store with their private keys sealed
/// under the master key, loaded into an ``EARSigner`` and reloaded every few seconds so that a
/// rotation on one replica reaches the others. The newest key signs; all stay in the JWKS.
final class SigningKeyRing: Sendable {
    private let store: any AttestationStore
    private let masterKey: MasterKey
    private let verifierID: EAR.VerifierID
    private let now: @Sendable () -> Date
    private let cached = Mutex<(signer: EARSigner, loadedAt: ContinuousClock.Instant)?>(nil)
    /// How long a loaded key set is used before the store is read again.
    private let refreshInterval: Duration = .seconds(5)

    init(store: any AttestationStore, masterKey: MasterKey, verifierID: EAR.VerifierID, now: @escaping @Sendable () -> Date) {
        self.store = store
        self.masterKey = masterKey
        self.verifierID = verifierID
        self.now = now
    }

    /// The current signer, creating the first key when the store has none.
    func signer() async throws -> EARSigner {
        if let cached = cached.withLock({ $0 }), ContinuousClock.now - cached.loadedAt < refreshInterval {
            return cached.signer
        }
        if try await store.signingKeys().isEmpty {
            _ = try await rotate()
        }
        return try await reload()
    }

    /// Adds a new ES256 key, which signs from now on; returns its public JWK.
    func rotate() async throws -> [UInt8] {
        let key = P256.Signing.PrivateKey()
        let kid = "ear-\(Int(now().timeIntervalSince1970))-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        var raw = Array(key.rawRepresentation)
        defer { raw.zeroize() }
        try await store.addSigningKey(StoredSigningKey(kid: kid, algorithm: "ES256",
                                                       sealedPrivateKey: try SecretEnvelope.seal(raw, name: Self.envelopeName(kid), masterKey: masterKey),
                                                       createdAt: now()))
        let signer = try await reload()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(signer.keys.first { $0.kid == kid }?.publicJWK))
    }

    @discardableResult
    private func reload() async throws -> EARSigner {
        let stored = try await store.signingKeys()
        let keys = try stored.map { record throws -> EARSigner.Key in
            guard record.algorithm == "ES256" else { throw SigningKeyError.unsupportedAlgorithm(kid: record.kid, algorithm: record.algorithm) }
            var raw = try record.sealedPrivateKey.open(name: Self.envelopeName(record.kid), masterKey: masterKey)
            defer { raw.zeroize() }
            return .es256(kid: record.kid, privateKey: try P256.Signing.PrivateKey(rawRepresentation: raw))
        }
        let signer = try EARSigner(keys: keys, verifierID: verifierID)
        cached.withLock { $0 = (signer, ContinuousClock.now) }
        return signer
    }

    private static func envelopeName(_ kid: String) -> String { "ear-signing-key.\(kid)" }
}

/// A stored signing key this version cannot use.
enum SigningKeyError: Error, CustomStringConvertible {
    case unsupportedAlgorithm(kid: String, algorithm: String)

    var description: String {
        switch self {
        case .unsupportedAlgorithm(let kid, let algorithm): "signing key \(kid) uses \(algorithm), which this version cannot load"
        }
    }
}
