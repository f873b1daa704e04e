import Foundation
import SEVSNP
import TestSupport
import Testing

/// The caching verifier must accept and refuse exactly what ``SNPVerifier`` does, even once a
/// chain is cached: only the chain's signatures are remembered.
@Suite("SEV-SNP caching verifier")
struct SNPCachingVerifierTests {
    func milanChain() throws -> SNPCertificateChain {
        let askArk = try TestData.milanASKARK
        return SNPCertificateChain(endorsementKey: try TestData.milanVCEK, intermediate: askArk[0], root: askArk[1])
    }

    @Test("The genuine Milan report verifies the first time and from the cache")
    func milanVerifiesTwice() throws {
        let verifier = SNPCachingVerifier()
        let report = try SNPReport(bytes: try TestData.milanReport)
        for _ in 0..<2 {
            let verified = try verifier.verify(report, certificates: try milanChain(), at: TestData.verificationTime)
            #expect(verified.root == "AMD ARK-Milan")
            #expect(verified.reportedTCB == TCBComponents(bootloader: 2, tee: 0, snp: 5, microcode: 0x44))
        }
    }

    @Test("With the chain cached, a report with a flipped signed byte still fails its signature")
    func signatureCheckedEveryTime() throws {
        let verifier = SNPCachingVerifier()
        let original = try TestData.milanReport
        _ = try verifier.verify(try SNPReport(bytes: original), certificates: try milanChain(), at: TestData.verificationTime)
        var tampered = original
        tampered[0x90] ^= 0x01
        let report = try SNPReport(bytes: tampered)
        #expect(throws: SNPError.reportSignatureInvalid) {
            try verifier.verify(report, certificates: try milanChain(), at: TestData.verificationTime)
        }
    }

    @Test("With the chain cached, validity is still checked at each verification's time")
    func validityCheckedEveryTime() throws {
        let verifier = SNPCachingVerifier()
        let report = try SNPReport(bytes: try TestData.milanReport)
        _ = try verifier.verify(report, certificates: try milanChain(), at: TestData.verificationTime)
        let late = ISO8601DateFormatter().date(from: "2030-01-01T00:00:00Z")!
        #expect(throws: SNPError.self) { try verifier.verify(report, certificates: try milanChain(), at: late) }
    }

    @Test("A chain that fails is not cached: it fails again")
    func failuresNotCached() throws {
        let verifier = SNPCachingVerifier(verifier: SNPVerifier(trustedRoots: []))
        let report = try SNPReport(bytes: try TestData.milanReport)
        for _ in 0..<2 {
            #expect(throws: SNPError.untrustedRoot(subject: "ARK-Milan")) {
                try verifier.verify(report, certificates: try milanChain(), at: TestData.verificationTime)
            }
        }
    }
}
