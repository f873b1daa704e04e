import Testing
import TPM2

/// The Windows Shielded VM AK and its creation attestation (TPM 2.0 Part 3 §18.3
/// TPM2_CertifyCreation): the TPM signed the AK's Name and the hash of its creation data.
@Suite struct CreationAttestationTests {
    static let folder = "gce-windows-shielded-vm-quote/"

    let ak: TPMTPublic
    let attest: [UInt8]
    let signature: TPMTSignature
    let creationData: [UInt8]
    let json: [String: Any]

    init() throws {
        ak = try TPMTPublic(tpmBytes: TestData.bytes(Self.folder + "ak.tpmt_public.bin"))
        attest = try TestData.bytes(Self.folder + "ak_creation.tpms_attest.bin")
        signature = try TPMTSignature(tpmBytes: TestData.bytes(Self.folder + "ak_creation.tpmt_signature.bin"))
        creationData = try TestData.bytes(Self.folder + "ak_creation_data.tpms_creation_data.bin")
        json = try TestData.json("gce-windows-shielded-vm-quote")["ak_creation_attestation"] as! [String: Any]
    }

    /// Our Name of ak.tpmt_public.bin (nameAlg || SHA-256(TPMT_PUBLIC)) is the objectName the
    /// TPM signed.
    @Test func akNameIsTheAttestedObjectName() throws {
        let parsed = try TPMSAttest(tpmBytes: attest)
        guard case let .creation(objectName, creationHash) = parsed.attested else {
            Issue.record("not a creation attestation")
            return
        }
        #expect(objectName == hexBytes(json["objectName"] as! String))
        #expect(creationHash == hexBytes(json["creationHash"] as! String))
        #expect(ak.name == objectName)
    }

    @Test func creationAttestationVerifies() throws {
        let verified = try QuoteVerifier(attestationKey: ak).verifyCreation(
            attest, signature: signature, object: ak, creationData: creationData, nonce: [])
        #expect(verified.objectName == hexBytes(json["objectName"] as! String))
        #expect(verified.creationData.tpmBytes == creationData)
    }

    @Test func changedCreationDataFails() throws {
        var data = try TPMSCreationData(tpmBytes: creationData)
        data.outsideInfo = [0x01]
        let error = verificationError { () throws(TPMVerificationError) in
            try QuoteVerifier(attestationKey: ak).verifyCreation(attest, signature: signature, object: ak, creationData: data.tpmBytes, nonce: [])
        }
        guard case let .creationHashMismatch(expected, actual) = error else {
            Issue.record("changed creation data gave \(String(describing: error))")
            return
        }
        #expect(actual == hexBytes(json["creationHash"] as! String))
        #expect(expected != actual)
        #expect(throws: TPMVerificationError.malformed(.trailingBytes(count: 1, offset: creationData.count))) {
            try QuoteVerifier(attestationKey: ak).verifyCreation(attest, signature: signature, object: ak, creationData: creationData + [0], nonce: [])
        }
    }

    @Test func otherObjectFails() throws {
        let other = try TPMTPublic(tpmBytes: TestData.bytes("gce-cos85-attestation/ak.tpmt_public.bin"))
        #expect(throws: TPMVerificationError.objectNameMismatch(expected: other.name!, actual: hexBytes(json["objectName"] as! String))) {
            try QuoteVerifier(attestationKey: ak).verifyCreation(attest, signature: signature, object: other, creationData: creationData, nonce: [])
        }
        #expect(throws: TPMVerificationError.nonceMismatch(expected: [1], actual: [])) {
            try QuoteVerifier(attestationKey: ak).verifyCreation(attest, signature: signature, object: ak, creationData: creationData, nonce: [1])
        }
    }

    @Test func attestationKindsAreNotInterchangeable() throws {
        let verifier = try QuoteVerifier(attestationKey: ak)
        #expect(throws: TPMVerificationError.wrongAttestationType(expected: .attestQuote, actual: .attestCreation)) {
            try verifier.verifyQuote(attest, signature: signature, nonce: [], pcrValues: [:])
        }
        #expect(throws: TPMVerificationError.wrongAttestationType(expected: .attestCertify, actual: .attestCreation)) {
            try verifier.verifyCertify(attest, signature: signature, object: ak, nonce: [])
        }
        let quote = try TestData.bytes(Self.folder + "quote_sha1.tpms_attest.bin")
        let quoteSignature = try TPMTSignature(tpmBytes: TestData.bytes(Self.folder + "quote_sha1.tpmt_signature.bin"))
        #expect(throws: TPMVerificationError.wrongAttestationType(expected: .attestCreation, actual: .attestQuote)) {
            try verifier.verifyCreation(quote, signature: quoteSignature, object: ak, creationData: creationData, nonce: [])
        }
    }

    /// The AK's authPolicy is the Windows AIK policy: PolicyOR of the five branches TSS.MSR's
    /// PCPTool hard-codes (PCPTool.v11/dll/TPM20.cpp: defaultUserPolicy,
    /// adminObjectChangeAuthPolicy, adminCertifyPolicy, adminActivateCredentialPolicy,
    /// adminCertifyPolicyNoPin), each of which is a PolicyAuthValue/PolicyCommandCode chain.
    @Test func akPolicyIsTheWindowsAIKPolicy() throws {
        func branch(_ command: TPMCommandCode?, authValue: Bool) -> [UInt8] {
            var policy = PolicyDigest(.sha256)
            if let command { policy.policyCommandCode(command) }
            if authValue { policy.policyAuthValue() }
            return policy.digest
        }
        let branches = [
            branch(nil, authValue: true), branch(.objectChangeAuth, authValue: true), branch(.certify, authValue: true),
            branch(.activateCredential, authValue: true), branch(.certify, authValue: false),
        ]
        #expect(branches == [
            hexBytes("8fcd2169ab92694e0c633f1ab772842b8241bbc20288981fc7ac1eddc1fddb0e"),
            hexBytes("e529f5d6112872954e8ed6605117b757e237c6e19513a949fee1f204c458023a"),
            hexBytes("af2ca569699c436a21006f1cb8a2756c98bc1c765a3559c5fe1c3f5e7228a7e7"),
            hexBytes("c413a847b11112b1cbddd4eca4daaa15a1852c1c3bba57461d257605f3d5af53"),
            hexBytes("048e9a3ace08583f79f344ff785bbea9f07ac7fa3325b3d49a21dd5194c65850"),
        ])
        var policy = PolicyDigest(.sha256)
        policy.policyOR(branches)
        #expect(policy.digest == ak.authPolicy)
    }
}
