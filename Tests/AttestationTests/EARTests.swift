import Attestation
import Crypto
import Foundation
import JWTKit
import Testing

/// EARs signed by ``EARSigner`` verify with jwt-kit from the published JWK Set and with an
/// independent peer (Python's `cryptography`, given only the token and the JWK Set document).
@Suite struct EARTests {
    static let verifierID = EAR.VerifierID(developer: "https://github.com/cvmkit", build: "CVMKit tests")

    /// Verifies a JWS ES256/ES384 token against a JWK Set with `cryptography` and prints its payload.
    static let peer = """
        import base64, json, sys
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, utils
        def b64(text): return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        token, jwks = sys.stdin.read().strip(), json.load(open(sys.argv[1]))
        header64, payload64, signature64 = token.split(".")
        header = json.loads(b64(header64))
        key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
        curve, digest, size = {"ES256": (ec.SECP256R1(), hashes.SHA256(), 32), "ES384": (ec.SECP384R1(), hashes.SHA384(), 48)}[header["alg"]]
        assert key["kty"] == "EC" and key["alg"] == header["alg"]
        public = ec.EllipticCurvePublicNumbers(int.from_bytes(b64(key["x"]), "big"), int.from_bytes(b64(key["y"]), "big"), curve).public_key()
        signature = b64(signature64)
        assert len(signature) == 2 * size
        der = utils.encode_dss_signature(int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big"))
        public.verify(der, (header64 + "." + payload64).encode(), ec.ECDSA(digest))
        print(json.dumps({"header": header, "payload": json.loads(b64(payload64))}))
        """

    /// The peer's verdict: the decoded header and payload, or nil when verification failed.
    static func peerVerify(_ token: String, jwks: [UInt8]) throws -> (header: [String: Any], payload: [String: Any])? {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("cvmkit-jwks-\(UUID().uuidString).json")
        try Data(jwks).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try run("/usr/bin/env", ["python3", "-c", peer, file.path], input: Array(token.utf8))
        guard result.status == 0 else { return nil }
        let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as! [String: Any]
        return (object["header"] as! [String: Any], object["payload"] as! [String: Any])
    }

    static func gceAppraisal() throws -> Appraisal {
        let evidence = try AppraisalTests.gceEvidence()
        return try AppraisalTests.policy("gce-shielded-vm.policy.json")
            .appraise(evidence, referenceValues: try AppraisalTests.reference("gce-cos85.reference.json"), at: evidence.verificationTime)
    }

    @Test(.enabled(if: pythonCryptographyAvailable, "needs python3 with cryptography (scripts/install-deps.sh)"))
    func es256EARVerifiesWithThePeerAndCarriesTheAppraisal() async throws {
        let signer = try EARSigner(keys: [.es256(kid: "2025-06")], verifierID: Self.verifierID)
        let appraisal = try Self.gceAppraisal()
        let issued = Date(timeIntervalSince1970: 1_750_000_000)
        let token = try await signer.sign(appraisal, issuedAt: issued)
        let peer = try #require(try Self.peerVerify(token, jwks: try signer.jwksJSON()))
        #expect(peer.header["alg"] as? String == "ES256")
        #expect(peer.header["kid"] as? String == "2025-06")
        let payload = peer.payload
        #expect(payload["eat_profile"] as? String == "tag:github.com,2023:veraison/ear")
        #expect(payload["iat"] as? Int == 1_750_000_000)
        #expect(payload["exp"] as? Int == 1_750_000_300)
        #expect(payload["eat_nonce"] as? String == "kAk")
        #expect((payload["ear.verifier-id"] as? [String: String]) == ["developer": "https://github.com/cvmkit", "build": "CVMKit tests"])
        let submods = try #require(payload["submods"] as? [String: [String: Any]])
        #expect(Array(submods.keys) == ["tpm"])
        let tpm = submods["tpm"]!
        #expect(tpm["ear.status"] as? String == "affirming")
        #expect(tpm["ear.appraisal-policy-id"] as? String == "examples/policies/gce-shielded-vm.policy.json")
        let vector = try #require(tpm["ear.trustworthiness-vector"] as? [String: Int])
        #expect(vector == ["instance-identity": 2, "configuration": 2, "executables": 3, "file-system": 0, "hardware": 2,
                           "runtime-opaque": 0, "storage-opaque": 0, "sourced-data": 0])
        let claims = try #require(tpm["ear.veraison.annotated-evidence"] as? [String: Any])
        #expect(claims["platform"] as? String == "tpm")
        #expect(claims["emulated"] as? Bool == false)
        #expect(claims["binding"] as? String == "qualifying-data")
        let log = try #require((claims["tpm"] as? [String: Any])?["eventLog"] as? [String: Any])
        #expect(log["secureBoot"] as? Bool == true)
        #expect((log["bootFiles"] as? [[String: Any]])?.count == 3)
    }

    @Test func jwtKitVerifiesFromThePublishedJWKSet() async throws {
        let signer = try EARSigner(keys: [.es256(kid: "a")], verifierID: Self.verifierID)
        let appraisal = try Self.gceAppraisal()
        let token = try await signer.sign(appraisal)
        let keys = try await JWTKeyCollection().add(jwksJSON: String(decoding: try signer.jwksJSON(), as: UTF8.self))
        let ear = try await keys.verify(token, as: EAR.self)
        #expect(ear == EAR(appraisal: appraisal, verifierID: Self.verifierID, issuedAt: Date(timeIntervalSince1970: TimeInterval(ear.issuedAt))))
        #expect(ear.status == .affirming)
        #expect(ear.submods["tpm"]?.annotatedEvidence == appraisal.evidence.claims)
        #expect(try await signer.verify(token) == ear)
    }

    /// An EAR past its `exp` is refused by the signer's own verify and by jwt-kit from the JWK
    /// Set; one within it, or issued without an `exp`, is accepted.
    @Test func expiredEARIsRefused() async throws {
        let signer = try EARSigner(keys: [.es256(kid: "a")], verifierID: Self.verifierID)
        let keys = try await JWTKeyCollection().add(jwksJSON: String(decoding: try signer.jwksJSON(), as: UTF8.self))
        let appraisal = try Self.gceAppraisal()
        let expired = try await signer.sign(appraisal, issuedAt: Date(timeIntervalSinceNow: -301))
        await #expect(throws: AttestationError.self) { try await signer.verify(expired) }
        await #expect(throws: (any Error).self) { try await keys.verify(expired, as: EAR.self) }
        let current = try await signer.sign(appraisal, issuedAt: Date(timeIntervalSinceNow: -299))
        #expect(try await signer.verify(current).expiresAt != nil)
        let longLived = try await signer.sign(appraisal, issuedAt: Date(timeIntervalSinceNow: -301), validity: .seconds(3600))
        _ = try await signer.verify(longLived)
        let unbounded = try await signer.sign(appraisal, issuedAt: Date(timeIntervalSince1970: 1_750_000_000), validity: nil)
        #expect(try await signer.verify(unbounded).expiresAt == nil)
    }

    @Test(.enabled(if: pythonCryptographyAvailable, "needs python3 with cryptography (scripts/install-deps.sh)"))
    func es384AndTamperedTokens() async throws {
        let signer = try EARSigner(keys: [.es384(kid: "p384")], verifierID: Self.verifierID)
        let token = try await signer.sign(try Self.gceAppraisal())
        let jwks = try signer.jwksJSON()
        #expect(try Self.peerVerify(token, jwks: jwks)?.header["alg"] as? String == "ES384")
        let parts = token.split(separator: ".").map(String.init)
        var payload = try JSONSerialization.jsonObject(with: Data(base64URL: parts[1])) as! [String: Any]
        var submods = payload["submods"] as! [String: [String: Any]]
        submods["tpm"]!["ear.status"] = "affirming"
        submods["tpm"]!["ear.appraisal-policy-id"] = "forged"
        payload["submods"] = submods
        let forged = [parts[0], try JSONSerialization.data(withJSONObject: payload).base64URLEncoded, parts[2]].joined(separator: ".")
        #expect(try Self.peerVerify(forged, jwks: jwks) == nil)
        await #expect(throws: AttestationError.self) { try await signer.verify(forged) }
        let other = try EARSigner(keys: [.es384(kid: "p384")], verifierID: Self.verifierID)
        await #expect(throws: AttestationError.self) { try await other.verify(token) }
    }

    @Test func rotationSignsWithTheNewestAndPublishesAll() async throws {
        let appraisal = try Self.gceAppraisal()
        let first = try EARSigner(keys: [.es256(kid: "2025-05")], verifierID: Self.verifierID)
        let old = try await first.sign(appraisal)
        let rotated = try first.adding(.es384(kid: "2025-06"))
        #expect(rotated.signingKey.kid == "2025-06")
        let new = try await rotated.sign(appraisal)
        let header = try JSONSerialization.jsonObject(with: Data(base64URL: String(new.split(separator: ".")[0]))) as! [String: String]
        #expect(header["kid"] == "2025-06")
        #expect(header["alg"] == "ES384")
        let published = try JSONSerialization.jsonObject(with: Data(try rotated.jwksJSON())) as! [String: [[String: String]]]
        #expect(published["keys"]!.map { $0["kid"]! } == ["2025-05", "2025-06"])
        #expect(published["keys"]!.allSatisfy { $0["d"] == nil })
        _ = try await rotated.verify(old)
        _ = try await rotated.verify(new)
        if pythonCryptographyAvailable {
            #expect(try Self.peerVerify(old, jwks: try rotated.jwksJSON()) != nil)
            #expect(try Self.peerVerify(new, jwks: try rotated.jwksJSON()) != nil)
        }
        let retired = try rotated.removing(kid: "2025-05")
        await #expect(throws: AttestationError.self) { try await retired.verify(old) }
        _ = try await retired.verify(new)
        #expect(throws: AttestationError.earSignerInvalid(reason: "the kid \"2025-06\" is used twice")) { try rotated.adding(.es256(kid: "2025-06")) }
        #expect(throws: AttestationError.earSignerInvalid(reason: "it has no key")) { try retired.removing(kid: "2025-06") }
    }
}

extension Data {
    init(base64URL text: String) {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.count % 4) % 4)
        self = Data(base64Encoded: standard)!
    }

    var base64URLEncoded: String {
        self.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
