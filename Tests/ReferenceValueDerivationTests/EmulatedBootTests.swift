import Attestation
import Authenticode
import EmulatedPlatform
import EventLog
import Foundation
import ReferenceValueDerivation
import SEVSNP
import TPM2
import TPMClient
import Testing

/// Reference values derived for the emulated platform against what its VMs actually have: the
/// values in their vTPMs (TPM2_PCR_Read) and the appraisal of their verified evidence.
///
/// The owner's log is of an older boot (same firmware and shim, an older GRUB, kernel and
/// initrd); the owner derives the values of the new boot chain from it and the new files, then
/// VMs boot the new chain, a tampered kernel, or the debug policy.
@Suite("Reference values for an emulated confidential VM", .serialized)
struct EmulatedBootTests {
    static let nonce = Array("reference-values-nonce-0123456789".utf8)

    /// The platform, the new chain, the older chain's log, and the values derived from them.
    struct Owner {
        let platform: EmulatedPlatform
        let chain: EmulatedBootChain
        let olderLog: EventLog
        let derived: DerivedReferenceValues

        init() throws {
            self.platform = try EmulatedPlatform()
            self.chain = try EmulatedBootChain.synthetic()
            let older = EmulatedBootChain(
                shim: chain.shim, grub: try SyntheticPEImage.make(code: Array("an older GRUB".utf8)),
                kernel: try SyntheticPEImage.make(code: Array("an older kernel".utf8)), initrd: Array("an older initrd".utf8),
                commandLine: chain.commandLine)
            self.olderLog = try platform.firmware.bootLog(older, secureBoot: true)
            let tcb = EmulatedPlatform.defaultTCB
            let configuration = EmulatedVMConfiguration(bootChain: chain)
            self.derived = try ReferenceValueSources(
                snpLaunches: [SNPLaunchMeasurement(firmware: platform.firmware.image, vcpus: configuration.vcpus,
                                                   vcpuSignature: configuration.vcpuType.cpuid.signature)],
                measuredBoots: [MeasuredBoot(eventLog: olderLog, grub: chain.grub, kernel: chain.kernel.bytes, initrds: [chain.initrd])],
                minimumTCB: SNPPolicy.MinimumTCB(bootloader: tcb.bootloader, tee: tcb.tee, snp: tcb.snp, microcode: tcb.microcode),
                forbidDebug: true
            ).derive()
        }

        /// A VM of this platform booting the new chain, with its disk in a scratch directory.
        func launch(_ configure: (inout EmulatedVMConfiguration) -> Void = { _ in }) throws -> EmulatedVM {
            var configuration = EmulatedVMConfiguration(bootChain: chain)
            configure(&configuration)
            let disk = FileManager.default.temporaryDirectory.appendingPathComponent("cvmkit-refvals-\(UUID().uuidString).img")
            defer { try? FileManager.default.removeItem(at: disk) }
            return try platform.launch(configuration, diskPath: disk.path)
        }

        /// The VM's evidence, verified with the emulated root opted in, appraised against the
        /// derived document as a service would store it (encoded, then decoded).
        func appraise(_ vm: EmulatedVM) throws -> Appraisal {
            let evidence = try vm.collectEvidence(nonce: EmulatedBootTests.nonce)
            let bundle = EvidenceBundle(nonce: EmulatedBootTests.nonce, runtimeKey: nil, evidence: .azureSEVSNPvTPM(AzureVTPMEvidence(
                hclReport: evidence.hclReport, certificates: platform.secureProcessor.certificates,
                quote: TPMQuoteEvidence(attest: evidence.quote.attest, signature: evidence.quote.signature, pcrs: evidence.pcrValues,
                                        eventLog: evidence.eventLog))))
            let verifier = AttestationVerifier(configuration: .init(emulatedSNPAnchors: [platform.trustAnchor], allowEmulatedRoots: true))
            let verified = try verifier.verify(bundle, expecting: .qualifyingData(EmulatedBootTests.nonce))
            let policy = try AppraisalPolicy(json: Array("""
                {"version": 1, "rules": [
                  {"rule": "platform", "in": ["azure-sev-snp-vtpm"]}, {"rule": "snp-measurement"}, {"rule": "min-tcb"},
                  {"rule": "debug-forbidden"}, {"rule": "snp-policy-flags"}, {"rule": "secure-boot"},
                  {"rule": "pcrs", "bank": "sha256"}, {"rule": "boot-files"}]}
                """.utf8))
            return policy.appraise(verified, referenceValues: try ReferenceValues(json: try derived.document.jsonEncoded()))
        }
    }

    static let owner = Result { try Owner() }

    @Test("The derived PCRs 4, 7, 8 and 9 are the vTPM's in every bank; the older boot's PCRs 4 and 9 are not")
    func pcrsAreTheVTPMs() throws {
        let owner = try Self.owner.get()
        let vm = try owner.launch()
        let document = owner.derived.document
        #expect(Set(document.pcrs.keys) == [.sha1, .sha256, .sha384])
        let older = owner.olderLog.replay().values
        for (bank, values) in document.pcrs {
            #expect(values.keys.sorted() == [4, 7, 8, 9], "no PCR 11: the log has no UKI")
            for (index, accepted) in values {
                let read = try vm.tpm.pcrRead(TPMLPCRSelection([TPMSPCRSelection(hash: bank, indices: [index])]))
                #expect(accepted == read.digests, "PCR \(index) \(bank)")
                let olderValue = older[TPMAlgorithm(rawValue: bank.rawValue), UInt32(index)]
                #expect((olderValue == accepted.first) == [7, 8].contains(index), "PCR \(index) \(bank) of the older boot")
            }
        }
        let replaced = owner.derived.measuredBoots[0].replacedBootApplications
        #expect(replaced.map(\.role) == [.grub, .kernel])
        #expect(document.bootFiles == [owner.chain.shim, owner.chain.grub, owner.chain.kernel].map { $0.authenticodeDigest(.sha256) })
        #expect(document.snpMeasurements == [vm.launchMeasurement])
    }

    @Test("The VM's verified evidence passes every rule against the derived document")
    func appraisalPasses() throws {
        let owner = try Self.owner.get()
        let appraisal = try owner.appraise(try owner.launch())
        #expect(appraisal.failures.isEmpty, "\(appraisal.explain())")
        #expect(appraisal.status == .affirming)
        #expect(appraisal.results.filter { $0.rule == "pcrs" }.map(\.subject) == [4, 7, 8, 9].map { "PCR \($0) (sha256)" })
        #expect(appraisal.results.filter { $0.rule == "boot-files" }.count == 3)
    }

    @Test("A VM with a tampered kernel fails exactly on PCR 4, PCR 9 and the kernel's boot file")
    func tamperedKernelFails() throws {
        let owner = try Self.owner.get()
        let vm = try owner.launch { $0.tamperedKernel = true }
        let appraisal = try owner.appraise(vm)
        #expect(appraisal.failures.filter { $0.rule == "pcrs" }.map(\.subject) == ["PCR 4 (sha256)", "PCR 9 (sha256)"])
        let others = appraisal.failures.filter { $0.rule != "pcrs" }
        #expect(others.map(\.rule) == ["boot-files"])
        #expect(others.map(\.actual) == [Peers.hex(vm.bootChain.kernel.authenticodeDigest(.sha256))])
        #expect(appraisal.status == .contraindicated)
    }

    @Test("A VM launched with the debug policy fails exactly on debug-forbidden and the allowed policy flags")
    func debugPolicyFails() throws {
        let owner = try Self.owner.get()
        let appraisal = try owner.appraise(try owner.launch { $0.debug = true })
        #expect(appraisal.failures.map(\.rule) == ["debug-forbidden", "snp-policy-flags"])
    }
}
