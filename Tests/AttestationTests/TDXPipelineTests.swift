import Attestation
import Crypto
import EventLog
import Foundation
import TDX
import TDXTestSupport
import Testing

extension TestData {
    /// The real TDX quote (v4) of an Azure TDX confidential VM (`tpm/azure-tdx-cvm-trustee/README.md`):
    /// 4936 bytes of quote, 70 bytes of zero padding. Its REPORTDATA binds Azure's HCL runtime
    /// claims, not a nonce: SHA-256 of them, then 32 zero bytes.
    static var azureTDXQuote: [UInt8] { get throws { try bytes("tpm/azure-tdx-cvm-trustee/td_quote.bin") } }
    static let azureTDXReportData = [UInt8](hex: "9734504f161d104c74e3165c15f779b06a9bb40dfa71937817d7eee68e593839") + [UInt8](repeating: 0, count: 32)
    /// The quote's MRTD, as Tests/TDXTests and `cvm tdx show` read it.
    static let azureTDXMRTD = [UInt8](hex: "024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b66205949d15469dc8c1ba7ab7b")
    /// The validity of the quote's PCK certificate, as `openssl x509 -dates` prints it; its
    /// Platform CA runs to 2033 and Intel's root to 2049, so verificationTime is inside all three.
    static let azureTDXPCKValidity = (
        ISO8601DateFormatter().date(from: "2023-09-13T21:00:51Z")!, ISO8601DateFormatter().date(from: "2030-09-13T21:00:51Z")!)

    /// The real quote in a bundle, with a 32-byte nonce that the quote does not bind.
    static func azureTDXBundle(quote: [UInt8]? = nil) throws -> EvidenceBundle {
        EvidenceBundle(nonce: [UInt8](repeating: 0x5C, count: 32), runtimeKey: nil, evidence: .tdx(TDXEvidence(
            quote: try TDXQuote(bytes: try quote ?? azureTDXQuote))))
    }
}

/// A TD on TDXTestSupport's synthetic platform (a test CA standing in for Intel's, never trusted
/// but as an emulated root): its REPORTDATA carries ``EvidenceBinding``'s value, as a guest agent
/// fills it.
enum SyntheticTD {
    static let platform: SyntheticPlatform = try! SyntheticPlatform()

    /// The quote fields: the binding in REPORTDATA, the rest as `spec` says.
    static func spec(nonce: [UInt8], runtimeKey: RuntimeKey?, _ change: (inout SyntheticPlatform.QuoteSpec) -> Void = { _ in }) throws
        -> SyntheticPlatform.QuoteSpec
    {
        var spec = SyntheticPlatform.QuoteSpec()
        spec.reportData = try EvidenceBinding.reportData(nonce: nonce, runtimeKey: runtimeKey)
        change(&spec)
        return spec
    }

    static func bundle(
        nonce: [UInt8], runtimeKey: RuntimeKey?, eventLog: [UInt8]? = nil, collateral: TDXBundleCollateral? = nil,
        _ change: (inout SyntheticPlatform.QuoteSpec) -> Void = { _ in }
    ) throws -> EvidenceBundle {
        let quote = try TDXQuote(bytes: try platform.quote(try spec(nonce: nonce, runtimeKey: runtimeKey, change)))
        return EvidenceBundle(nonce: nonce, runtimeKey: runtimeKey, evidence: .tdx(TDXEvidence(quote: quote, eventLog: eventLog, collateral: collateral)))
    }

    /// The platform's collateral as a bundle carries it: the documents' bytes.
    static func collateral(
        tcbInfo: SyntheticPlatform.TCBInfoSpec = .init(), pckCRL: IntelRevocationList? = nil, signer: P256.Signing.PrivateKey? = nil
    ) throws -> TDXBundleCollateral {
        try TDXBundleCollateral(
            tcbInfo: try platform.signedDocument(key: "tcbInfo", body: platform.tcbInfoBody(tcbInfo), signer: signer),
            qeIdentity: try platform.signedDocument(key: "enclaveIdentity", body: platform.qeIdentityBody(.init())),
            tcbSigningChain: Array(try SyntheticPlatform.pem([platform.tcbSigner, platform.root]).utf8), pckCRL: pckCRL?.derBytes)
    }

    /// A verifier trusting Intel and, as an emulated root, the synthetic platform's.
    static func verifier(allowEmulatedRoots: Bool = true, collateral: TDXCollateral? = nil) -> AttestationVerifier {
        AttestationVerifier(configuration: .init(
            tdxCollateral: collateral, emulatedTDXAnchors: [platform.anchor], allowEmulatedRoots: allowEmulatedRoots,
            verificationTime: SyntheticPlatform.time))
    }
}

/// `tdx` evidence through the pipeline: the real Azure TDX quote (its REPORTDATA was not made by
/// our binding, so the caller supplies it) and synthetic quotes bound to nonce and runtime key,
/// with collateral from the bundle or the verifier, CCEL replay, and every tampered variant
/// refused by the right step.
@Suite struct TDXPipelineTests {
    static let intelVerifier = AttestationVerifier(configuration: .init(verificationTime: TestData.verificationTime))

    @Test func realAzureQuoteVerifiesToIntelsRoot() throws {
        let bundle = try TestData.azureTDXBundle()
        let verified = try Self.intelVerifier.verify(bundle, expecting: .reportData(TestData.azureTDXReportData))
        #expect(verified.type == .tdx)
        #expect(verified.roots.map(\.description) == ["Intel SGX Root CA (tdx-root-ca)"])
        #expect(!verified.emulated)
        #expect(verified.snp == nil && verified.tpm == nil)
        let tdx = try #require(verified.tdx)
        #expect(tdx.mrTD == TestData.azureTDXMRTD)
        #expect(tdx.body.reportData == TestData.azureTDXReportData)
        #expect(!tdx.tdAttributes.debug)
        #expect(tdx.collateral == .none)
        #expect(tdx.tcb == nil)
        #expect(tdx.eventLog == nil)
        let claims = try #require(verified.claims.tdx)
        #expect(claims.quoteVersion == 4)
        #expect(claims.mrTD == TestData.azureTDXMRTD.hex)
        #expect(claims.rtmrs.count == 4)
        #expect(claims.debug == false)
        #expect(claims.fmspc == "00806f050000")
        #expect(claims.tcbStatus == nil && claims.advisoryIDs == nil)
        #expect(verified.claims.binding == "report-data")
    }

    @Test func realAzureQuoteRefusesOtherBindingsAndTimes() throws {
        let bundle = try TestData.azureTDXBundle()
        let zeros = [UInt8](repeating: 0, count: 64)
        #expect(throws: AttestationError.bindingMismatch(field: "REPORTDATA", expected: zeros, actual: TestData.azureTDXReportData)) {
            try Self.intelVerifier.verify(bundle, expecting: .reportData(zeros))
        }
        #expect(throws: AttestationError.bindingNotApplicable(.tdx, binding: "qualifying data")) {
            try Self.intelVerifier.verify(bundle, expecting: .qualifyingData([1]))
        }
        // Its REPORTDATA is not EvidenceBinding's value for the nonce the bundle carries.
        let expected = try EvidenceBinding.reportData(nonce: bundle.nonce, runtimeKey: nil)
        #expect(throws: AttestationError.bindingMismatch(field: "REPORTDATA", expected: expected, actual: TestData.azureTDXReportData)) {
            try Self.intelVerifier.verify(bundle, expecting: .nonce(bundle.nonce))
        }
        let (from, to) = TestData.azureTDXPCKValidity
        for time in [from - 1, to + 1] {
            let verifier = AttestationVerifier(configuration: .init(verificationTime: time))
            let error = AttestationError.tdxVerificationFailed(
                .certificateNotValidAtTime(subject: "Intel SGX PCK Certificate", time: time, notBefore: from, notAfter: to))
            #expect(throws: error) { try verifier.verify(bundle, expecting: .reportData(TestData.azureTDXReportData)) }
            #expect(error.step == .endorsement)
        }
    }

    @Test func aVerifierWithoutIntelsRootRefusesTheRealQuote() throws {
        let bundle = try TestData.azureTDXBundle()
        for configuration in [AttestationVerifier.Configuration(tdxTrustAnchors: [], verificationTime: TestData.verificationTime),
                              .init(tdxTrustAnchors: [], emulatedTDXAnchors: [SyntheticTD.platform.anchor], allowEmulatedRoots: true,
                                    verificationTime: TestData.verificationTime)] {
            do {
                _ = try AttestationVerifier(configuration: configuration).verify(bundle, expecting: .reportData(TestData.azureTDXReportData))
                Issue.record("verified without Intel's root")
            } catch {
                guard case .tdxVerificationFailed(.untrustedRoot(let subject)) = error else { Issue.record("\(error)"); continue }
                #expect(subject.contains("Intel SGX Root CA"))
            }
        }
        // With the synthetic root configured as well, the real quote still chains to Intel's.
        let both = try SyntheticTD.verifier().verify(
            bundle, expecting: .reportData(TestData.azureTDXReportData))
        #expect(both.roots.map(\.description) == ["Intel SGX Root CA (tdx-root-ca)"])
    }

    /// A bit flipped in the first byte of each field of the signed quote (Intel TDX DCAP Quoting
    /// Library API, A.3: header, TD report body, signature data) as the bundle carries it: the
    /// header fields with fixed values are refused when the bundle is read, every other field by
    /// the check that covers it.
    @Test func everySignedFieldOfTheRealQuoteIsCovered() throws {
        let genuine = try TestData.azureTDXBundle()
        let original = try TestData.azureTDXQuote
        var document = try JSONSerialization.jsonObject(with: Data(try genuine.jsonEncoded())) as! [String: Any]
        let body = 48
        let signed: [(String, Int)] = [
            ("USER_DATA", 28), ("TEE_TCB_SVN", body), ("MRSEAM", body + 0x10), ("MRSIGNERSEAM", body + 0x40), ("SEAMATTRIBUTES", body + 0x70),
            ("TDATTRIBUTES", body + 0x78), ("XFAM", body + 0x80), ("MRTD", body + 0x88), ("MRCONFIGID", body + 0xB8), ("MROWNER", body + 0xE8),
            ("MROWNERCONFIG", body + 0x118), ("RTMR0", body + 0x148), ("RTMR1", body + 0x178), ("RTMR2", body + 0x1A8), ("RTMR3", body + 0x1D8),
            ("REPORTDATA", body + 0x208), ("quote signature", 636),
        ]
        let qeReport = 770
        var cases: [(String, Int, (AttestationError) -> Bool)] = signed.map { field, offset in
            (field, offset, { $0 == .tdxVerificationFailed(.quoteSignatureInvalid) })
        }
        let originalBinding = Array(original[(qeReport + 320)..<(qeReport + 352)])
        let qeBindingMismatch = { (error: AttestationError) -> Bool in
            guard case .tdxVerificationFailed(.qeReportDataMismatch(let expected, let actual)) = error else { return false }
            return actual == originalBinding && expected != actual
        }
        cases += [
            ("attestation key", 700, qeBindingMismatch), ("QE authentication data", 1220, qeBindingMismatch),
            ("QE report CPUSVN", qeReport, { $0 == .tdxVerificationFailed(.qeReportSignatureInvalid) }),
            ("QE report signature", 1154, { $0 == .tdxVerificationFailed(.qeReportSignatureInvalid) }),
        ]
        for (field, offset, matches) in cases {
            var bytes = original
            bytes[offset] ^= 1
            document["quote"] = Data(bytes).base64EncodedString()
            let tampered = try EvidenceBundle(json: Array(try JSONSerialization.data(withJSONObject: document)))
            do {
                _ = try Self.intelVerifier.verify(tampered, expecting: .reportData(TestData.azureTDXReportData))
                Issue.record("\(field): the tampered quote verified")
            } catch {
                #expect(matches(error), "\(field): \(error)")
            }
        }
        for (field, offset) in [("VERSION", 0), ("ATTESTATION_KEY_TYPE", 2), ("TEE_TYPE", 4), ("RESERVED", 8), ("QE_VENDOR_ID", 12)] {
            var bytes = original
            bytes[offset] ^= 1
            document["quote"] = Data(bytes).base64EncodedString()
            try Self.expectMalformed(document, member: "quote", field)
        }
    }

    @Test func truncatedOrExtendedRealQuotesAreRefused() throws {
        let original = try TestData.azureTDXQuote
        var document = try JSONSerialization.jsonObject(with: Data(try TestData.azureTDXBundle().jsonEncoded())) as! [String: Any]
        for (name, bytes) in [("truncated", Array(original[..<4935])), ("a non-zero byte after it", original + [1]), ("empty", [])] {
            document["quote"] = Data(bytes).base64EncodedString()
            try Self.expectMalformed(document, member: "quote", name)
        }
        // Zero padding is outside the signature, as quoting libraries leave it.
        let padded = try TestData.azureTDXBundle(quote: original + [0, 0])
        #expect(throws: Never.self) { try Self.intelVerifier.verify(padded, expecting: .reportData(TestData.azureTDXReportData)) }
    }

    static func expectMalformed(_ document: [String: Any], member: String, _ name: String) throws {
        let json = Array(try JSONSerialization.data(withJSONObject: document))
        do {
            _ = try EvidenceBundle(json: json)
            Issue.record("\(name) was accepted")
        } catch {
            guard case .bundleMalformed(let field, _) = error else { Issue.record("\(name): \(error)"); return }
            #expect(field == member, "\(name): \(error)")
            #expect(error.step == .evidence)
        }
    }

    @Test func syntheticQuoteBindsNonceAndRuntimeKey() throws {
        let nonce = newNonce(), key = newRuntimeKey()
        let verified = try SyntheticTD.verifier().verify(try SyntheticTD.bundle(nonce: nonce, runtimeKey: key), expecting: .nonce(nonce))
        #expect(verified.roots.map(\.description) == ["synthetic test root (tdx-root-ca, emulated)"])
        #expect(verified.emulated && verified.claims.emulated)
        #expect(verified.runtimeKey == key)
        #expect(verified.claims.binding == "nonce")
        #expect(verified.tdx?.body.reportData == (try EvidenceBinding.reportData(nonce: nonce, runtimeKey: key)))
        #expect(verified.tdx?.mrTD == [UInt8](repeating: 0x11, count: 48))
        // With only the synthetic root configured, the quote needs no anchor selection.
        let single = AttestationVerifier(configuration: .init(
            tdxTrustAnchors: [], emulatedTDXAnchors: [SyntheticTD.platform.anchor], allowEmulatedRoots: true, verificationTime: SyntheticPlatform.time))
        #expect(try single.verify(try SyntheticTD.bundle(nonce: nonce, runtimeKey: nil), expecting: .nonce(nonce)).runtimeKey == nil)
    }

    @Test func syntheticRootIsRefusedWithoutOptIn() throws {
        let nonce = newNonce()
        let bundle = try SyntheticTD.bundle(nonce: nonce, runtimeKey: newRuntimeKey())
        #expect(throws: AttestationError.emulatedRootNotAllowed(root: "synthetic test root")) {
            try SyntheticTD.verifier(allowEmulatedRoots: false).verify(bundle, expecting: .nonce(nonce))
        }
        // A verifier that does not list the synthetic root does not know it at all.
        let untrusted = AttestationError.tdxVerificationFailed(.untrustedRoot(subject: "Synthetic SGX Root CA (synthetic test, untrusted)"))
        #expect(throws: untrusted) {
            try AttestationVerifier(configuration: .init(allowEmulatedRoots: true, verificationTime: SyntheticPlatform.time))
                .verify(bundle, expecting: .nonce(nonce))
        }
        // Nor the root of another synthetic platform.
        let other = try SyntheticPlatform()
        let foreign = EvidenceBundle(nonce: nonce, runtimeKey: nil, evidence: .tdx(TDXEvidence(
            quote: try TDXQuote(bytes: try other.quote(try SyntheticTD.spec(nonce: nonce, runtimeKey: nil))))))
        do {
            _ = try SyntheticTD.verifier().verify(foreign, expecting: .nonce(nonce))
            Issue.record("another platform's quote verified")
        } catch {
            guard case .tdxVerificationFailed(.untrustedRoot) = error else { Issue.record("\(error)"); return }
        }
    }

    @Test func wrongReplayedOrRebindedNoncesAndKeysAreRefused() throws {
        let nonce = newNonce(), key = newRuntimeKey()
        let bundle = try SyntheticTD.bundle(nonce: nonce, runtimeKey: key)
        let verifier = SyntheticTD.verifier()
        let fresh = newNonce()
        #expect(throws: AttestationError.nonceMismatch(expected: fresh, actual: nonce)) { try verifier.verify(bundle, expecting: .nonce(fresh)) }
        let reportData = try EvidenceBinding.reportData(nonce: nonce, runtimeKey: key)
        func expectMismatch(_ tampered: EvidenceBundle, nonce: [UInt8], key: RuntimeKey?) throws {
            let error = AttestationError.bindingMismatch(
                field: "REPORTDATA", expected: try EvidenceBinding.reportData(nonce: nonce, runtimeKey: key), actual: reportData)
            #expect(throws: error) { try verifier.verify(tampered, expecting: .nonce(nonce)) }
            #expect(error.step == .binding)
        }
        var replayed = bundle
        replayed.nonce = fresh
        try expectMismatch(replayed, nonce: fresh, key: key)
        var swapped = bundle
        swapped.runtimeKey = newRuntimeKey()
        try expectMismatch(swapped, nonce: nonce, key: swapped.runtimeKey)
        var dropped = bundle
        dropped.runtimeKey = nil
        try expectMismatch(dropped, nonce: nonce, key: nil)
        #expect(throws: AttestationError.runtimeKeyNotBound) { try verifier.verify(bundle, expecting: .reportData(reportData)) }
    }

    @Test func quotesSignedByOtherKeysAreRefused() throws {
        let nonce = newNonce()
        let wrongQuoteKey = try SyntheticTD.bundle(nonce: nonce, runtimeKey: nil) { $0.quoteSigner = P256.Signing.PrivateKey() }
        #expect(throws: AttestationError.tdxVerificationFailed(.quoteSignatureInvalid)) {
            try SyntheticTD.verifier().verify(wrongQuoteKey, expecting: .nonce(nonce))
        }
        let wrongPCKKey = try SyntheticTD.bundle(nonce: nonce, runtimeKey: nil) { $0.qeReportSigner = P256.Signing.PrivateKey() }
        #expect(throws: AttestationError.tdxVerificationFailed(.qeReportSignatureInvalid)) {
            try SyntheticTD.verifier().verify(wrongPCKKey, expecting: .nonce(nonce))
        }
    }

    @Test func bundleCollateralGivesTheTCBStatus() throws {
        let nonce = newNonce()
        let verified = try SyntheticTD.verifier().verify(
            try SyntheticTD.bundle(nonce: nonce, runtimeKey: nil, collateral: try SyntheticTD.collateral()), expecting: .nonce(nonce))
        #expect(verified.tdx?.collateral == .bundle)
        #expect(verified.tdx?.tcb?.status == .upToDate)
        #expect(verified.claims.tdx?.tcbStatus == .upToDate)
        #expect(verified.claims.tdx?.advisoryIDs == [])
        // TDX module SVN 3 is at the TCB Info's OutOfDate module level, with its advisory.
        let outdated = try SyntheticTD.verifier().verify(
            try SyntheticTD.bundle(nonce: nonce, runtimeKey: nil, collateral: try SyntheticTD.collateral()) { $0.teeTCBSVN[0] = 3 },
            expecting: .nonce(nonce))
        #expect(outdated.claims.tdx?.tcbStatus == .outOfDate)
        #expect(outdated.claims.tdx?.advisoryIDs == ["INTEL-SA-00960"])
    }

    @Test func theVerifiersCollateralWinsOverTheBundles() throws {
        let nonce = newNonce()
        var info = SyntheticPlatform.TCBInfoSpec()
        info.levels = [.init(status: "OutOfDate", advisories: ["INTEL-SA-00837"])]
        let configured = try SyntheticTD.platform.collateral(tcbInfo: info)
        let bundle = try SyntheticTD.bundle(nonce: nonce, runtimeKey: nil, collateral: try SyntheticTD.collateral())
        let verified = try SyntheticTD.verifier(collateral: configured).verify(bundle, expecting: .nonce(nonce))
        #expect(verified.tdx?.collateral == .verifier)
        #expect(verified.tdx?.tcb?.status == .outOfDate)
        #expect(verified.tdx?.tcb?.advisoryIDs == ["INTEL-SA-00837"])
    }

    @Test func badOrRevokingCollateralIsRefused() throws {
        let nonce = newNonce()
        let forged = try SyntheticTD.bundle(
            nonce: nonce, runtimeKey: nil, collateral: try SyntheticTD.collateral(signer: P256.Signing.PrivateKey()))
        #expect(throws: AttestationError.tdxVerificationFailed(.collateralSignatureInvalid(document: "TCB Info"))) {
            try SyntheticTD.verifier().verify(forged, expecting: .nonce(nonce))
        }
        let platform = SyntheticTD.platform
        let crl = try SyntheticPlatform.revocationList(issuer: platform.platformCA, key: platform.platformCAKey, revoking: [platform.pck.serialNumber])
        let revoked = try SyntheticTD.bundle(nonce: nonce, runtimeKey: nil, collateral: try SyntheticTD.collateral(pckCRL: crl))
        do {
            _ = try SyntheticTD.verifier().verify(revoked, expecting: .nonce(nonce))
            Issue.record("a revoked PCK certificate was accepted")
        } catch {
            guard case .tdxVerificationFailed(.revoked(let subject, _, _)) = error else { Issue.record("\(error)"); return }
            #expect(subject == "Synthetic SGX PCK Certificate (synthetic test)")
        }
        // The verifier's collateral is checked under each root once; one that does not check
        // under the quote's root (another platform's TCB signing chain) refuses every quote of it.
        let foreign = try SyntheticPlatform().collateral()
        #expect(throws: AttestationError.tdxVerificationFailed(.untrustedRoot(subject: "Synthetic SGX Root CA (synthetic test, untrusted)"))) {
            try SyntheticTD.verifier(collateral: foreign).verify(try SyntheticTD.bundle(nonce: nonce, runtimeKey: nil), expecting: .nonce(nonce))
        }
    }

    /// CCEL logs whose sources published the RTMRs (shared/testdata/eventlog/README.md, which
    /// also lists the MR indices each log extends).
    static let logs: [(name: String, extended: [Int])] = [
        ("tdx-ovmf-grub-ubuntu-ccel", [0, 1, 2]), ("tdx-ovmf-direct-kernel-ccel", [0, 1, 2]), ("tdx-td-shim-ccel", [0, 1]),
    ]

    static func publishedRTMRs(_ name: String) throws -> [[UInt8]] {
        let published = try PCRValues(json: try TestData.bytes("eventlog/\(name).pcrs.json"))
        return (1...4).map { published[.sha384, UInt32($0)] ?? [UInt8](repeating: 0, count: 48) }
    }

    @Test(arguments: logs.indices)
    func aCCELReplaysToTheRTMRsItsSourcePublished(_ index: Int) throws {
        let (name, extended) = Self.logs[index]
        let log = try TestData.bytes("eventlog/\(name).bin")
        let rtmrs = try Self.publishedRTMRs(name)
        let nonce = newNonce()
        let bundle = try SyntheticTD.bundle(nonce: nonce, runtimeKey: nil, eventLog: log) { $0.rtmrs = rtmrs }
        let verified = try SyntheticTD.verifier().verify(bundle, expecting: .nonce(nonce))
        #expect(verified.tdx?.eventLog?.verifiedRTMRs == extended)
        #expect(verified.claims.tdx?.eventLog?.verifiedRTMRs == extended)
        #expect(verified.claims.tdx?.rtmrs == rtmrs.map(\.hex))
        // An RTMR the log extends, reported otherwise by the TD, is refused naming it.
        let other = try SyntheticTD.bundle(nonce: nonce, runtimeKey: nil, eventLog: log) { $0.rtmrs = rtmrs; $0.rtmrs[extended.last!] = [UInt8](repeating: 7, count: 48) }
        #expect(throws: AttestationError.eventLogRTMRMismatch(
            index: extended.last!, replayed: rtmrs[extended.last!], reported: [UInt8](repeating: 7, count: 48))) {
            try SyntheticTD.verifier().verify(other, expecting: .nonce(nonce))
        }
        // RTMR[3], which none of these logs extends, may hold anything (run-time measurements).
        let runtime = try SyntheticTD.bundle(nonce: nonce, runtimeKey: nil, eventLog: log) { $0.rtmrs = rtmrs; $0.rtmrs[3] = [UInt8](repeating: 9, count: 48) }
        #expect(try SyntheticTD.verifier().verify(runtime, expecting: .nonce(nonce)).tdx?.eventLog?.verifiedRTMRs == extended)
    }

    @Test func malformedOrForeignEventLogsAreRefused() throws {
        let nonce = newNonce()
        let rtmrs = try Self.publishedRTMRs("tdx-ovmf-grub-ubuntu-ccel")
        var log = try TestData.bytes("eventlog/tdx-ovmf-grub-ubuntu-ccel.bin")
        let garbage = try SyntheticTD.bundle(nonce: nonce, runtimeKey: nil, eventLog: Array(log[..<40])) { $0.rtmrs = rtmrs }
        do {
            _ = try SyntheticTD.verifier().verify(garbage, expecting: .nonce(nonce))
            Issue.record("a truncated log was accepted")
        } catch {
            guard case .eventLogMalformed = error else { Issue.record("\(error)"); return }
            #expect(error.step == .eventLog)
        }
        // A TPM's SHA-1 log has no SHA-384 bank, the RTMRs' algorithm.
        let sha1Log = try SyntheticTD.bundle(nonce: nonce, runtimeKey: nil, eventLog: try TestData.bytes("eventlog/intel-nuc-sha1-format.bin"))
        #expect(throws: AttestationError.eventLogBanksNotQuoted(logged: ["sha1"], quoted: ["sha384"])) {
            try SyntheticTD.verifier().verify(sha1Log, expecting: .nonce(nonce))
        }
        // A TPM log with a SHA-384 bank replays its PCR 1 into RTMR[0]: the GCE quote's PCR 1
        // (its pcrs.json), not the TD's RTMR[0].
        let gcePCRs = try PCRValues(json: try TestData.bytes("eventlog/gce-cos85-attestation.pcrs.json"))
        let tpmLog = try SyntheticTD.bundle(nonce: nonce, runtimeKey: nil, eventLog: try TestData.gceEventLog)
        #expect(throws: AttestationError.eventLogRTMRMismatch(index: 0, replayed: try #require(gcePCRs[.sha384, 1]), reported: SyntheticPlatform.QuoteSpec().rtmrs[0])) {
            try SyntheticTD.verifier().verify(tpmLog, expecting: .nonce(nonce))
        }
        // One digest of an event extended into RTMR[0] changed: its replay no longer matches.
        let parsed = try EventLog(bytes: log)
        let event = try #require(parsed.events.first { $0.pcrIndex == 1 && $0.eventType != .noAction })
        let digest = try #require(event.digest(.sha384))
        let offset = try #require(Self.firstRange(of: digest, in: log))
        log[offset] ^= 1
        let tampered = try SyntheticTD.bundle(nonce: nonce, runtimeKey: nil, eventLog: log) { $0.rtmrs = rtmrs }
        do {
            _ = try SyntheticTD.verifier().verify(tampered, expecting: .nonce(nonce))
            Issue.record("a tampered log was accepted")
        } catch {
            switch error {
            case .eventLogRTMRMismatch(index: 0, _, let reported): #expect(reported == rtmrs[0])
            case .eventLogEventDataMismatch: break
            default: Issue.record("\(error)")
            }
        }
    }

    static func firstRange(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        (0...(haystack.count - needle.count)).first { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    @Test func bundlesRoundTripAndRefuseMalformedMembers() throws {
        let real = try TestData.azureTDXBundle()
        let json = try real.jsonEncoded()
        #expect(try EvidenceBundle(json: json) == real)
        #expect(try EvidenceBundle(json: json).jsonEncoded() == json)
        var document = try JSONSerialization.jsonObject(with: Data(json)) as! [String: Any]
        #expect(Set(document.keys) == ["version", "type", "nonce", "quote"])
        #expect(document["type"] as? String == "tdx")
        // The quote is carried byte for byte, its zero padding included.
        #expect(Data(base64Encoded: document["quote"] as! String).map(Array.init) == (try TestData.azureTDXQuote))

        let nonce = newNonce()
        let full = try SyntheticTD.bundle(
            nonce: nonce, runtimeKey: newRuntimeKey(), eventLog: try TestData.bytes("eventlog/tdx-td-shim-ccel.bin"), collateral: try SyntheticTD.collateral())
        let fullJSON = try full.jsonEncoded()
        #expect(try EvidenceBundle(json: fullJSON) == full)
        let fullDocument = try JSONSerialization.jsonObject(with: Data(fullJSON)) as! [String: Any]
        #expect(Set(fullDocument.keys) == ["version", "type", "nonce", "runtimeKey", "quote", "eventLog", "collateral"])
        let collateral = try #require(fullDocument["collateral"] as? [String: String])
        #expect(Set(collateral.keys) == ["tcbInfo", "qeIdentity", "tcbSigningChain"])

        func variant(_ change: (inout [String: Any]) -> Void) -> [String: Any] {
            var copy = fullDocument
            change(&copy)
            return copy
        }
        let malformed: [(String, [String: Any], String)] = [
            ("unknown member", variant { $0["report"] = "AA==" }, "report"),
            ("member of another type", variant { $0["signature"] = "AA==" }, "signature"),
            ("no quote", variant { $0["quote"] = nil }, "quote"),
            ("event log not base64", variant { $0["eventLog"] = "-" }, "eventLog"),
            ("unknown collateral document", variant { $0["collateral"] = collateral.merging(["pckCertificate": "AA=="]) { $1 } }, "collateral.pckCertificate"),
            ("empty collateral", variant { $0["collateral"] = [String: String]() }, "collateral"),
            ("TCB Info not JSON", variant { $0["collateral"] = collateral.merging(["tcbInfo": "AAAA"]) { $1 } }, "collateral.tcbInfo"),
            ("QE Identity truncated", variant {
                let text = Data(base64Encoded: collateral["qeIdentity"]!)!.dropLast()
                $0["collateral"] = collateral.merging(["qeIdentity": text.base64EncodedString()]) { $1 }
            }, "collateral.qeIdentity"),
            ("signing chain garbage", variant { $0["collateral"] = collateral.merging(["tcbSigningChain": "AAAA"]) { $1 } }, "collateral.tcbSigningChain"),
            ("CRL garbage", variant { $0["collateral"] = collateral.merging(["pckCRL": "AAAA"]) { $1 } }, "collateral.pckCRL"),
        ]
        for (name, document, member) in malformed {
            try Self.expectMalformed(document, member: member, name)
        }
        document["collateral"] = "AA=="
        #expect(throws: AttestationError.self) { try EvidenceBundle(json: Array(try JSONSerialization.data(withJSONObject: document))) }
    }

    @Test func theBundleListingShowsTheQuoteLogAndCollateral() throws {
        let listing = try SyntheticTD.bundle(
            nonce: newNonce(), runtimeKey: nil, eventLog: try TestData.bytes("eventlog/tdx-td-shim-ccel.bin"), collateral: try SyntheticTD.collateral()
        ).description
        #expect(listing.hasPrefix("evidence bundle version 1, type tdx (unverified)"))
        #expect(listing.contains(String(repeating: "11", count: 48)))
        #expect(listing.contains("CC event log: 1048576 bytes"))
        #expect(listing.contains("collateral: tcbInfo ("))
        #expect(try TestData.azureTDXBundle().description.contains("collateral: none"))
    }
}
