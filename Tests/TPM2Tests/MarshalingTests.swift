import Testing
import TPM2

/// Strict parsing of the real TPM structures (TPM 2.0 Part 2 wire format): each one marshals
/// back to the identical bytes, every truncation is reported as truncated, and a trailing byte
/// as trailing.
@Suite struct MarshalingTests {
    static let attestFiles = (try? TestData.structureFiles(suffix: ".tpms_attest.bin")) ?? []
    static let signatureFiles = (try? TestData.structureFiles(suffix: ".tpmt_signature.bin")) ?? []
    static let publicFiles = (try? TestData.structureFiles(suffix: ".tpmt_public.bin")) ?? []
    static let creationDataFiles = (try? TestData.structureFiles(suffix: ".tpms_creation_data.bin")) ?? []

    @Test func everyStructureFileIsFound() throws {
        #expect(try TestData.structureFiles(suffix: ".tpms_attest.bin").count == 18)
        #expect(try TestData.structureFiles(suffix: ".tpmt_signature.bin").count == 11)
        #expect(try TestData.structureFiles(suffix: ".tpmt_public.bin").count == 2)
        #expect(try TestData.structureFiles(suffix: ".tpms_creation_data.bin").count == 1)
    }

    @Test(arguments: attestFiles)
    func attestIsStrict(_ path: String) throws { try checkStrict(TPMSAttest.self, path) }

    @Test(arguments: signatureFiles)
    func signatureIsStrict(_ path: String) throws { try checkStrict(TPMTSignature.self, path) }

    @Test(arguments: publicFiles)
    func publicIsStrict(_ path: String) throws { try checkStrict(TPMTPublic.self, path) }

    @Test(arguments: creationDataFiles)
    func creationDataIsStrict(_ path: String) throws { try checkStrict(TPMSCreationData.self, path) }

    /// Round trip, every prefix truncated, one trailing byte.
    private func checkStrict<T: TPMMarshalable>(_ type: T.Type, _ path: String) throws {
        let bytes = try TestData.bytes(path)
        #expect(try T(tpmBytes: bytes).tpmBytes == bytes)
        for length in 0..<bytes.count {
            do {
                _ = try T(tpmBytes: bytes.prefix(length))
                Issue.record("\(path): a \(length)-byte prefix parsed")
            } catch {
                guard case let .truncated(_, offset, needed, available) = error else {
                    Issue.record("\(path): a \(length)-byte prefix gave \(error)")
                    continue
                }
                #expect(offset + available == length && needed > available)
            }
        }
        #expect(throws: TPMMarshalError.trailingBytes(count: 1, offset: bytes.count)) {
            try T(tpmBytes: bytes + [0])
        }
    }

    /// The fields tpm2-tools-style parsers recorded in each case.json match ours.
    @Test(arguments: ["cmc-quote-vector", "keylime-checkquote-vector", "trustee-tpm-evidence", "gce-windows-shielded-vm-quote"])
    func parsedQuoteMatchesCaseJSON(_ folder: String) throws {
        let json = try TestData.json(folder)["quote"] as! [String: Any]
        let file = folder == "gce-windows-shielded-vm-quote" ? "/quote_sha1.tpms_attest.bin" : "/quote.tpms_attest.bin"
        let attest = try TPMSAttest(tpmBytes: TestData.bytes(folder + file))
        #expect(attest.qualifiedSigner == hexBytes(json["qualifiedSigner"] as! String))
        #expect(attest.extraData == hexBytes(json["extraData"] as! String))
        #expect(attest.clockInfo.clock == json["clock"] as! UInt64)
        #expect(attest.clockInfo.resetCount == json["resetCount"] as! UInt32)
        #expect(attest.clockInfo.restartCount == json["restartCount"] as! UInt32)
        #expect(attest.clockInfo.safe == (json["safe"] as! Int == 1))
        #expect(attest.firmwareVersion == UInt64((json["firmwareVersion"] as! String).dropFirst(2), radix: 16)!)
        guard case let .quote(selection, pcrDigest) = attest.attested else {
            Issue.record("\(folder) is not a quote")
            return
        }
        #expect(pcrDigest == hexBytes(json["pcrDigest"] as! String))
        let expected = (json["pcrSelect"] as! [[Any]]).map { ($0[0] as! String, $0[1] as! [Int]) }
        #expect(selection.selections.map { $0.hash.description } == expected.map(\.0))
        #expect(selection.selections.map(\.indices) == expected.map(\.1))
    }
}
