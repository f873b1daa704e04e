import AttestationServer
import Foundation
import KeyBroker
import Testing

@Suite("Attestation service storage (SQLite and PostgreSQL)")
struct StoreTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("Migrations are idempotent and reach the newest schema", arguments: StoreBackend.available)
    func migrations(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            #expect(try await store.schemaVersion() == 1)
            try await store.migrate()
            #expect(try await store.schemaVersion() == 1)
        }
    }

    @Test("A nonce is accepted once, then replayed; unknown and expired nonces are told apart", arguments: StoreBackend.available)
    func nonceLifecycle(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let nonce = Array(repeating: UInt8(7), count: 32)
            try await store.insertNonce(nonce, issuedAt: Self.t0, expiresAt: Self.t0 + 60)
            #expect(try await store.redeemNonce(Array(repeating: 8, count: 32), at: Self.t0 + 1) == .unknown)
            #expect(try await store.redeemNonce(nonce, at: Self.t0 + 1) == .accepted)
            #expect(try await store.redeemNonce(nonce, at: Self.t0 + 2) == .replayed)

            let late = Array(repeating: UInt8(9), count: 32)
            try await store.insertNonce(late, issuedAt: Self.t0, expiresAt: Self.t0 + 60)
            #expect(try await store.redeemNonce(late, at: Self.t0 + 60) == .expired)
            #expect(try await store.purgeNonces(expiredBefore: Self.t0 + 61) == 2)
            #expect(try await store.redeemNonce(nonce, at: Self.t0 + 62) == .unknown)
        }
    }

    @Test("Racing redemptions of one nonce: exactly one is accepted", arguments: StoreBackend.available)
    func nonceRace(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let nonces = (0..<20).map { i in (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) } }
            for nonce in nonces { try await store.insertNonce(nonce, issuedAt: Self.t0, expiresAt: Self.t0 + 60) }
            let outcomes = try await withThrowingTaskGroup(of: ([UInt8], NonceRedemption).self) { group in
                for nonce in nonces {
                    for _ in 0..<8 { group.addTask { (nonce, try await store.redeemNonce(nonce, at: Self.t0 + 1)) } }
                }
                return try await group.reduce(into: [[UInt8]: [NonceRedemption]]()) { $0[$1.0, default: []].append($1.1) }
            }
            for nonce in nonces {
                let results = outcomes[nonce] ?? []
                #expect(results.count == 8)
                #expect(results.filter { $0 == .accepted }.count == 1)
                #expect(results.filter { $0 == .replayed }.count == 7)
            }
        }
    }

    @Test("Secrets are stored sealed, replaced, listed without values, and deleted", arguments: StoreBackend.available)
    func secrets(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let key = MasterKey.random()
            let first = StoredSecret(name: "disk", envelope: try SecretEnvelope.seal(Array("one".utf8), name: "disk", masterKey: key),
                                     policy: "p", referenceValues: "r", updatedAt: Self.t0)
            try await store.putSecret(first)
            #expect(try await store.secret(named: "disk") == first)
            let second = StoredSecret(name: "disk", envelope: try SecretEnvelope.seal(Array("two".utf8), name: "disk", masterKey: key),
                                      policy: "p2", referenceValues: "r2", updatedAt: Self.t0 + 5)
            try await store.putSecret(second)
            let read = try #require(try await store.secret(named: "disk"))
            #expect(try read.envelope.open(name: "disk", masterKey: key) == Array("two".utf8))
            #expect(try await store.secretSummaries() == [SecretSummary(name: "disk", policy: "p2", referenceValues: "r2", updatedAt: Self.t0 + 5)])
            #expect(try await store.deleteSecret(named: "disk"))
            #expect(try await !store.deleteSecret(named: "disk"))
            #expect(try await store.secret(named: "disk") == nil)
        }
    }

    @Test("Documents, signing keys and the audit log round-trip", arguments: StoreBackend.available)
    func documentsKeysAudit(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.putDocument(.policy, name: "strict", json: Array("{\"a\":1}".utf8), at: Self.t0)
            try await store.putDocument(.policy, name: "strict", json: Array("{\"a\":2}".utf8), at: Self.t0 + 1)
            try await store.putDocument(.referenceValues, name: "strict", json: Array("{}".utf8), at: Self.t0)
            #expect(try await store.document(.policy, name: "strict") == Array("{\"a\":2}".utf8))
            #expect(try await store.documentNames(.policy) == ["strict"])
            #expect(try await store.deleteDocument(.policy, name: "strict"))
            #expect(try await store.document(.policy, name: "strict") == nil)
            #expect(try await store.document(.referenceValues, name: "strict") == Array("{}".utf8))

            let key = MasterKey.random()
            for (index, kid) in ["b", "a"].enumerated() {
                try await store.addSigningKey(StoredSigningKey(kid: kid, algorithm: "ES256",
                                                               sealedPrivateKey: try SecretEnvelope.seal([1, 2, 3], name: kid, masterKey: key),
                                                               createdAt: Self.t0 + Double(index)))
            }
            #expect(try await store.signingKeys().map(\.kid) == ["b", "a"])

            for index in 0..<5 {
                try await store.appendAudit(AuditEvent(time: Self.t0 + Double(index), action: "release", subject: "s\(index)", outcome: "ok", detail: "d"))
            }
            #expect(try await store.auditEvents(limit: 3).map(\.subject) == ["s4", "s3", "s2"])
        }
    }
}
