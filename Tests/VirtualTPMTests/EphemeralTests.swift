import Testing
import TPM2
import TPMClient
import VirtualTPM

/// An ephemeral vTPM draws new primary seeds at every power-on (TPM 2.0 Part 1 §14.3: the
/// EPS/SPS are what primary keys derive from), so EKs change across boots but not within one,
/// and nothing wrapped under one boot's seeds loads in the next.
@Suite struct EphemeralTests {
    static let ekTemplates: [(String, TPMTPublic)] = [("RSA-2048 (L-1)", .ekRSA2048), ("ECC P-256 (L-2)", .ekECCP256)]

    @Test(arguments: ekTemplates.indices)
    func ekIsStableWithinABootAndNewAfterPowerCycle(_ index: Int) throws {
        let (label, template) = Self.ekTemplates[index]
        let tpm = try StartedTPM()
        let first = try tpm.client.createPrimary(hierarchy: .endorsement, template: template)
        let again = try tpm.client.createPrimary(hierarchy: .endorsement, template: template)
        #expect(first.handle != again.handle, "\(label): two transient handles")
        #expect(first.publicArea.unique == again.publicArea.unique, "\(label): same seed and template give the same key")
        #expect(first.name == again.name)
        // The created key keeps the TCG template: attributes 0x000300B2 and PolicyA.
        #expect(first.publicArea.objectAttributes.rawValue == 0x0003_00B2)
        #expect(first.publicArea.authPolicy == TPMTPublic.ekPolicySHA256)
        #expect(first.name.count == 34 && first.name.prefix(2) == [0x00, 0x0B])
        switch first.publicArea.unique {
        case let .rsa(modulus): #expect(modulus.count == 256)
        case let .ecc(point): #expect(point.x.count == 32 && point.y.count == 32)
        case .digest: Issue.record("\(label): EK unique is a digest")
        }

        try tpm.reboot()
        let afterReboot = try tpm.client.createPrimary(hierarchy: .endorsement, template: template)
        #expect(afterReboot.publicArea.unique != first.publicArea.unique, "\(label): a new boot has a new endorsement seed")
        #expect(afterReboot.name != first.name)
    }

    @Test func sealedBlobFromAnotherBootDoesNotLoad() throws {
        let tpm = try StartedTPM()
        let parent = try tpm.client.createPrimary(hierarchy: .owner, template: Templates.storageParent)
        let secret = Array("boot-one secret".utf8)
        let sealed = try tpm.client.create(parent: parent.handle, template: Templates.sealed(), sensitive: TPMSSensitiveCreate(data: secret))
        let loaded = try tpm.client.load(parent: parent.handle, sealed)
        #expect(try tpm.client.unseal(loaded.handle, auth: .password()) == secret)

        try tpm.reboot()
        let newParent = try tpm.client.createPrimary(hierarchy: .owner, template: Templates.storageParent)
        #expect(newParent.name != parent.name)
        #expect(throws: TPMClientError.tpm(command: "TPM2_Load", code: TPMResponseCode.integrity.parameter(1))) {
            try tpm.client.load(parent: newParent.handle, sealed)
        }
    }
}
