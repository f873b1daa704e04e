import Attestation
import Foundation
import SEVSNP
import Testing

/// `sev-snp` evidence through the pipeline: the real Milan report (its REPORT_DATA was not made
/// by our binding, so the caller supplies it) and emulated reports bound to nonce and runtime
/// key, with every tampered variant refused by the right step.
@Suite struct SNPPipelineTests {
    static let amdVerifier = AttestationVerifier(configuration: .init(verificationTime: TestData.verificationTime))

    @Test func realMilanReportVerifiesToAMDsRoot() throws {
        let bundle = try TestData.milanBundle()
        guard case .sevSNP(let snp) = bundle.evidence else { return }
        let verified = try Self.amdVerifier.verify(bundle, expecting: .reportData(snp.report.reportData))
        #expect(verified.roots.map(\.description) == ["AMD ARK-Milan (snp-ark)"])
        #expect(!verified.emulated)
        #expect(verified.snp?.measurement == TestData.milanMeasurement)
        #expect(verified.snp?.chipID.prefix(16) == [UInt8](hex: "3ac3fe21e13fb0990eb28a802e3fb6a2")[...])
        #expect(verified.snp?.product == .milan)
        #expect(verified.snp?.policy.debugAllowed == true)
        #expect(verified.tpm == nil)
        #expect(verified.claims.snp?.reportData.hasPrefix("0102030405") == true)
    }

    @Test func realMilanReportRefusesOtherBindings() throws {
        let bundle = try TestData.milanBundle()
        #expect(throws: AttestationError.bindingMismatch(field: "REPORT_DATA", expected: [UInt8](repeating: 0, count: 64),
                                                         actual: [1, 2, 3, 4, 5] + [UInt8](repeating: 0, count: 59))) {
            try Self.amdVerifier.verify(bundle, expecting: .reportData([UInt8](repeating: 0, count: 64)))
        }
        #expect(throws: AttestationError.bindingNotApplicable(.sevSNP, binding: "qualifying data")) {
            try Self.amdVerifier.verify(bundle, expecting: .qualifyingData([1]))
        }
        // Its REPORT_DATA is not EvidenceBinding's value for the nonce the bundle carries.
        #expect(throws: AttestationError.self) { try Self.amdVerifier.verify(bundle, expecting: .nonce(bundle.nonce)) }
    }

    @Test func realMilanReportWithAFlippedMeasurementIsRefused() throws {
        var bytes = try TestData.milanReport
        bytes[0x90] ^= 1
        let bundle = EvidenceBundle(nonce: [1], runtimeKey: nil, evidence: .sevSNP(SNPEvidence(
            report: try SNPReport(bytes: bytes, product: .milan), certificates: SNPCertificateChain(endorsementKey: try TestData.milanVCEK))))
        #expect(throws: AttestationError.snpVerificationFailed(.reportSignatureInvalid)) {
            try Self.amdVerifier.verify(bundle, expecting: .reportData(Array(bytes[0x50..<0x90])))
        }
    }

    @Test func emulatedReportBindsNonceAndRuntimeKey() throws {
        let nonce = newNonce(), key = newRuntimeKey()
        let verified = try EmulatedSNPGuest.verifier().verify(try EmulatedSNPGuest.bundle(nonce: nonce, runtimeKey: key), expecting: .nonce(nonce))
        #expect(verified.roots.map(\.description) == ["emulated (untrusted) (snp-ark, emulated)"])
        #expect(verified.emulated)
        #expect(verified.runtimeKey == key)
        #expect(verified.nonce == nonce)
        #expect(verified.snp?.reportData == (try EvidenceBinding.reportData(nonce: nonce, runtimeKey: key)))
        #expect(verified.claims.emulated)
        // Without a runtime key the binding covers the nonce alone.
        let keyless = try EmulatedSNPGuest.verifier().verify(try EmulatedSNPGuest.bundle(nonce: nonce, runtimeKey: nil), expecting: .nonce(nonce))
        #expect(keyless.runtimeKey == nil)
    }

    @Test func emulatedRootIsRefusedWithoutOptIn() throws {
        let nonce = newNonce()
        let bundle = try EmulatedSNPGuest.bundle(nonce: nonce, runtimeKey: newRuntimeKey())
        #expect(throws: AttestationError.emulatedRootNotAllowed(root: SNPTrustAnchor.emulatedName)) {
            try EmulatedSNPGuest.verifier(allowEmulatedRoots: false).verify(bundle, expecting: .nonce(nonce))
        }
        // A verifier that does not list the emulated root does not know it at all.
        #expect(throws: AttestationError.snpVerificationFailed(.untrustedRoot(subject: "ARK-Emulated"))) {
            try AttestationVerifier(configuration: .init(allowEmulatedRoots: true)).verify(bundle, expecting: .nonce(nonce))
        }
        #expect(throws: AttestationError.self) { try Self.amdVerifier.verify(bundle, expecting: .nonce(nonce)) }
    }

    @Test func wrongReplayedOrRebindedNoncesAndKeysAreRefused() throws {
        let nonce = newNonce(), key = newRuntimeKey()
        let bundle = try EmulatedSNPGuest.bundle(nonce: nonce, runtimeKey: key)
        let verifier = EmulatedSNPGuest.verifier()
        let fresh = newNonce()
        // The evidence answers an old nonce: the verifier issued a new one.
        #expect(throws: AttestationError.nonceMismatch(expected: fresh, actual: nonce)) {
            try verifier.verify(bundle, expecting: .nonce(fresh))
        }
        // The old evidence replayed under the new nonce: REPORT_DATA still binds the old one.
        var replayed = bundle
        replayed.nonce = fresh
        try Self.expectBindingMismatch(verifier, replayed, nonce: fresh, key: key)
        // Another runtime key substituted (a man in the middle), or the key dropped.
        var swapped = bundle
        swapped.runtimeKey = newRuntimeKey()
        try Self.expectBindingMismatch(verifier, swapped, nonce: nonce, key: swapped.runtimeKey)
        var dropped = bundle
        dropped.runtimeKey = nil
        try Self.expectBindingMismatch(verifier, dropped, nonce: nonce, key: nil)
        // A caller-supplied REPORT_DATA does not vouch for the runtime key.
        #expect(throws: AttestationError.runtimeKeyNotBound) {
            try verifier.verify(bundle, expecting: .reportData(try EvidenceBinding.reportData(nonce: nonce, runtimeKey: key)))
        }
    }

    static func expectBindingMismatch(_ verifier: AttestationVerifier, _ bundle: EvidenceBundle, nonce: [UInt8], key: RuntimeKey?) throws {
        guard case .sevSNP(let snp) = bundle.evidence else { return }
        let error = AttestationError.bindingMismatch(
            field: "REPORT_DATA", expected: try EvidenceBinding.reportData(nonce: nonce, runtimeKey: key), actual: snp.report.reportData)
        #expect(throws: error) { try verifier.verify(bundle, expecting: .nonce(nonce)) }
        #expect(error.step == .binding)
    }

    /// A bit flipped in the first byte of each field of the signed part (SEV-SNP Firmware ABI,
    /// Table 23) and in the signature: parsing refuses the fields with fixed values, the
    /// signature check every other.
    @Test func everySignedFieldIsCovered() throws {
        let nonce = newNonce()
        let genuine = try EmulatedSNPGuest.bundle(nonce: nonce, runtimeKey: newRuntimeKey())
        guard case .sevSNP(let snp) = genuine.evidence else { return }
        let verifier = EmulatedSNPGuest.verifier()
        let parseRefused: Set<String> = ["VERSION", "SIGNATURE_ALGO", "SIGNATURE.R padding", "SIGNATURE reserved", "RESERVED 0x04C"]
        let fields: [(String, Int)] = [
            ("VERSION", 0x000), ("GUEST_SVN", 0x004), ("POLICY", 0x008), ("FAMILY_ID", 0x010), ("IMAGE_ID", 0x020), ("VMPL", 0x030),
            ("SIGNATURE_ALGO", 0x034), ("CURRENT_TCB", 0x038), ("PLATFORM_INFO", 0x040), ("AUTHOR_KEY_EN", 0x048), ("RESERVED 0x04C", 0x04C),
            ("REPORT_DATA", 0x050), ("MEASUREMENT", 0x090), ("HOST_DATA", 0x0C0), ("ID_KEY_DIGEST", 0x0E0), ("AUTHOR_KEY_DIGEST", 0x110),
            ("REPORT_ID", 0x140), ("REPORT_ID_MA", 0x160), ("REPORTED_TCB", 0x180), ("CPUID_FAM_ID", 0x188), ("CHIP_ID", 0x1A0),
            ("COMMITTED_TCB", 0x1E0), ("CURRENT_BUILD", 0x1E8), ("COMMITTED_BUILD", 0x1EC), ("LAUNCH_TCB", 0x1F0),
            ("SIGNATURE.R", 0x2A0), ("SIGNATURE.R padding", 0x2D0), ("SIGNATURE.S", 0x2E8), ("SIGNATURE reserved", 0x330),
        ]
        var document = try JSONSerialization.jsonObject(with: Data(try genuine.jsonEncoded())) as! [String: Any]
        for (field, offset) in fields {
            var bytes = snp.report.bytes
            bytes[offset] ^= 1
            document["report"] = Data(bytes).base64EncodedString()
            let json = Array(try JSONSerialization.data(withJSONObject: document))
            if parseRefused.contains(field) {
                #expect(throws: AttestationError.self, "\(field)") { try EvidenceBundle(json: json) }
                continue
            }
            let tampered = try EvidenceBundle(json: json)
            #expect(throws: AttestationError.snpVerificationFailed(.reportSignatureInvalid), "\(field)") {
                try verifier.verify(tampered, expecting: .nonce(nonce))
            }
        }
    }

    @Test func anotherChipsVCEKIsRefused() throws {
        let nonce = newNonce()
        var bundle = try EmulatedSNPGuest.bundle(nonce: nonce, runtimeKey: nil)
        guard case .sevSNP(var snp) = bundle.evidence else { return }
        let other = try EmulatedSNPChain(product: .milan)
        snp.certificates.endorsementKey = other.vcek
        bundle.evidence = .sevSNP(snp)
        #expect(throws: AttestationError.self) { try EmulatedSNPGuest.verifier().verify(bundle, expecting: .nonce(nonce)) }
    }
}
