import AzureCVM
import Crypto
import Foundation
import SEVSNP
import TPM2
import Testing
import _CryptoExtras

@Suite("Verifying Azure HCL reports and vTPM quotes")
struct AzureHCLVerifierTests {
    let verifier = AzureHCLVerifier()

    func verified(_ azure: AzureCase) throws -> VerifiedAzureHCLReport {
        try verifier.verify(
            try HCLReport(bytes: try azure.hclReport), certificates: SNPCertificateChain(endorsementKey: try azure.vcek),
            at: TestData.verificationTime)
    }

    @Test("Real reports verify through their VCEK and AMD's embedded chain, naming the root", arguments: AzureCase.withVCEK)
    func verifies(_ azure: AzureCase) throws {
        let verified = try self.verified(azure)
        let genoa = azure.directory.contains("genoa")
        #expect(verified.root == (genoa ? "AMD ARK-Genoa" : "AMD ARK-Milan"))
        #expect(verified.snp.product == (genoa ? .genoa : .milan))
        #expect(verified.attestationKey.certificatePublicKey == (try TPMVerifyingKey(pemRepresentation: try azure.akPEM)).certificatePublicKey)
        let ek = try #require(verified.endorsementKey)
        #expect(try ek.encryptionKey().derRepresentation == _RSA.Encryption.PublicKey(pemRepresentation: try azure.ekPEM).derRepresentation)
        #expect(verified.runtimeClaims.vmConfiguration.secureBoot == true)
    }

    @Test("Each real vTPM quote verifies with the AK of its verified HCL report", arguments: AzureCase.withVCEK)
    func quoteVerifies(_ azure: AzureCase) throws {
        let quote = try self.verified(azure).verifyQuote(
            try azure.quote, signature: try azure.quoteSignature, nonce: try azure.nonce, pcrValues: try azure.pcrValues)
        #expect(quote.attest.extraData == (try azure.nonce))
        #expect(quote.pcrValues[.sha256]?.count == 24)
    }

    @Test("A quote from another VM, a wrong nonce or wrong PCR values are refused")
    func quoteRefusals() throws {
        let genoa = AzureCase.withVCEK[0]
        let milan = AzureCase.withVCEK[1]
        let verified = try self.verified(milan)
        let (genoaQuote, genoaSignature, genoaNonce, genoaPCRs) = (try genoa.quote, try genoa.quoteSignature, try genoa.nonce, try genoa.pcrValues)
        let (quote, signature, pcrs) = (try milan.quote, try milan.quoteSignature, try milan.pcrValues)
        #expect(azureError { () throws(AzureCVMError) in
            try verified.verifyQuote(genoaQuote, signature: genoaSignature, nonce: genoaNonce, pcrValues: genoaPCRs)
        } == .quoteNotVerified(.signatureInvalid(scheme: .rsassa, hash: .sha256)))
        let nonce = Array("challengf".utf8)
        #expect(azureError { () throws(AzureCVMError) in
            try verified.verifyQuote(quote, signature: signature, nonce: nonce, pcrValues: pcrs)
        } == .quoteNotVerified(.nonceMismatch(expected: nonce, actual: Array("challenge".utf8))))
        var changed = pcrs
        changed[.sha256]?[7]?[0] ^= 1
        guard case .quoteNotVerified(.pcrDigestMismatch) = azureError({ () throws(AzureCVMError) in
            try verified.verifyQuote(quote, signature: signature, nonce: Array("challenge".utf8), pcrValues: changed)
        }) else {
            Issue.record("a changed PCR 7 was accepted")
            return
        }
    }

    @Test("A changed SNP report fails its signature; changed claims fail the binding before any signature")
    func tamperedReports() throws {
        let azure = AzureCase.withVCEK[2]
        let chain = SNPCertificateChain(endorsementKey: try azure.vcek)
        var measurement = try azure.hclReport
        measurement[32 + 0x90] ^= 1
        #expect(azureError { () throws(AzureCVMError) in
            try verifier.verify(try HCLReport(bytes: measurement), certificates: chain, at: TestData.verificationTime)
        } == .snpReportNotVerified(.reportSignatureInvalid))
        var claims = try azure.hclReport
        claims[HCLReport.runtimeClaimsOffset + 100] ^= 1
        guard case .reportDataMismatch = azureError({ () throws(AzureCVMError) in
            try verifier.verify(try HCLReport(bytes: claims), certificates: chain, at: TestData.verificationTime)
        }) else {
            Issue.record("changed claims were accepted")
            return
        }
    }

    @Test("Another chip's VCEK, a VCEK outside its validity, or a TDX report are refused")
    func refusals() throws {
        let report = try HCLReport(bytes: try AzureCase.withVCEK[1].hclReport)
        let otherChip = SNPCertificateChain(endorsementKey: try AzureCase.withVCEK[3].vcek)
        #expect(azureError { () throws(AzureCVMError) in
            try verifier.verify(report, certificates: otherChip, at: TestData.verificationTime)
        } == .snpReportNotVerified(.reportSignatureInvalid))
        let own = SNPCertificateChain(endorsementKey: try AzureCase.withVCEK[1].vcek)
        guard case .snpReportNotVerified(.certificateNotValidAtTime) = azureError({ () throws(AzureCVMError) in
            try verifier.verify(report, certificates: own, at: ISO8601DateFormatter().date(from: "2024-01-01T00:00:00Z")!)
        }) else {
            Issue.record("an expired or not-yet-valid VCEK was accepted")
            return
        }
        for azure in AzureCase.tdx {
            let bytes = try azure.hclReport
            #expect(azureError { () throws(AzureCVMError) in
                try verifier.verify(try HCLReport(bytes: bytes), certificates: own, at: TestData.verificationTime)
            } == .tdxVerificationUnsupported)
        }
    }

    @Test("Where no VCEK is at hand (TDX, one SNP case), the bound AK still verifies the case's quote",
          arguments: AzureCase.all.filter { $0.hasQuote && $0.vcekFile == nil })
    func boundAKWithoutHardwareVerification(_ azure: AzureCase) throws {
        let report = try HCLReport(bytes: try azure.hclReport)
        try report.requireRuntimeClaimsBinding()
        let ak = try #require(report.runtimeClaims.attestationKey)
        _ = try QuoteVerifier(attestationKey: ak.verifyingKey()).verifyQuote(
            try azure.quote, signature: try azure.quoteSignature, nonce: try azure.nonce, pcrValues: try azure.pcrValues)
    }
}

@Suite("Building Azure-style HCL reports with an emulated Secure Processor")
struct HCLReportBuilderTests {
    let chain: EmulatedSNPChain
    let ak: _RSA.Signing.PrivateKey
    let ek: _RSA.Signing.PrivateKey

    init() throws {
        self.chain = try EmulatedSNPChain()
        self.ak = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        self.ek = try _RSA.Signing.PrivateKey(keySize: .bits2048)
    }

    func claims() throws -> HCLRuntimeClaims {
        HCLRuntimeClaims(
            keys: [
                try HCLJSONWebKey(kid: HCLRuntimeClaims.attestationKeyID, keyOperations: ["sign"], publicKey: ak.publicKey),
                try HCLJSONWebKey(kid: HCLRuntimeClaims.endorsementKeyID, keyOperations: ["encrypt"], publicKey: ek.publicKey),
            ],
            vmConfiguration: HCLVMConfiguration(
                consoleEnabled: false, rootCertThumbprint: "emulated", secureBoot: true, tpmEnabled: true, tpmPersisted: false,
                vmUniqueID: "00000000-0000-4000-8000-000000000001"),
            userData: HCLRuntimeClaims.userData(Array(repeating: 0xAB, count: 64)))
    }

    func build() throws -> HCLReport {
        let builder = HCLReportBuilder(runtimeClaims: try claims())
        let snp = try chain.signReport(EmulatedReportContents(reportData: try builder.reportData()))
        return try builder.build(hardwareReport: .snp(snp))
    }

    @Test("A built report has Azure's layout and verifies only when the emulated root is trusted")
    func emulatedReport() throws {
        let report = try build()
        #expect(report.bytes.count == 2600)
        #expect(Array(report.bytes.prefix(4)) == Array("HCLA".utf8))
        #expect(report.header.version == 2)
        let json = String(decoding: report.runtimeClaimsBytes, as: UTF8.self)
        #expect(json.hasPrefix("{\"keys\":[{\"kid\":\"HCLAkPub\",\"key_ops\":[\"sign\"],\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\""))
        #expect(json.hasSuffix("\"vm-configuration\":{\"console-enabled\":false,\"root-cert-thumbprint\":\"emulated\",\"secure-boot\":true,"
            + "\"tpm-enabled\":true,\"tpm-persisted\":false,\"vmUniqueId\":\"00000000-0000-4000-8000-000000000001\"},"
            + "\"user-data\":\"\(String(repeating: "AB", count: 64))\"}"))
        #expect(report.runtimeClaims.userDataBytes == Array(repeating: 0xAB, count: 64))

        let untrusted = azureError { () throws(AzureCVMError) in
            try AzureHCLVerifier().verify(report, certificates: chain.certificates, at: TestData.verificationTime)
        }
        #expect(untrusted == .snpReportNotVerified(.untrustedRoot(subject: "ARK-Emulated")))
        let optIn = AzureHCLVerifier(snpVerifier: SNPVerifier(trustedRoots: [.emulated(chain)]))
        let verified = try optIn.verify(report, certificates: chain.certificates, at: TestData.verificationTime)
        #expect(verified.root == "emulated (untrusted)")
        #expect(verified.attestationKey.certificatePublicKey == TPMVerifyingKey.rsa(ak.publicKey).certificatePublicKey)

        let message = Array("a TPMS_ATTEST stand-in".utf8)
        let signature = try ak.signature(for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5)
        try verified.attestationKey.verify(signature: .azureRSASSA(Array(signature.rawRepresentation)), message: message)
    }

    @Test("The builder refuses a hardware report that does not bind its claims, or a buffer too small")
    func builderRefusals() throws {
        let builder = HCLReportBuilder(runtimeClaims: try claims())
        let unbound = try chain.signReport(EmulatedReportContents())
        guard case .reportDataMismatch = azureError({ () throws(AzureCVMError) in try builder.build(hardwareReport: .snp(unbound)) }) else {
            Issue.record("an unbound report was built")
            return
        }
        var small = builder
        small.nvIndexSize = 2048
        let bound = try chain.signReport(EmulatedReportContents(reportData: try builder.reportData()))
        #expect(azureError { () throws(AzureCVMError) in try small.build(hardwareReport: .snp(bound)) }.map { error in
            if case .builderInvalid = error { true } else { false }
        } == true)
        var unpadded = builder
        unpadded.nvIndexSize = nil
        let report = try unpadded.build(hardwareReport: .snp(bound))
        #expect(report.bytes.count == Int(report.header.reportSize))
    }
}
