import Attestation
import EventLog
import Foundation
import TPM2
import Testing
import X509

/// `tpm` evidence through the pipeline: the real GCE vTPM quotes (AK certificate chained to
/// Google's CA, event log replayed against the quoted PCRs; their extraData was not made by our
/// binding, so the caller supplies it) and quotes from CVMKit's TPM engine bound to nonce and
/// runtime key, with every tampered variant refused by the right step.
@Suite struct TPMPipelineTests {
    static let guest: EmulatedTPMGuest = try! EmulatedTPMGuest()

    /// The digests tpm2_eventlog (tpm2-tools) prints for the log's EV_EFI_BOOT_SERVICES_APPLICATION events.
    static func peerBootFileDigests() throws -> [[UInt8]]? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tpm2_eventlog") else { return nil }
        let output = try run("/usr/bin/tpm2_eventlog", [TestData.root.appendingPathComponent("eventlog/gce-cos85-attestation.bin").path]).output
        var digests: [[UInt8]] = []
        var inBootApplication = false
        var lines = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }[...]
        while let line = lines.popFirst() {
            if line.hasPrefix("EventType:") { inBootApplication = line.hasSuffix("EV_EFI_BOOT_SERVICES_APPLICATION") }
            if inBootApplication, line == "- AlgorithmId: sha256", let digest = lines.popFirst() {
                digests.append([UInt8](hex: digest.replacingOccurrences(of: "Digest: ", with: "").replacingOccurrences(of: "\"", with: "")))
            }
        }
        return digests
    }

    @Test func realGCEQuoteVerifiesToGooglesRootAndItsEventLogReplays() throws {
        let verified = try TestData.gceVerifier().verify(try TestData.gceBundle(), expecting: .qualifyingData(TestData.gceQualifyingData))
        #expect(verified.roots.count == 1)
        #expect(verified.roots[0].role == .tpmAKCA)
        #expect(verified.roots[0].name.contains("tpm_ek_v1_cloud_host_root-signer"))
        #expect(!verified.emulated)
        let tpm = try #require(verified.tpm)
        let log = try #require(tpm.eventLog)
        #expect(log.verifiedBanks == [.sha256])
        #expect(log.verifiedPCRs == Array(0...9))
        #expect(log.secureBoot == true)
        let files = try #require(log.bootFiles)
        #expect(files.map(\.event) == [22, 23, 40])
        #expect(files[0].devicePath.hasSuffix("\\EFI\\BOOT\\BOOTX64.EFI"))
        if let peer = try Self.peerBootFileDigests() { #expect(files.map(\.sha256) == peer) }
        let quoted = try #require(tpm.pcrs[.sha256])
        #expect(quoted.count == 24)
        #expect(tpm.attestationKeyName?.prefix(2) == [0x00, 0x0B])
    }

    @Test func everyRealGCEQuoteVerifies() throws {
        for attestation in ["nonce9009", "nononce"] {
            for bank in ["sha1", "sha256", "sha384"] {
                let bundle = try TestData.gceBundle(attestation: attestation, bank: bank)
                let verified = try TestData.gceVerifier().verify(bundle, expecting: .qualifyingData(bundle.nonce))
                let log = try #require(verified.tpm?.eventLog)
                #expect(log.verifiedBanks == [TPMAlgorithmID(name: bank)!], "\(attestation) \(bank)")
                // Boot-file digests are claimed only from a verified SHA-256 bank.
                #expect((log.bootFiles != nil) == (bank == "sha256"), "\(attestation) \(bank)")
            }
        }
    }

    @Test func realGCEQuoteWithoutEventLogHasNoLogClaims() throws {
        let verified = try TestData.gceVerifier().verify(try TestData.gceBundle(eventLog: false), expecting: .qualifyingData(TestData.gceQualifyingData))
        #expect(verified.tpm?.eventLog == nil)
    }

    @Test func realGCEQuoteIsRefusedWithoutGooglesRootOrOutsideValidity() throws {
        let bundle = try TestData.gceBundle()
        let noRoot = AttestationVerifier(configuration: .init(verificationTime: TestData.verificationTime))
        #expect {
            try noRoot.verify(bundle, expecting: .qualifyingData(TestData.gceQualifyingData))
        } throws: { error in
            guard case AttestationError.akCertificateChainInvalid(.certificateIssuerNotFound) = error else { return false }
            return (error as! AttestationError).step == .endorsement
        }
        let before = try TestData.gceVerifier(at: ISO8601DateFormatter().date(from: "2020-01-01T00:00:00Z")!)
        #expect {
            try before.verify(bundle, expecting: .qualifyingData(TestData.gceQualifyingData))
        } throws: { error in
            guard case AttestationError.akCertificateChainInvalid(.certificateNotValidAtTime) = error else { return false }
            return true
        }
    }

    @Test func realGCEQuoteRefusesOtherBindings() throws {
        let bundle = try TestData.gceBundle()
        let verifier = try TestData.gceVerifier()
        #expect(throws: AttestationError.bindingMismatch(field: "TPMS_ATTEST.extraData", expected: [0x90, 0x08], actual: [0x90, 0x09])) {
            try verifier.verify(bundle, expecting: .qualifyingData([0x90, 0x08]))
        }
        #expect(throws: AttestationError.nonceLengthInvalid(2)) { try verifier.verify(bundle, expecting: .nonce([0x90, 0x09])) }
        #expect(throws: AttestationError.bindingNotApplicable(.tpm, binding: "REPORT_DATA")) {
            try verifier.verify(bundle, expecting: .reportData([0x90, 0x09]))
        }
        var keyed = bundle
        keyed.runtimeKey = newRuntimeKey()
        #expect(throws: AttestationError.runtimeKeyNotBound) { try verifier.verify(keyed, expecting: .qualifyingData(TestData.gceQualifyingData)) }
    }

    @Test func realGCEEvidenceTamperedIsRefused() throws {
        let verifier = try TestData.gceVerifier()
        let binding = ExpectedBinding.qualifyingData(TestData.gceQualifyingData)
        let genuine = try TestData.gceBundle()
        guard case .tpm(let evidence) = genuine.evidence else { return }
        func with(_ change: (inout TPMEvidence) -> Void) -> EvidenceBundle {
            var copy = evidence
            change(&copy)
            return EvidenceBundle(nonce: genuine.nonce, runtimeKey: nil, evidence: .tpm(copy))
        }
        // A PCR value changed: the quote's pcrDigest no longer matches.
        #expect {
            try verifier.verify(with { $0.quote.pcrs[.sha256]![4]![0] ^= 1 }, expecting: binding)
        } throws: { error in
            guard case AttestationError.quoteVerificationFailed(.pcrDigestMismatch) = error else { return false }
            return true
        }
        // Another machine's event log does not replay to these PCRs.
        #expect {
            try verifier.verify(with { $0.quote.eventLog = try! TestData.bytes("eventlog/gce-ubuntu2104-no-dbx.bin") }, expecting: binding)
        } throws: { error in
            guard case AttestationError.eventLogReplayMismatch(bank: "sha256", index: 0, _, _) = error else { return false }
            return true
        }
        // An AK certificate for another key.
        let other = try Certificate(derEncoded: try TestData.bytes("tpm/gce-ek-ak-certificates/tpm_ek_intermediate_3.der"))
        #expect(throws: AttestationError.self) { try verifier.verify(with { $0.akCertificates[0] = other }, expecting: binding) }
        #expect(throws: AttestationError.attestationKeyNotCertified(
            reason: "the bundle has no akCertificates, and an EK certificate alone does not vouch for an AK (that takes TPM2_ActivateCredential)")) {
            try verifier.verify(with { $0.akCertificates = [] }, expecting: binding)
        }
    }

    /// An event outside the quoted PCRs — here a forged "SecureBoot off" with a consistent digest
    /// in PCR 30, ahead of the real measurement in PCR 7 — cannot add or change a claim.
    @Test func eventsOutsideTheVerifiedPCRsAreIgnored() throws {
        let genuine = try TestData.gceBundle()
        guard case .tpm(var evidence) = genuine.evidence else { return }
        var log = try EventLog(bytes: evidence.quote.eventLog!)
        let real = log.events.firstIndex { event in
            guard event.eventType == .efiVariableDriverConfig, case .variable(let variable) = event.content else { return false }
            return variable.unicodeName == "SecureBoot"
        }!
        var forged = log.events[real]
        forged.pcrIndex = 30
        forged.data[forged.data.count - 1] = 0
        forged.digests = forged.digests.map { TCGDigest(algorithm: $0.algorithm, bytes: $0.algorithm.hash(forged.data)!) }
        log.events.insert(forged, at: real)
        for index in log.events.indices { log.events[index].index = index }
        evidence.quote.eventLog = log.encoded()
        #expect(try EventLog(bytes: log.encoded()).secureBootReport().secureBoot == false)
        let verified = try TestData.gceVerifier().verify(
            EvidenceBundle(nonce: genuine.nonce, runtimeKey: nil, evidence: .tpm(evidence)), expecting: .qualifyingData(TestData.gceQualifyingData))
        #expect(verified.tpm?.eventLog?.secureBoot == true)
    }

    @Test func emulatedQuoteBindsNonceAndRuntimeKeyAndReplaysTheLog() throws {
        let nonce = newNonce(), key = newRuntimeKey()
        let verified = try Self.guest.verifier().verify(try Self.guest.bundle(nonce: nonce, runtimeKey: key), expecting: .nonce(nonce))
        #expect(verified.roots.map(\.description) == ["CN=Emulated vTPM AK CA (tpm-ak-ca, emulated)"])
        #expect(verified.emulated)
        #expect(verified.runtimeKey == key)
        #expect(verified.tpm?.quote.attest.extraData == (try EvidenceBinding.qualifyingData(nonce: nonce, runtimeKey: key)))
        #expect(verified.tpm?.eventLog?.secureBoot == true)
        #expect(verified.tpm?.eventLog?.verifiedPCRs == Array(0...9))
        #expect(verified.tpm?.attestationKeyName == Self.guest.ak.name)
    }

    @Test func emulatedAKCAIsRefusedWithoutOptIn() throws {
        let nonce = newNonce()
        let bundle = try Self.guest.bundle(nonce: nonce, runtimeKey: nil)
        #expect(throws: AttestationError.emulatedRootNotAllowed(root: "CN=Emulated vTPM AK CA")) {
            try Self.guest.verifier(allowEmulatedRoots: false).verify(bundle, expecting: .nonce(nonce))
        }
        #expect {
            try AttestationVerifier(configuration: .init(allowEmulatedRoots: true)).verify(bundle, expecting: .nonce(nonce))
        } throws: { error in
            guard case AttestationError.akCertificateChainInvalid(.certificateIssuerNotFound) = error else { return false }
            return true
        }
    }

    @Test func wrongReplayedOrRebindedNoncesAndKeysAreRefused() throws {
        let nonce = newNonce(), key = newRuntimeKey()
        let bundle = try Self.guest.bundle(nonce: nonce, runtimeKey: key)
        let verifier = Self.guest.verifier()
        let fresh = newNonce()
        #expect(throws: AttestationError.nonceMismatch(expected: fresh, actual: nonce)) { try verifier.verify(bundle, expecting: .nonce(fresh)) }
        let bound = try EvidenceBinding.qualifyingData(nonce: nonce, runtimeKey: key)
        var replayed = bundle
        replayed.nonce = fresh
        #expect(throws: AttestationError.bindingMismatch(
            field: "TPMS_ATTEST.extraData", expected: try EvidenceBinding.qualifyingData(nonce: fresh, runtimeKey: key), actual: bound)) {
            try verifier.verify(replayed, expecting: .nonce(fresh))
        }
        var swapped = bundle
        swapped.runtimeKey = newRuntimeKey()
        #expect(throws: AttestationError.bindingMismatch(
            field: "TPMS_ATTEST.extraData", expected: try EvidenceBinding.qualifyingData(nonce: nonce, runtimeKey: swapped.runtimeKey), actual: bound)) {
            try verifier.verify(swapped, expecting: .nonce(nonce))
        }
    }

    /// A bit flipped in each field of the signed TPMS_ATTEST (TPM 2.0 Part 2 §10.12.12) and in
    /// the signature.
    @Test func everySignedFieldIsCovered() throws {
        let nonce = newNonce()
        let genuine = try Self.guest.bundle(nonce: nonce, runtimeKey: newRuntimeKey())
        guard case .tpm(let evidence) = genuine.evidence else { return }
        let attest = try TPMSAttest(tpmBytes: evidence.quote.attest)
        let signer = 6 + 2, extra = signer + attest.qualifiedSigner.count + 2, clock = extra + attest.extraData.count
        let selection = clock + 17 + 8
        let fields: [(String, Int)] = [
            ("magic", 0), ("type", 5), ("qualifiedSigner", signer), ("extraData", extra), ("clock", clock), ("resetCount", clock + 8),
            ("restartCount", clock + 12), ("safe", clock + 16), ("firmwareVersion", clock + 17), ("pcrSelect bitmap", selection + 4 + 3),
            ("pcrDigest", evidence.quote.attest.count - 1),
        ]
        for (field, offset) in fields {
            var tampered = evidence
            tampered.quote.attest[offset] ^= 1
            let bundle = EvidenceBundle(nonce: nonce, runtimeKey: genuine.runtimeKey, evidence: .tpm(tampered))
            #expect(throws: AttestationError.self, "\(field)") { try Self.guest.verifier().verify(bundle, expecting: .nonce(nonce)) }
            do {
                _ = try Self.guest.verifier().verify(bundle, expecting: .nonce(nonce))
            } catch {
                switch (field, error) {
                case ("magic", .quoteVerificationFailed(.badMagic)), ("type", .quoteVerificationFailed(.malformed)),
                     (_, .quoteVerificationFailed(.signatureInvalid)):
                    break
                default:
                    Issue.record("\(field): \(error)")
                }
            }
        }
        guard case .ecc(let scheme, let hash, let r, var s) = evidence.quote.signature else { Issue.record("not ECDSA"); return }
        s[s.count - 1] ^= 1
        var badSignature = evidence
        badSignature.quote.signature = .ecc(scheme: scheme, hash: hash, r: r, s: s)
        #expect {
            try Self.guest.verifier().verify(EvidenceBundle(nonce: nonce, runtimeKey: genuine.runtimeKey, evidence: .tpm(badSignature)), expecting: .nonce(nonce))
        } throws: { error in
            guard case AttestationError.quoteVerificationFailed(.signatureInvalid) = error else { return false }
            return true
        }
    }

    @Test func pcrValueAndEventLogEditsAreRefused() throws {
        let nonce = newNonce()
        let genuine = try Self.guest.bundle(nonce: nonce, runtimeKey: nil)
        guard case .tpm(let evidence) = genuine.evidence else { return }
        let verifier = Self.guest.verifier()
        func verify(_ change: (inout TPMEvidence) throws -> Void) throws -> AttestationError? {
            var copy = evidence
            try change(&copy)
            do {
                _ = try verifier.verify(EvidenceBundle(nonce: nonce, runtimeKey: nil, evidence: .tpm(copy)), expecting: .nonce(nonce))
                return nil
            } catch {
                return error
            }
        }
        let log = try EventLog(bytes: evidence.quote.eventLog!)
        // A PCR value the quote covers, changed.
        let pcr = try verify { $0.quote.pcrs[.sha256]![7]![0] ^= 1 }
        guard case .quoteVerificationFailed(.pcrDigestMismatch) = pcr else { Issue.record("PCR edit: \(String(describing: pcr))"); return }
        // A boot application's SHA-256 digest replaced: PCR 4 no longer replays.
        let application = log.events.first { $0.eventType == .efiBootServicesApplication }!
        let digestEdit = try verify { evidence in
            var edited = log
            let index = edited.events[application.index].digests.firstIndex { $0.algorithm == .sha256 }!
            edited.events[application.index].digests[index].bytes[0] ^= 1
            evidence.quote.eventLog = edited.encoded()
        }
        guard case .eventLogReplayMismatch(bank: "sha256", index: 4, _, _) = digestEdit else { Issue.record("digest edit: \(String(describing: digestEdit))"); return }
        #expect(digestEdit?.step == .eventLog)
        // The SecureBoot variable's data edited, its digest kept: replay still matches, the data no longer does.
        let secureBoot = log.events.first { event in
            guard event.eventType == .efiVariableDriverConfig, case .variable(let variable) = event.content else { return false }
            return variable.unicodeName == "SecureBoot"
        }!
        let dataEdit = try verify { evidence in
            var edited = log
            edited.events[secureBoot.index].data[edited.events[secureBoot.index].data.count - 1] ^= 1
            evidence.quote.eventLog = edited.encoded()
        }
        guard case .eventLogEventDataMismatch = dataEdit else { Issue.record("data edit: \(String(describing: dataEdit))"); return }
        // An event removed.
        let removal = try verify { evidence in
            var edited = log
            edited.events.remove(at: application.index)
            for index in edited.events.indices { edited.events[index].index = index }
            evidence.quote.eventLog = edited.encoded()
        }
        guard case .eventLogReplayMismatch(bank: "sha256", index: 4, _, _) = removal else { Issue.record("removal: \(String(describing: removal))"); return }
        // A truncated log.
        let truncated = try verify { $0.quote.eventLog = Array($0.quote.eventLog!.dropLast(7)) }
        guard case .eventLogMalformed = truncated else { Issue.record("truncation: \(String(describing: truncated))"); return }
        // A log extending a PCR the quote does not cover.
        let unquoted = try verify { $0.quote.pcrs[.sha256]![9] = nil }
        #expect(unquoted != nil)
        // A quote of another bank than the log records.
        let sha1Log = try verify { $0.quote.eventLog = try TestData.bytes("eventlog/gce-windows-shielded-vm-sha1.bin") }
        guard case .eventLogBanksNotQuoted = sha1Log else { Issue.record("sha1 log: \(String(describing: sha1Log))"); return }
    }

    @Test func akPublicAreaMustBeTheCertifiedRestrictedKey() throws {
        let nonce = newNonce()
        let genuine = try Self.guest.bundle(nonce: nonce, runtimeKey: nil)
        guard case .tpm(let evidence) = genuine.evidence else { return }
        var unrestricted = evidence
        unrestricted.attestationKey.objectAttributes.remove(.restricted)
        #expect(throws: AttestationError.attestationKeyInvalid(.notRestrictedSigningKey(attributes: unrestricted.attestationKey.objectAttributes.rawValue))) {
            try Self.guest.verifier().verify(EvidenceBundle(nonce: nonce, runtimeKey: nil, evidence: .tpm(unrestricted)), expecting: .nonce(nonce))
        }
        let otherGuest = try EmulatedTPMGuest()
        var otherKey = evidence
        otherKey.attestationKey = otherGuest.ak.publicArea
        #expect(throws: AttestationError.akCertificateKeyMismatch) {
            try Self.guest.verifier().verify(EvidenceBundle(nonce: nonce, runtimeKey: nil, evidence: .tpm(otherKey)), expecting: .nonce(nonce))
        }
    }
}
