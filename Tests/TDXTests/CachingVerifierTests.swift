import Foundation
import TDX
import TDXTestSupport
import TestSupport
import Testing

@Suite("TDX caching verifier")
struct CachingVerifierTests {
    @Test("Cached chains give the same result, while every quote's own checks still run")
    func azure() throws {
        let verifier = try TDXCachingVerifier()
        let bytes = try TestData.azureQuote
        for _ in 0..<3 {
            let verified = try verifier.verify(try TDXQuote(bytes: bytes), at: TestData.verificationTime)
            #expect(verified.root == "Intel SGX Root CA")
        }
        var tampered = bytes
        tampered[AzureLayout.body + 10] ^= 1
        #expect(throws: TDXError.quoteSignatureInvalid) { try verifier.verify(try TDXQuote(bytes: tampered), at: TestData.verificationTime) }
        tampered = bytes
        tampered[AzureLayout.qeReportSignature] ^= 1
        #expect(throws: TDXError.qeReportSignatureInvalid) { try verifier.verify(try TDXQuote(bytes: tampered), at: TestData.verificationTime) }
        let late = ISO8601DateFormatter().date(from: "2031-01-01T00:00:00Z")!
        #expect(throws: TDXError.self) { try verifier.verify(try TDXQuote(bytes: bytes), at: late) }
        var typeFour = bytes
        typeFour[AzureLayout.nestedType] = 4
        #expect(throws: TDXError.missingCertificate(role: "PCK chain (certification data type 5, found type 4)")) {
            try verifier.verify(try TDXQuote(bytes: typeFour), at: TestData.verificationTime)
        }
    }

    @Test("Collateral is checked once at creation, and evaluated for every quote")
    func collateral() throws {
        let platform = try SyntheticPlatform()
        let anchor = TDXVerifier(trustAnchor: platform.anchor)
        let verifier = try TDXCachingVerifier(verifier: anchor, collateral: try platform.collateral())
        #expect(try verifier.verify(try TDXQuote(bytes: try platform.quote()), at: SyntheticPlatform.time).tcb?.status == .upToDate)
        var spec = SyntheticPlatform.QuoteSpec()
        spec.qeISVSVN = 3
        #expect(try verifier.verify(try TDXQuote(bytes: try platform.quote(spec)), at: SyntheticPlatform.time).tcb?.status == .outOfDate)
        var forged = try platform.collateral()
        forged.tcbInfo = try TCBInfo(json: try platform.signedDocument(key: "tcbInfo", body: platform.tcbInfoBody(.init()), signer: platform.pckKey))
        #expect(throws: TDXError.collateralSignatureInvalid(document: "TCB Info")) { try TDXCachingVerifier(verifier: anchor, collateral: forged) }
        #expect(throws: TDXError.untrustedRoot(subject: "Intel SGX Root CA")) {
            try verifier.verify(try TDXQuote(bytes: try TestData.azureQuote), at: TestData.verificationTime)
        }
    }

    @Test("Concurrent verifications share the cache safely")
    func concurrent() async throws {
        let verifier = try TDXCachingVerifier()
        let bytes = try TestData.azureQuote
        try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 {
                group.addTask { try verifier.verify(try TDXQuote(bytes: bytes), at: TestData.verificationTime).root }
            }
            for try await root in group {
                #expect(root == "Intel SGX Root CA")
            }
        }
    }
}
