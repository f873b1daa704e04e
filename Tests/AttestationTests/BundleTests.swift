import Attestation
import Foundation
import SEVSNP
import TPM2
import Testing
import X509

/// The evidence bundle's JSON form (docs/evidence.md): real evidence round-trips, every
/// malformed document is refused naming the member.
@Suite struct BundleTests {
    func object(_ bundle: EvidenceBundle) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(try bundle.jsonEncoded())) as! [String: Any]
    }

    func decode(_ object: [String: Any]) throws(AttestationError) -> EvidenceBundle {
        try EvidenceBundle(json: Array(try! JSONSerialization.data(withJSONObject: object)))
    }

    @Test func realEvidenceRoundTrips() throws {
        for bundle in [try TestData.milanBundle(), try TestData.gceBundle(), try EmulatedSNPGuest.bundle(nonce: newNonce(), runtimeKey: newRuntimeKey())] {
            let json = try bundle.jsonEncoded()
            #expect(try EvidenceBundle(json: json) == bundle)
            #expect(try EvidenceBundle(json: json).jsonEncoded() == json)
        }
    }

    @Test func documentMembersAreAsDocumented() throws {
        let snp = try object(try TestData.milanBundle())
        #expect(Set(snp.keys) == ["version", "type", "nonce", "report", "product", "vcek"])
        #expect(snp["type"] as? String == "sev-snp")
        #expect(snp["product"] as? String == "Milan")
        #expect(Data(base64Encoded: snp["report"] as! String).map(Array.init) == (try TestData.milanReport))
        let tpm = try object(try TestData.gceBundle())
        #expect(Set(tpm.keys) == ["version", "type", "nonce", "akPublic", "akCertificates", "quote", "signature", "pcrs", "eventLog"])
        #expect(tpm["nonce"] as? String == "kAk=")
        let pcrs = tpm["pcrs"] as! [String: [String: String]]
        #expect(pcrs["sha256"]?.count == 24)
    }

    @Test func certificateTableFormDecodes() throws {
        // An extended report's table (GHCB spec: GUID, offset, length; zero entry ends it) holding the Milan VCEK.
        let vcek = try TestData.bytes("snp/milan-vcek-1.der")
        var table = [UInt8](UUID(uuidString: SNPCertificateTable.Kind.vcek.rawValue)!.uuidBytes)
        table += littleEndian32(48) + littleEndian32(UInt32(vcek.count)) + [UInt8](repeating: 0, count: 24) + vcek
        var document = try object(try TestData.milanBundle())
        document["vcek"] = nil
        document["certificateTable"] = Data(table).base64EncodedString()
        let decoded = try decode(document)
        guard case .sevSNP(let snp) = decoded.evidence else { Issue.record("not sev-snp"); return }
        #expect(snp.certificates.endorsementKey == (try TestData.milanVCEK))
        document["vcek"] = Data(vcek).base64EncodedString()
        #expect(throws: AttestationError.self) { try decode(document) }
    }

    @Test func malformedDocumentsAreRefusedNamingTheMember() throws {
        let snp = try object(try TestData.milanBundle())
        let tpm = try object(try TestData.gceBundle())
        func variant(_ base: [String: Any], _ change: (inout [String: Any]) -> Void) -> [String: Any] {
            var copy = base
            change(&copy)
            return copy
        }
        let malformed: [(String, [String: Any], String)] = [
            ("unknown member", variant(snp) { $0["reportData"] = "AA==" }, "reportData"),
            ("member of another type", variant(snp) { $0["quote"] = "AA==" }, "quote"),
            ("missing nonce", variant(snp) { $0["nonce"] = nil }, "nonce"),
            ("nonce not base64", variant(snp) { $0["nonce"] = "not base64!" }, "nonce"),
            ("url-safe base64", variant(tpm) { $0["nonce"] = "kAk" }, "nonce"),
            ("truncated report", variant(snp) { $0["report"] = Data((try! TestData.milanReport).dropLast()).base64EncodedString() }, "report"),
            ("unknown product", variant(snp) { $0["product"] = "Naples" }, "product"),
            ("VCEK and VLEK", variant(snp) { $0["vlek"] = $0["vcek"] }, "vlek"),
            ("VCEK not a certificate", variant(snp) { $0["vcek"] = "AAAA" }, "vcek"),
            ("AK public area truncated", variant(tpm) { $0["akPublic"] = Data((Data(base64Encoded: $0["akPublic"] as! String)!).dropLast()).base64EncodedString() }, "akPublic"),
            ("AK certificate garbage", variant(tpm) { $0["akCertificates"] = ["AAAA"] }, "akCertificates[0]"),
            ("signature garbage", variant(tpm) { $0["signature"] = "AAAA" }, "signature"),
            ("PCR index 24", variant(tpm) { $0["pcrs"] = ["sha256": ["24": Data(count: 32).base64EncodedString()]] }, "pcrs"),
            ("PCR of the wrong size", variant(tpm) { $0["pcrs"] = ["sha256": ["0": Data(count: 20).base64EncodedString()]] }, "pcrs"),
            ("unknown bank", variant(tpm) { $0["pcrs"] = ["md5": ["0": Data(count: 16).base64EncodedString()]] }, "pcrs"),
            ("runtime key with private part", variant(tpm) {
                $0["runtimeKey"] = ["kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "d": "AA"]
            }, "runtimeKey"),
        ]
        for (name, document, member) in malformed {
            do {
                _ = try decode(document)
                Issue.record("\(name) was accepted")
            } catch {
                guard case .bundleMalformed(let field, _) = error else { Issue.record("\(name): \(error)"); continue }
                #expect(field == member, "\(name): \(error)")
                #expect(error.step == .evidence)
            }
        }
        #expect(throws: AttestationError.unsupportedBundleVersion(2)) { try decode(variant(snp) { $0["version"] = 2 }) }
        #expect(throws: AttestationError.unknownEvidenceType("sgx")) { try decode(variant(snp) { $0["type"] = "sgx" }) }
        #expect(throws: AttestationError.self) { try decode(variant(snp) { $0["type"] = "tdx" }) }
        #expect(throws: AttestationError.self) { try EvidenceBundle(json: Array("{\"version\":1,".utf8)) }
        #expect(throws: AttestationError.self) { try EvidenceBundle(json: Array("[]".utf8)) }
    }

    @Test func azureEvidenceRoundTripsAndAMalformedHCLReportIsRefused() throws {
        let bundle = try AzurePipelineTests.realBundle(AzurePipelineTests.cases[0])
        let json = try bundle.jsonEncoded()
        #expect(try EvidenceBundle(json: json) == bundle)
        var document = try object(bundle)
        #expect(Set(document.keys) == ["version", "type", "nonce", "hclReport", "vcek", "quote", "signature", "pcrs"])
        var report = Array(Data(base64Encoded: document["hclReport"] as! String)!)
        report[0] ^= 1
        document["hclReport"] = Data(report).base64EncodedString()
        #expect(throws: AttestationError.self) { try decode(document) }
        do {
            _ = try decode(document)
        } catch {
            guard case .bundleMalformed("hclReport", _) = error else { Issue.record("\(error)"); return }
        }
    }

    func littleEndian32(_ value: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
}

extension UUID {
    var uuidBytes: [UInt8] {
        withUnsafeBytes(of: self.uuid) { Array($0) }
    }
}
