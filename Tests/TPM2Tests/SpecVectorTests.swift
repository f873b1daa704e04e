import Testing
import TPM2

/// Known answers for the TPM primitives from sources other than this library.
@Suite struct SpecVectorTests {
    /// The KDFa self-test vector of the TCG reference implementation (KdfTestData.h in the TPM
    /// 2.0 reference code / libtpms): key, label "KDFSELFTESTLABEL", 8-byte contexts, 160 bits,
    /// one expected output per hash.
    @Test(arguments: [
        (TPMHashAlgorithm.sha1, "55b5a7184aa07423c47dae766c26a2377d7cf851"),
        (.sha256, "bb0259e1c8ba607e6a2cd704b69a902e9ade84c4"),
        (.sha384, "1dce70c9113eb2dba47bd9cfc72bf46f45b09312"),
        (.sha512, "8be2c1b85b78569b9fa759f5857c56d684810fd3"),
    ])
    func kdfaReferenceSelfTest(_ hash: TPMHashAlgorithm, _ expected: String) {
        let output = TPMKDF.kdfa(
            hash, key: hexBytes("271fa08bbdc5060ec3dfa928ff9b73123a12da0c"), label: "KDFSELFTESTLABEL",
            contextU: hexBytes("ce244f395dca7391"), contextV: hexBytes("da504031ddf12e83"), bits: 160)
        #expect(output == hexBytes(expected))
    }

    /// KDFe vectors from chrisfenner/tpm-test-vectors (vectors/kdfe.json, checked there against a
    /// TPM simulator and go-tpm), including bit counts that are not whole bytes and empty Z.
    @Test(arguments: [
        (TPMHashAlgorithm.sha1, "beefefba63c91e8eb318785c374600", "ATH", "ff8318b65e46b3", "32aa861b336c991a52b15c0c72889895e8cad4ff", 111, "123decb8050fca8d6585f61946e2"),
        (.sha1, "", "STORAGE", "", "c0227aff", 253, "0f10d821af67e1ec776b390f3b4572bb433efd2b94fa7842d879d24d825ed2f9"),
        (.sha1, "356f9d00d61b54cf010580b1755d1975905c00", "CFB", "006c5c2bcdd650f6c836dba98c4734", "8849bd3d05d69f", 7, "58"),
        (.sha256, "c3e3c34e82ccfa82d8999bf2635bb7cd01f3d65f03ff", "CFB", "55576a51c0e45b86557535e9ea50d5e7f4a80bb426e7ff", "dffdece923181dc335c1e936ff", 109, "1106264c89948737c140d2f5b40e"),
        (.sha256, "e89fc5304cf46c1cf7d1f5de5d3d1ec7eddc80b0386700", "SECRET", "e602bc959fd97af0405649e0c80e02e9dd64e9d79e698292b043c79dfa9f9261", "", 431,
         "3a8e893b8b76cdddbf87845b2567fa7152577829f6a55b73cb82d4a1f0342a051d6e50e20ec2f96bc4de38d7d0d79a9caf99e1d574b9"),
    ])
    func kdfeVectors(_ hash: TPMHashAlgorithm, _ z: String, _ use: String, _ partyU: String, _ partyV: String, _ bits: Int, _ expected: String) {
        #expect(TPMKDF.kdfe(hash, z: hexBytes(z), label: use, partyU: hexBytes(partyU), partyV: hexBytes(partyV), bits: bits) == hexBytes(expected))
    }

    /// PolicyA of the TCG EK Credential Profile (B.6.2): PolicySecret(TPM_RH_ENDORSEMENT) in
    /// SHA-256, SHA-384 and SHA-512 (the values the profile and tpm2_policysecret -c e give).
    @Test(arguments: [
        (TPMHashAlgorithm.sha256, "837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa"),
        (.sha384, "8bbf2266537c171cb56e403c4dc1d4b64f432611dc386e6f532050c3278c930e143e8bb1133824ccb431053871c6db53"),
        (.sha512, "1e3b76502c8a1425aa0b7b3fc646a1b0fae063b03b5368f9c4cddecaff0891dd682bac1a85d4d832b781ea451915de5fc5bf0dc4a1917cd42fa041e3f998e0ee"),
    ])
    func ekPolicyA(_ hash: TPMHashAlgorithm, _ expected: String) {
        var policy = PolicyDigest(hash)
        policy.policySecret(authName: TPMHandle.endorsement.tpmBytes)
        #expect(policy.digest == hexBytes(expected))
    }

    /// Single-assertion policies whose digests tpm2-tools produces (the commands are recorded in
    /// Nicolas Iooss' list of well-known TPM 2.0 E/A policies).
    @Test func tpm2ToolsPolicyDigests() {
        let digest = Self.digest
        // tpm2_policysecret -c o / -c l / -c p
        #expect(digest { $0.policySecret(authName: TPMHandle.owner.tpmBytes) } == hexBytes("0d84f55daf6e43ac97966e62c9bb989d3397777d25c5f749868055d65394f952"))
        #expect(digest { $0.policySecret(authName: TPMHandle.lockout.tpmBytes) } == hexBytes("a0cab3762662675a14347a87504584a08e1002525d91371c3289224bea3ff4af"))
        #expect(digest { $0.policySecret(authName: TPMHandle.platform.tpmBytes) } == hexBytes("c8b1292eff2ce7a3fa0fb1aed9ad254fb03fc01c9abc2dd1985161ba6811bdc7"))
        // tpm2_policypassword
        #expect(digest { $0.policyAuthValue() } == hexBytes("8fcd2169ab92694e0c633f1ab772842b8241bbc20288981fc7ac1eddc1fddb0e"))
        // tpm2_policycommandcode TPM2_CC_NV_UndefineSpaceSpecial
        #expect(digest { $0.policyCommandCode(.nvUndefineSpaceSpecial) } == hexBytes("1d2dc485e177ddd0a40a344913ceeb420caa093c42587d2e1b132b157ccb5db0"))
        // tpm2_policylocality 1 (a number is the raw TPMA_LOCALITY byte) and localities three and four
        #expect(digest { $0.policyLocality(0x01) } == hexBytes("ddee6af14bf3c4e8127ced87bcf9a57e1c0c8ddb5e67735c8505f96f07b8dbb8"))
        #expect(digest { $0.policyLocality(0x18) } == hexBytes("07039b45baf2cc169b0d84af7c53fd1622b033df0a5dcda66360aa99e54947cd"))
        // tpm2_policynvwritten 0 / 1
        #expect(digest { $0.policyNvWritten(false) } == hexBytes("3c326323670e28ad37bd57f63b4cc34d26ab205ef22f275c58d47fab2485466e"))
        #expect(digest { $0.policyNvWritten(true) } == hexBytes("f7887d158ae8d38be0ac5319f37a9e07618bf54885453c7a54ddb0c6a6193beb"))
        // tpm2_policypcr -l sha256:0,1,2,3 with the PCRs at zero
        let selection = TPMLPCRSelection([TPMSPCRSelection(hash: .sha256, indices: 0...3)])
        #expect(digest { $0.policyPCR(selection: selection, values: Array(repeating: TPMHashAlgorithm.sha256.zeroDigest, count: 4)) }
            == hexBytes("84b506c91f205e06abd6f83f269d8d8011d495e09214a40fe32b4660301dda09"))
    }

    /// Compound policies from the same list: PolicyOR of two branches and an AND chain.
    @Test func tpm2ToolsCompoundPolicies() {
        let lockout = Self.digest { $0.policySecret(authName: TPMHandle.lockout.tpmBytes) }
        let written = Self.digest { $0.policyNvWritten(true) }
        #expect(Self.digest { $0.policyOR([lockout, written]) } == hexBytes("0c8df0cf0169c38828c8fa4c0ff37a548c23c041aeecd2a12ca740d501d620b7"))
        let read = Self.digest { $0.policyCommandCode(.nvRead) }
        let unwritten = Self.digest { $0.policyNvWritten(false) }
        #expect(Self.digest { $0.policyOR([read, unwritten]) } == hexBytes("a13eb52d274deb81431f5adc2e40f7e7c4094abba5d325da741e7afc4117901f"))
        let changeAuth = Self.digest {
            $0.policyAuthValue()
            $0.policyCommandCode(.objectChangeAuth)
        }
        #expect(changeAuth == hexBytes("98cbaba62e682c148a202acad533d9d63f85a68392fe1b66648d1c491aef1b3a"))
    }

    /// A SHA-256 trial policy after `assert`.
    static func digest(_ assert: (inout PolicyDigest) -> Void) -> [UInt8] {
        var policy = PolicyDigest(.sha256)
        assert(&policy)
        return policy.digest
    }
}
