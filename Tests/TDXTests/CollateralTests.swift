import Crypto
import Foundation
import TDX
import TDXTestSupport
import TestSupport
import Testing

/// TCB Info, QE Identity and TCB evaluation. Real Intel collateral for the Azure quote was not
/// available offline, so these run on the SYNTHETIC platform (a throwaway CA trusted only because
/// each test passes its anchor explicitly), with expectations taken from Intel's QVL matching rules.
@Suite("TDX collateral and TCB evaluation (synthetic test CA)")
struct CollateralTests {
    let platform: SyntheticPlatform
    let verifier: TDXVerifier

    init() throws {
        self.platform = try SyntheticPlatform()
        self.verifier = TDXVerifier(trustAnchor: self.platform.anchor)
    }

    func evaluate(
        _ quote: SyntheticPlatform.QuoteSpec = .init(), tcbInfo: SyntheticPlatform.TCBInfoSpec = .init(),
        qeIdentity: SyntheticPlatform.QEIdentitySpec? = .init(), at time: Date = SyntheticPlatform.time
    ) throws(TDXError) -> TDXTCBEvaluation {
        do {
            let collateral = try self.platform.collateral(tcbInfo: tcbInfo, qeIdentity: qeIdentity)
            return try #require(try self.verifier.verify(try TDXQuote(bytes: try self.platform.quote(quote)), collateral: collateral, at: time).tcb)
        } catch let error as TDXError {
            throw error
        } catch {
            fatalError("\(error)")
        }
    }

    @Test("An up-to-date platform, module and QE evaluate to UpToDate, naming the levels matched")
    func upToDate() throws {
        let result = try self.evaluate()
        #expect(result.status == .upToDate)
        #expect(result.advisoryIDs.isEmpty)
        #expect(result.tdxTCBLevel.tdxComponents == [5, 3, 5] + [UInt8](repeating: 0, count: 13))
        #expect(result.sgxTCBLevel == result.tdxTCBLevel)
        #expect(result.tdxModuleIdentity == "TDX_03")
        #expect(result.tdxModuleTCBLevel?.isvSVN == 5)
        #expect(result.qeTCBLevel?.isvSVN == 4)
        #expect(result.tcbEvaluationDataNumber == 17)
        let quote = try TDXQuote(bytes: try self.platform.quote(.init(version: 5, bodyType: 3)))
        #expect(try self.verifier.verify(quote, collateral: try self.platform.collateral(), at: SyntheticPlatform.time).tcb?.status == .upToDate)
    }

    /// Levels listed out of order: QVL sorts them by SGX components, PCESVN, then TDX components.
    static let levels: [SyntheticPlatform.Level] = [
        .init(sgx: [4, 4, 2, 2, 3, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0], pceSVN: 10, tdx: [0, 0, 0] + Array(repeating: 0, count: 13), status: "OutOfDate", advisories: ["SA-3"]),
        .init(tdx: [5, 3, 6] + Array(repeating: 0, count: 13), status: "SWHardeningNeeded", advisories: ["SA-1"]),
        .init(sgx: [7, 7, 2, 2, 3, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0], pceSVN: 13, tdx: [5, 3, 6] + Array(repeating: 0, count: 13), status: "UpToDate"),
        .init(tdx: [5, 3, 5] + Array(repeating: 0, count: 13), status: "ConfigurationNeeded", advisories: ["SA-2", "SA-1"]),
    ]

    @Test("The SGX level is the first the PCK meets, the TDX level the first TEE_TCB_SVN also meets")
    func levelMatching() throws {
        var info = SyntheticPlatform.TCBInfoSpec()
        info.levels = Self.levels
        let lower = try self.evaluate(tcbInfo: info)
        #expect(lower.sgxTCBLevel.status == .swHardeningNeeded)
        #expect(lower.tdxTCBLevel.status == .configurationNeeded)
        #expect(lower.status == .configurationNeeded)
        #expect(lower.advisoryIDs == ["SA-2", "SA-1"])
        var quote = SyntheticPlatform.QuoteSpec()
        quote.teeTCBSVN[2] = 6
        let higher = try self.evaluate(quote, tcbInfo: info)
        #expect(higher.tdxTCBLevel.status == .swHardeningNeeded)
        #expect(higher.advisoryIDs == ["SA-1"])
        quote.teeTCBSVN[2] = 0
        let lowest = try self.evaluate(quote, tcbInfo: info)
        #expect(lowest.status == .outOfDate && lowest.sgxTCBLevel.status == .swHardeningNeeded && lowest.advisoryIDs == ["SA-3"])
    }

    @Test("No level for the PCK's SGX TCB, or for the TEE_TCB_SVN, is refused")
    func noLevel() throws {
        var info = SyntheticPlatform.TCBInfoSpec()
        info.levels = [.init(pceSVN: 12)]
        #expect(throws: TDXError.tcbLevelNotFound(document: "TCB Info", tcb: "SGX TCB components 6,6,2,2,3,1,0,3,0,0,0,0,0,0,0,0 with PCESVN 11")) {
            try self.evaluate(tcbInfo: info)
        }
        info.levels = [.init(tdx: [5, 3, 5, 1] + Array(repeating: 0, count: 12))]
        #expect(throws: TDXError.tcbLevelNotFound(
            document: "TCB Info",
            tcb: "SGX TCB components 6,6,2,2,3,1,0,3,0,0,0,0,0,0,0,0 with PCESVN 11 and TEE_TCB_SVN 05030500000000000000000000000000")) {
            try self.evaluate(tcbInfo: info)
        }
    }

    @Test("TDX module: TEE_TCB_SVN[0…1] go to the module identity when the major version is set, else to the levels")
    func tdxModule() throws {
        var quote = SyntheticPlatform.QuoteSpec()
        quote.teeTCBSVN[0] = 4
        let outOfDate = try self.evaluate(quote)
        #expect(outOfDate.tdxTCBLevel.status == .upToDate)
        #expect(outOfDate.tdxModuleTCBLevel?.isvSVN == 3)
        #expect(outOfDate.status == .outOfDate)
        #expect(outOfDate.advisoryIDs == ["INTEL-SA-00960"])
        quote.teeTCBSVN[0] = 1
        #expect(throws: TDXError.tcbLevelNotFound(document: "TCB Info TDX module TDX_03", tcb: "ISVSVN 1")) { try self.evaluate(quote) }
        quote.teeTCBSVN[1] = 2
        #expect(throws: TDXError.tdxModuleMismatch(field: "identity", expected: "one of [TDX_03]", actual: "TDX_02")) { try self.evaluate(quote) }
        // Major version 0: the TCB Info's tdxModule applies, and bytes 0 and 1 are compared with the levels.
        quote.teeTCBSVN = [UInt8](hex: "03000500000000000000000000000000")
        #expect(throws: TDXError.self) { try self.evaluate(quote) }
        var info = SyntheticPlatform.TCBInfoSpec()
        info.levels = [.init(tdx: [3, 0, 5] + Array(repeating: 0, count: 13))]
        let version0 = try self.evaluate(quote, tcbInfo: info)
        #expect(version0.tdxModuleIdentity == "tdxModule" && version0.tdxModuleTCBLevel == nil && version0.status == .upToDate)
    }

    @Test("MRSIGNERSEAM and masked SEAMATTRIBUTES must match the module identity")
    func moduleIdentity() throws {
        var quote = SyntheticPlatform.QuoteSpec()
        quote.mrSignerSEAM[0] = 1
        #expect(throws: TDXError.tdxModuleMismatch(
            field: "MRSIGNERSEAM", expected: String(repeating: "0", count: 96), actual: "01" + String(repeating: "0", count: 94))) {
            try self.evaluate(quote)
        }
        quote = SyntheticPlatform.QuoteSpec()
        quote.seamAttributes = 0x100
        #expect(throws: TDXError.tdxModuleMismatch(
            field: "SEAMATTRIBUTES under mask ffffffffffffffff", expected: "0000000000000000", actual: "0001000000000000")) {
            try self.evaluate(quote)
        }
        var info = SyntheticPlatform.TCBInfoSpec()
        info.moduleAttributesMask = "00FFFFFFFFFFFFFF"
        #expect(throws: TDXError.self) { try self.evaluate(quote, tcbInfo: info) }
        info.moduleAttributesMask = "FF00FFFFFFFFFFFF"
        #expect(try self.evaluate(quote, tcbInfo: info).status == .upToDate)
    }

    @Test("QE Identity: masked MISCSELECT and ATTRIBUTES, MRSIGNER, ISVPRODID, and the level by ISVSVN")
    func qeIdentity() throws {
        var quote = SyntheticPlatform.QuoteSpec()
        quote.qeISVSVN = 3
        let outOfDate = try self.evaluate(quote)
        #expect(outOfDate.qeTCBLevel?.isvSVN == 2 && outOfDate.status == .outOfDate && outOfDate.advisoryIDs == ["INTEL-SA-00615"])
        quote.qeISVSVN = 1
        #expect(throws: TDXError.tcbLevelNotFound(document: "QE Identity", tcb: "QE ISVSVN 1")) { try self.evaluate(quote) }
        var identity = SyntheticPlatform.QEIdentitySpec()
        identity.levels = [(4, "Revoked", ["SA-R"])]
        #expect(try self.evaluate(qeIdentity: identity).status == .revoked)
        identity = SyntheticPlatform.QEIdentitySpec()
        identity.mrSigner = String(repeating: "AB", count: 32)
        #expect(throws: TDXError.qeIdentityMismatch(
            field: "MRSIGNER", expected: String(repeating: "ab", count: 32), actual: SyntheticPlatform.qeMRSigner.hex)) {
            try self.evaluate(qeIdentity: identity)
        }
        identity = SyntheticPlatform.QEIdentitySpec()
        identity.isvProdID = 1
        #expect(throws: TDXError.qeIdentityMismatch(field: "ISVPRODID", expected: "1", actual: "2")) { try self.evaluate(qeIdentity: identity) }
        // ATTRIBUTES bit 1 is DEBUG: a debuggable QE is not Intel's.
        quote = SyntheticPlatform.QuoteSpec()
        quote.qeAttributes[0] = 0x17
        #expect(throws: TDXError.qeIdentityMismatch(
            field: "ATTRIBUTES under mask fbffffffffffffff0000000000000000", expected: "11000000000000000000000000000000",
            actual: "1700000000000000e700000000000000")) {
            try self.evaluate(quote)
        }
        quote = SyntheticPlatform.QuoteSpec()
        quote.qeMiscSelect = 1
        #expect(throws: TDXError.qeIdentityMismatch(field: "MISCSELECT under mask ffffffff", expected: "00000000", actual: "01000000")) {
            try self.evaluate(quote)
        }
        let unchecked = try self.evaluate(quote, qeIdentity: nil)
        #expect(unchecked.qeTCBLevel == nil && unchecked.status == .upToDate)
    }

    /// The statuses QVL converges a platform status and an out-of-date component to
    /// (convergeTcbStatusWithQeTcbStatus / convergeTcbStatusWithTdxModuleStatus).
    static let outOfDateConvergence: [(String, TCBStatus)] = [
        ("UpToDate", .outOfDate), ("SWHardeningNeeded", .outOfDate), ("ConfigurationNeeded", .outOfDateConfigurationNeeded),
        ("ConfigurationAndSWHardeningNeeded", .outOfDateConfigurationNeeded), ("OutOfDate", .outOfDate),
        ("OutOfDateConfigurationNeeded", .outOfDateConfigurationNeeded), ("Revoked", .revoked),
    ]

    @Test("Every platform status, alone and converged with an out-of-date or revoked QE or TDX module", arguments: Self.outOfDateConvergence)
    func convergence(platform: String, withOutOfDate: TCBStatus) throws {
        var info = SyntheticPlatform.TCBInfoSpec()
        info.levels = [.init(status: platform)]
        #expect(try self.evaluate(tcbInfo: info).status.rawValue == platform)
        var quote = SyntheticPlatform.QuoteSpec()
        quote.qeISVSVN = 3
        #expect(try self.evaluate(quote, tcbInfo: info).status == withOutOfDate)
        quote = SyntheticPlatform.QuoteSpec()
        quote.teeTCBSVN[0] = 3
        #expect(try self.evaluate(quote, tcbInfo: info).status == withOutOfDate)
        var identity = SyntheticPlatform.QEIdentitySpec()
        identity.levels = [(4, "Revoked", [])]
        #expect(try self.evaluate(tcbInfo: info, qeIdentity: identity).status == .revoked)
        // A QE level that only needs configuration leaves the platform's status as it is.
        identity.levels = [(4, "ConfigurationNeeded", [])]
        #expect(try self.evaluate(tcbInfo: info, qeIdentity: identity).status.rawValue == platform)
        info.identities = [("TDX_03", [(5, "Revoked", [])])]
        #expect(try self.evaluate(tcbInfo: info).status == .revoked)
    }

    @Test("TCB Info for another platform is refused")
    func otherPlatform() throws {
        var info = SyntheticPlatform.TCBInfoSpec()
        info.fmspc = "00906ED50000"
        #expect(throws: TDXError.collateralMismatch(document: "TCB Info", field: "fmspc", expected: "00906ed50000", actual: "00806f050000")) {
            try self.evaluate(tcbInfo: info)
        }
        info = SyntheticPlatform.TCBInfoSpec()
        info.pceID = "0100"
        #expect(throws: TDXError.collateralMismatch(document: "TCB Info", field: "pceId", expected: "0100", actual: "0000")) {
            try self.evaluate(tcbInfo: info)
        }
    }

    @Test("Collateral applies only between its issue date and next update")
    func dates() throws {
        let iso = ISO8601DateFormatter()
        let issued = iso.date(from: "2025-05-01T00:00:00Z")!
        let next = iso.date(from: "2025-07-01T00:00:00Z")!
        _ = try self.evaluate(at: issued)
        _ = try self.evaluate(at: next)
        for time in [issued - 1, next + 1] {
            #expect(throws: TDXError.collateralNotValidAtTime(document: "TCB Info", time: time, issueDate: issued, nextUpdate: next)) {
                try self.evaluate(at: time)
            }
        }
        var identity = SyntheticPlatform.QEIdentitySpec()
        identity.nextUpdate = "2025-05-31T00:00:00Z"
        #expect(throws: TDXError.collateralNotValidAtTime(
            document: "QE Identity", time: SyntheticPlatform.time, issueDate: issued, nextUpdate: iso.date(from: "2025-05-31T00:00:00Z")!)) {
            try self.evaluate(qeIdentity: identity)
        }
    }

    func verify(_ collateral: TDXCollateral) throws(TDXError) -> VerifiedTDXQuote {
        do {
            return try self.verifier.verify(try TDXQuote(bytes: try self.platform.quote()), collateral: collateral, at: SyntheticPlatform.time)
        } catch let error as TDXError {
            throw error
        } catch {
            fatalError("\(error)")
        }
    }

    @Test("Altered or wrongly signed collateral is refused: the signature covers the exact bytes of the body")
    func signatures() throws {
        let body = self.platform.tcbInfoBody(.init())
        var collateral = try self.platform.collateral()
        let signed = try self.platform.signedDocument(key: "tcbInfo", body: body)
        let text = String(decoding: signed, as: UTF8.self)
        for altered in [text.replacingOccurrences(of: "\"tcbEvaluationDataNumber\":17", with: "\"tcbEvaluationDataNumber\":18"),
                        text.replacingOccurrences(of: "{\"id\":\"TDX\"", with: "{ \"id\":\"TDX\"")] {
            collateral.tcbInfo = try TCBInfo(json: Array(altered.utf8))
            #expect(throws: TDXError.collateralSignatureInvalid(document: "TCB Info")) { try self.verify(collateral) }
        }
        collateral.tcbInfo = try TCBInfo(json: try self.platform.signedDocument(key: "tcbInfo", body: body, signer: P256.Signing.PrivateKey()))
        #expect(throws: TDXError.collateralSignatureInvalid(document: "TCB Info")) { try self.verify(collateral) }
        collateral = try self.platform.collateral()
        collateral.qeIdentity = try QEIdentity(json: try self.platform.signedDocument(
            key: "enclaveIdentity", body: self.platform.qeIdentityBody(.init()), signer: self.platform.pckKey))
        #expect(throws: TDXError.collateralSignatureInvalid(document: "QE Identity")) { try self.verify(collateral) }
    }

    @Test("The TCB signing certificate must chain to the trusted root and be valid")
    func signingChain() throws {
        var collateral = try self.platform.collateral()
        collateral.tcbSigningChain = nil
        #expect(throws: TDXError.missingCertificate(role: "TCB signing")) { try self.verify(collateral) }
        let other = try SyntheticPlatform()
        collateral.tcbSigningChain = try TCBSigningChain(derOrPEM: Array(try SyntheticPlatform.pem([other.tcbSigner]).utf8))
        #expect(throws: TDXError.certificateSignatureInvalid(
            subject: "Synthetic SGX TCB Signing (synthetic test)", issuer: "Synthetic SGX Root CA (synthetic test, untrusted)")) {
            try self.verify(collateral)
        }
        collateral.tcbSigningChain = try other.signingChain()
        #expect(throws: TDXError.untrustedRoot(subject: "Synthetic SGX Root CA (synthetic test, untrusted)")) { try self.verify(collateral) }
        #expect(throws: TDXError.unexpectedCertificate(role: "TCB signing", subject: "Synthetic SGX PCK Certificate (synthetic test)")) {
            try TCBSigningChain(derOrPEM: try SyntheticPlatform.der(self.platform.pck))
        }
        collateral = try self.platform.collateral()
        let late = ISO8601DateFormatter().date(from: "2034-06-01T00:00:00Z")!
        #expect(throws: TDXError.self) { try self.verifier.verify(try TDXQuote(bytes: try self.platform.quote()), collateral: collateral, at: late) }
    }

    @Test("Malformed collateral documents are refused with the field named")
    func malformed() throws {
        func tcbInfo(_ body: String) throws -> TCBInfo { try TCBInfo(json: try self.platform.signedDocument(key: "tcbInfo", body: body)) }
        let body = self.platform.tcbInfoBody(.init())
        let cases: [(String, String)] = [
            (body.replacingOccurrences(of: "\"version\":3", with: "\"version\":2"), "version is 2; only TCB Info v3 describes TDX"),
            (body.replacingOccurrences(of: "\"id\":\"TDX\"", with: "\"id\":\"SGX\""), "id is \"SGX\", not \"TDX\""),
            (body.replacingOccurrences(of: "\"fmspc\":\"00806F050000\"", with: "\"fmspc\":\"00806F05\""), "fmspc is not 6 bytes of hex"),
            (body.replacingOccurrences(of: "\"tcbStatus\":\"UpToDate\"}]}", with: "\"tcbStatus\":\"Fine\"}]}"),
             "tcbLevels[0].tcbStatus \"Fine\" is not one of UpToDate, SWHardeningNeeded, ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate, OutOfDateConfigurationNeeded, Revoked"),
            (body.replacingOccurrences(of: "\"issueDate\":\"2025-05-01T00:00:00Z\"", with: "\"issueDate\":\"yesterday\""),
             "issueDate \"yesterday\" is not an ISO 8601 time"),
            (body.replacingOccurrences(of: "\"tcbType\":0", with: "\"tcbType\":1"), "tcbType is 1; only 0 is defined"),
            (body.replacingOccurrences(of: "\"tcbEvaluationDataNumber\":17,", with: ""), "tcbEvaluationDataNumber is missing"),
        ]
        for (text, reason) in cases {
            #expect(throws: TDXError.collateralMalformed(document: "TCB Info", reason: reason)) { try tcbInfo(text) }
        }
        var duplicate = SyntheticPlatform.TCBInfoSpec()
        duplicate.levels = [.init(status: "UpToDate"), .init(status: "OutOfDate")]
        #expect(throws: TDXError.collateralMalformed(document: "TCB Info", reason: "tcbLevels holds two levels with the same TCB")) {
            try tcbInfo(self.platform.tcbInfoBody(duplicate))
        }
        var short = SyntheticPlatform.TCBInfoSpec()
        short.levels = [.init(sgx: Array(repeating: 1, count: 15))]
        #expect(throws: TDXError.collateralMalformed(document: "TCB Info", reason: "tcbLevels[0].tcb.sgxtcbcomponents does not have 16 entries")) {
            try tcbInfo(self.platform.tcbInfoBody(short))
        }
        let signature = String(repeating: "ab", count: 64)
        let documents: [(String, String)] = [
            ("{\"tcbInfo\":\(body)}", "it has no \"signature\" member"),
            ("{\"signature\":\"\(signature)\"}", "it has no \"tcbInfo\" member"),
            ("{\"tcbInfo\":\(body),\"signature\":\"\(signature)\",\"extra\":1}", "it has the unexpected member \"extra\""),
            ("{\"tcbInfo\":\(body),\"signature\":\"abcd\"}", "\"signature\" is not 128 hex digits"),
            ("{\"tcbInfo\":[],\"signature\":\"\(signature)\"}", "\"tcbInfo\" is not an object"),
            ("{\"tcbInfo\":\(body),\"signature\":\"\(signature)\"} x", "text follows the top-level object (at byte \(body.utf8.count + 156))"),
            ("{\"tcbInfo\":\(body),\"tcbInfo\":\(body),\"signature\":\"\(signature)\"}", "the member \"tcbInfo\" occurs twice (at byte \(2 * body.utf8.count + 22))"),
            ("{\"tcbInfo\":{\"a\":[1,2}}", "brackets do not match (at byte 20)"),
        ]
        for (text, reason) in documents {
            #expect(throws: TDXError.collateralMalformed(document: "TCB Info", reason: reason)) { try TCBInfo(json: Array(text.utf8)) }
        }
        var identity = SyntheticPlatform.QEIdentitySpec()
        identity.id = "QE"
        #expect(throws: TDXError.collateralMalformed(document: "QE Identity", reason: "id is \"QE\", not \"TD_QE\"")) {
            try self.platform.qeIdentity(identity)
        }
        identity = SyntheticPlatform.QEIdentitySpec()
        identity.levels = [(4, "SWHardeningNeeded", [])]
        #expect(throws: TDXError.self) { try self.platform.qeIdentity(identity) }
    }
}
