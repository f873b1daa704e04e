import Attestation
import Crypto
import Foundation
import Testing

/// ``EvidenceBinding`` against an independent implementation of the construction docs/evidence.md
/// states (Python's hashlib), and the runtime key's JWK form.
@Suite struct BindingTests {
    /// The construction as docs/evidence.md states it, in Python.
    static let peer = """
        import hashlib, sys
        label, nonce, key = sys.argv[1].encode(), bytes.fromhex(sys.argv[2]), bytes.fromhex(sys.argv[3])
        message = label + b"\\x00" + len(nonce).to_bytes(2, "big") + nonce + len(key).to_bytes(2, "big") + key
        print(hashlib.sha512(message).hexdigest() if "REPORT_DATA" in sys.argv[1] else hashlib.sha256(message).hexdigest())
        """

    func peerDigest(label: String, nonce: [UInt8], key: RuntimeKey?) throws -> [UInt8] {
        let result = try run("/usr/bin/env", ["python3", "-c", Self.peer, label, nonce.hex, key?.x963Representation.hex ?? ""])
        #expect(result.status == 0, "\(result.error)")
        return [UInt8](hex: result.output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test func reportDataAndQualifyingDataMatchThePeer() throws {
        let key = newRuntimeKey()
        for (nonce, runtimeKey) in [(newNonce(), key), (newNonce(), nil), ([UInt8](repeating: 7, count: 16), key), ([UInt8](repeating: 1, count: 64), nil)] {
            let reportData = try EvidenceBinding.reportData(nonce: nonce, runtimeKey: runtimeKey)
            let qualifyingData = try EvidenceBinding.qualifyingData(nonce: nonce, runtimeKey: runtimeKey)
            #expect(reportData.count == 64)
            #expect(qualifyingData.count == 32)
            #expect(reportData == (try peerDigest(label: EvidenceBinding.reportDataLabel, nonce: nonce, key: runtimeKey)))
            #expect(qualifyingData == (try peerDigest(label: EvidenceBinding.qualifyingDataLabel, nonce: nonce, key: runtimeKey)))
        }
    }

    @Test func everyInputChangesTheBinding() throws {
        let nonce = newNonce(), key = newRuntimeKey()
        let base = try EvidenceBinding.reportData(nonce: nonce, runtimeKey: key)
        var otherNonce = nonce
        otherNonce[0] ^= 1
        #expect(try EvidenceBinding.reportData(nonce: otherNonce, runtimeKey: key) != base)
        #expect(try EvidenceBinding.reportData(nonce: nonce, runtimeKey: newRuntimeKey()) != base)
        #expect(try EvidenceBinding.reportData(nonce: nonce, runtimeKey: nil) != base)
        // The two fields use distinct labels: one is not a truncation of the other.
        #expect(Array(try EvidenceBinding.reportData(nonce: nonce, runtimeKey: key).prefix(32)) != (try EvidenceBinding.qualifyingData(nonce: nonce, runtimeKey: key)))
    }

    @Test func nonceLengthsOutsideSixteenToSixtyFourBytesAreRefused() throws {
        for length in [0, 2, 15, 65, 200] {
            #expect(throws: AttestationError.nonceLengthInvalid(length)) {
                try EvidenceBinding.reportData(nonce: [UInt8](repeating: 1, count: length), runtimeKey: nil)
            }
            #expect(throws: AttestationError.nonceLengthInvalid(length)) {
                try EvidenceBinding.qualifyingData(nonce: [UInt8](repeating: 1, count: length), runtimeKey: nil)
            }
        }
    }

    @Test func runtimeKeyRoundTripsAsAPublicJWK() throws {
        let key = P256.KeyAgreement.PrivateKey().publicKey
        let runtimeKey = RuntimeKey(key)
        let json = try JSONEncoder().encode(runtimeKey)
        let object = try JSONSerialization.jsonObject(with: json) as! [String: String]
        #expect(object["kty"] == "EC")
        #expect(object["crv"] == "P-256")
        #expect(Set(object.keys) == ["kty", "crv", "x", "y"])
        let decoded = try JSONDecoder().decode(RuntimeKey.self, from: json)
        #expect(decoded == runtimeKey)
        #expect(decoded.keyAgreementKey.rawRepresentation == key.rawRepresentation)
        #expect(runtimeKey.x963Representation == Array(key.x963Representation))
    }

    @Test func invalidJWKsAreRefused() throws {
        let good = try JSONSerialization.jsonObject(with: JSONEncoder().encode(newRuntimeKey())) as! [String: String]
        var withPrivate = good
        withPrivate["d"] = "AAAA"
        var wrongCurve = good
        wrongCurve["crv"] = "P-384"
        var wrongType = good
        wrongType["kty"] = "RSA"
        var offCurve = good
        offCurve["y"] = good["x"]
        var padded = good
        padded["x"] = good["x"]! + "="
        var unknown = good
        unknown["k"] = "x"
        for jwk in [withPrivate, wrongCurve, wrongType, offCurve, padded, unknown] {
            #expect(throws: DecodingError.self) { try JSONDecoder().decode(RuntimeKey.self, from: JSONSerialization.data(withJSONObject: jwk)) }
        }
        #expect(throws: AttestationError.self) { try RuntimeKey(x963Representation: [0x04] + [UInt8](repeating: 1, count: 64)) }
        #expect(throws: AttestationError.self) { try RuntimeKey(x963Representation: [0x02] + [UInt8](repeating: 1, count: 32)) }
    }
}
