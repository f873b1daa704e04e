import Attestation
import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import JWTKit
import KeyBroker
import TDX
import TDXTestSupport
import Testing

/// A TD on TDXTestSupport's synthetic platform (a test CA standing in for Intel's), whose
/// REPORTDATA binds the nonce and runtime key as a guest agent binds them.
enum SyntheticTDX {
    static let platform: SyntheticPlatform = try! SyntheticPlatform()
    static let mrTD = [UInt8](repeating: 0x11, count: 48)

    static func bundle(nonce: [UInt8], runtimeKey: P256.KeyAgreement.PublicKey?, debug: Bool = false) throws -> [UInt8] {
        let key = runtimeKey.map(RuntimeKey.init)
        var spec = SyntheticPlatform.QuoteSpec()
        spec.reportData = try EvidenceBinding.reportData(nonce: nonce, runtimeKey: key)
        spec.mrTD = mrTD
        if debug { spec.tdAttributes |= 1 }
        let quote = try TDXQuote(bytes: try platform.quote(spec))
        return try EvidenceBundle(nonce: nonce, runtimeKey: key, evidence: .tdx(TDXEvidence(quote: quote))).jsonEncoded()
    }

    static let policy = """
        {"version": 1, "id": "tdx-test", "rules": [
          {"rule": "platform", "in": ["tdx"]}, {"rule": "runtime-key"},
          {"rule": "tdx-mrtd"}, {"rule": "debug-forbidden"}]}
        """
    static let referenceValues = "{\"tdxMRTDs\": [\"\(String(repeating: "11", count: 48))\"]}"
}

@Suite("TDX evidence over HTTP")
struct TDXServiceTests {
    static func provision(_ client: any TestClientProtocol) async throws {
        for (path, body) in [("/v1/admin/policies/tdx", SyntheticTDX.policy), ("/v1/admin/reference-values/tdx", SyntheticTDX.referenceValues)] {
            try await client.execute(uri: path, method: .put, headers: TestService.admin, body: jsonBody(body)) { #expect($0.status == .ok) }
        }
        let put = "{\"value\":\"\(Data("td secret".utf8).base64EncodedString())\",\"policy\":\"tdx\",\"referenceValues\":\"tdx\"}"
        try await client.execute(uri: "/v1/admin/secrets/td", method: .put, headers: TestService.admin, body: jsonBody(put)) { #expect($0.status == .ok) }
    }

    @Test("A tdx bundle attests: affirming, with the TD's rules and an EAR naming the tdx submodule")
    func attest() async throws {
        try await TestService.run { client, _ in
            try await Self.provision(client)
            let nonce = try await ReleaseTests.nonce(client)
            let evidence = try SyntheticTDX.bundle(nonce: nonce, runtimeKey: P256.KeyAgreement.PrivateKey().publicKey)
            let response = try await client.execute(uri: "/v1/attest?policy=tdx&referenceValues=tdx", method: .post, body: ByteBuffer(bytes: evidence)) { $0 }
            #expect(response.status == .ok, "\(String(buffer: response.body))")
            #expect(response.json["status"] as? String == "affirming")
            #expect((response.json["roots"] as? [String]) == ["synthetic test root (tdx-root-ca, emulated)"])
            let rules = response.json["rules"] as? [[String: Any]] ?? []
            #expect(rules.compactMap { $0["rule"] as? String } == [
                "platform (platform)", "runtime-key (runtime key)", "tdx-mrtd (TDX MRTD)", "debug-forbidden (TD attributes DEBUG)",
            ])
            #expect(rules.allSatisfy { $0["passed"] as? Bool == true })
            let jwks = try await client.execute(uri: "/.well-known/jwks.json", method: .get) { Data(buffer: $0.body) }
            let keys = try await JWTKeyCollection().add(jwksJSON: String(decoding: jwks, as: UTF8.self))
            let ear = try await keys.verify(try #require(response.json["ear"] as? String), as: EAR.self)
            #expect(Array(ear.submods.keys) == ["tdx"])
            #expect(ear.submods["tdx"]?.annotatedEvidence.tdx?.mrTD == SyntheticTDX.mrTD.map { String(format: "%02x", $0) }.joined())
        }
    }

    @Test("The secret is released to a bound TD and refused to a debug TD and without opt-in to emulated roots")
    func release() async throws {
        try await TestService.run { client, _ in
            try await Self.provision(client)
            let vmKey = P256.KeyAgreement.PrivateKey()
            let nonce = try await ReleaseTests.nonce(client)
            let evidence = try SyntheticTDX.bundle(nonce: nonce, runtimeKey: vmKey.publicKey)
            let response = try await client.execute(uri: "/v1/secrets/td/release", method: .post, body: ByteBuffer(bytes: evidence)) { $0 }
            #expect(response.status == .ok, "\(String(buffer: response.body))")
            let secret = try JSONDecoder().decode(SecretRelease.self, from: JSONSerialization.data(withJSONObject: try #require(response.json["secret"])))
            #expect(try secret.open(name: "td", nonce: nonce, with: vmKey) == Array("td secret".utf8))

            let debug = try SyntheticTDX.bundle(nonce: try await ReleaseTests.nonce(client), runtimeKey: vmKey.publicKey, debug: true)
            try await client.execute(uri: "/v1/secrets/td/release", method: .post, body: ByteBuffer(bytes: debug)) { response in
                #expect(response.status == .forbidden)
                let failed = (response.json["rules"] as? [[String: Any]] ?? []).filter { $0["passed"] as? Bool == false }
                #expect(failed.compactMap { $0["rule"] as? String } == ["debug-forbidden (TD attributes DEBUG)"])
            }
        }
        try await TestService.run(allowEmulated: false) { client, _ in
            try await Self.provision(client)
            let evidence = try SyntheticTDX.bundle(nonce: try await ReleaseTests.nonce(client), runtimeKey: nil)
            try await client.execute(uri: "/v1/attest?policy=tdx&referenceValues=tdx", method: .post, body: ByteBuffer(bytes: evidence)) { response in
                #expect(response.status == .unprocessableContent)
                #expect((response.json["message"] as? String)?.contains("emulated root synthetic test root") == true)
            }
        }
    }
}
