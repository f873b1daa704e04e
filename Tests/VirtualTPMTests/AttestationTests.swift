import Testing
import TPM2
import TPMClient
import VirtualTPM

/// Quotes the engine signs verify with the TPM2 library's `QuoteVerifier` against PCR values
/// computed here from the extend rule (Part 1 §17.2: new = H(old || digest)), and PolicyPCR
/// (Part 3 §23.7) gates TPM2_Unseal on those values.
@Suite struct EngineAttestationTests {
    static let pcr = 16
    static let event = sha256(Array("measured component".utf8))
    /// PCR 16 after Startup(CLEAR) (all zero) and one extend with `event`.
    static let extended = sha256([UInt8](repeating: 0, count: 32), event)
    /// TPML_PCR_SELECTION {1, {TPM_ALG_SHA256, 3, {0x01, 0x00, 0x01}}}: PCRs 0 and 16.
    static let selectionBytes: [UInt8] = [0, 0, 0, 1, 0x00, 0x0B, 3, 0x01, 0x00, 0x01]
    static let pcr16SelectionBytes: [UInt8] = [0, 0, 0, 1, 0x00, 0x0B, 3, 0x00, 0x00, 0x01]

    func extendPCR16(_ client: TPM2Client, with digest: [UInt8]) throws {
        try client.pcrExtend(pcr: Self.pcr, digests: TPMLDigestValues([TPMTHA(algorithm: .sha256, digest: digest)]))
    }

    @Test func quoteVerifiesWithQuoteVerifier() throws {
        let tpm = try StartedTPM()
        try extendPCR16(tpm.client, with: Self.event)
        let ak = try tpm.client.createPrimary(hierarchy: .owner, template: .eccAttestationKey)
        let selection = try TPMLPCRSelection(tpmBytes: Self.selectionBytes)
        let nonce = Array("fresh verifier nonce".utf8)
        let quote = try tpm.client.quote(key: ak.handle, qualifyingData: nonce, selection: selection)

        let verifier = try QuoteVerifier(attestationKey: ak.publicArea)
        let expected: TPMPCRValues = [.sha256: [0: [UInt8](repeating: 0, count: 32), Self.pcr: Self.extended]]
        let verified = try verifier.verifyQuote(quote.attest, signature: quote.signature, nonce: nonce, pcrValues: expected)
        #expect(verified.pcrSelection == selection)
        #expect(verified.signerName == ak.name)

        #expect(throws: TPMVerificationError.self) {
            try verifier.verifyQuote(quote.attest, signature: quote.signature, nonce: Array("another nonce".utf8), pcrValues: expected)
        }
        let unextended: TPMPCRValues = [.sha256: [0: [UInt8](repeating: 0, count: 32), Self.pcr: [UInt8](repeating: 0, count: 32)]]
        #expect(throws: TPMVerificationError.self) {
            try verifier.verifyQuote(quote.attest, signature: quote.signature, nonce: nonce, pcrValues: unextended)
        }
        var tampered = quote.attest
        tampered[tampered.count - 1] ^= 1
        #expect(throws: TPMVerificationError.self) {
            try verifier.verifyQuote(tampered, signature: quote.signature, nonce: nonce, pcrValues: expected)
        }
    }

    /// Part 2 §10.12.12: a quote by an endorsement-hierarchy key carries the reset and restart
    /// counts and firmware version in plain text; one by a storage-hierarchy key carries them
    /// offset by a value fixed for that key and different for another key (swtpm does the same:
    /// the interop scenario `attest_obfuscation` checks both TPMs alike).
    @Test func storageKeyAttestationsObfuscateCountsAndFirmware() throws {
        let tpm = try StartedTPM()
        let plain = try tpm.client.readClock().clockInfo
        let firmware = UInt64(try tpm.client.tpmProperty(.firmwareVersion1)) << 32 | UInt64(try tpm.client.tpmProperty(.firmwareVersion2))
        let selection = try TPMLPCRSelection(tpmBytes: Self.pcr16SelectionBytes)
        func quoted(by key: TPMHandle) throws -> TPMSAttest {
            try TPMSAttest(tpmBytes: try tpm.client.quote(key: key, qualifyingData: [1, 2, 3], selection: selection).attest)
        }

        let endorsementKey = try tpm.client.createPrimary(hierarchy: .endorsement, template: .eccAttestationKey)
        let byEndorsementKey = try quoted(by: endorsementKey.handle)
        #expect(byEndorsementKey.clockInfo.resetCount == plain.resetCount)
        #expect(byEndorsementKey.clockInfo.restartCount == plain.restartCount)
        #expect(byEndorsementKey.firmwareVersion == firmware)

        let storageKey = try tpm.client.createPrimary(hierarchy: .owner, template: .eccAttestationKey)
        let first = try quoted(by: storageKey.handle)
        let second = try quoted(by: storageKey.handle)
        #expect(first.clockInfo.resetCount != plain.resetCount)
        #expect(first.clockInfo.restartCount != plain.restartCount)
        #expect(first.firmwareVersion != firmware)
        #expect(second.clockInfo.resetCount == first.clockInfo.resetCount)
        #expect(second.clockInfo.restartCount == first.clockInfo.restartCount)
        #expect(second.firmwareVersion == first.firmwareVersion)

        var otherTemplate = TPMTPublic.eccAttestationKey
        otherTemplate.unique = .ecc(TPMSECCPoint(x: Array("another key".utf8), y: []))
        let otherKey = try tpm.client.createPrimary(hierarchy: .owner, template: otherTemplate)
        let byOtherKey = try quoted(by: otherKey.handle)
        #expect(byOtherKey.clockInfo.resetCount != first.clockInfo.resetCount)
        #expect(byOtherKey.firmwareVersion != first.firmwareVersion)
    }

    @Test func pcrPolicySealedObjectUnsealsOnlyWhileThePCRIsUnchanged() throws {
        let tpm = try StartedTPM()
        try extendPCR16(tpm.client, with: Self.event)
        // policyDigest = H(0^32 || TPM_CC_PolicyPCR || pcrs || H(PCR16)), Part 3 §23.7.
        let policy = sha256([UInt8](repeating: 0, count: 32), [0, 0, 0x01, 0x7F], Self.pcr16SelectionBytes, sha256(Self.extended))
        let selection = try TPMLPCRSelection(tpmBytes: Self.pcr16SelectionBytes)

        let parent = try tpm.client.createPrimary(hierarchy: .owner, template: .eccStorageParent)
        let secret = Array("disk key".utf8)
        let created = try tpm.client.create(parent: parent.handle, template: .sealedData(policy: policy), sensitive: TPMSSensitiveCreate(data: secret))
        let sealed = try tpm.client.load(parent: parent.handle, created)

        let session = try tpm.client.startAuthSession(type: .policy)
        try tpm.client.policyPCR(session: session.handle, selection: selection)
        #expect(try tpm.client.policyGetDigest(session: session.handle) == policy)
        #expect(try tpm.client.unseal(sealed.handle, auth: .policy(session.handle)) == secret)

        // A session that ran PolicyPCR before the PCR changed is stale (TPM_RC_PCR_CHANGED).
        let stale = try tpm.client.startAuthSession(type: .policy)
        try tpm.client.policyPCR(session: stale.handle, selection: selection)
        try extendPCR16(tpm.client, with: Self.event)
        #expect(throws: TPMClientError.tpm(command: "TPM2_Unseal", code: .pcrChanged)) {
            try tpm.client.unseal(sealed.handle, auth: .policy(stale.handle))
        }

        // A fresh session sees the new PCR value, whose policy digest is not the object's.
        let fresh = try tpm.client.startAuthSession(type: .policy)
        try tpm.client.policyPCR(session: fresh.handle, selection: selection)
        #expect(try tpm.client.policyGetDigest(session: fresh.handle) != policy)
        #expect(throws: TPMClientError.tpm(command: "TPM2_Unseal", code: TPMResponseCode.policyFail.session(1))) {
            try tpm.client.unseal(sealed.handle, auth: .policy(fresh.handle))
        }
    }
}
