import Foundation
import SEVSNP
import TestSupport
import Testing

@Suite("SEV-SNP report verification")
struct SNPVerifierTests {
    let verifier = SNPVerifier()

    func milanChain() throws -> SNPCertificateChain {
        let askArk = try TestData.milanASKARK
        return SNPCertificateChain(endorsementKey: try TestData.milanVCEK, intermediate: askArk[0], root: askArk[1])
    }

    @Test("The genuine Milan report verifies with its real chain")
    func milanVerifies() throws {
        let report = try SNPReport(bytes: try TestData.milanReport)
        let verified = try verifier.verify(report, certificates: try milanChain(), at: TestData.verificationTime)
        #expect(verified.root == "AMD ARK-Milan")
        #expect(verified.product == .milan)
        #expect(verified.reportedTCB == TCBComponents(bootloader: 2, tee: 0, snp: 5, microcode: 0x44))
        #expect(verified.verificationTime == TestData.verificationTime)
    }

    @Test("With only the VCEK, the embedded AMD ASK and ARK complete the chain")
    func milanVerifiesWithEmbeddedChain() throws {
        let report = try SNPReport(bytes: try TestData.milanReport)
        let chain = SNPCertificateChain(endorsementKey: try TestData.milanVCEK)
        #expect(try verifier.verify(report, certificates: chain, at: TestData.verificationTime).root == "AMD ARK-Milan")
    }

    @Test("The embedded Milan ARK, ASK and ASVK are the certificates in the shared fixtures")
    func embeddedMatchesFixtures() throws {
        let askArk = try TestData.milanASKARK
        let asvkArk = try AMDCertificate.certificates(pem: try TestData.text("snp/amd-milan-asvk-ark.pem"))
        #expect(SNPTrustAnchor.amdMilan.root == askArk[1])
        #expect(SNPTrustAnchor.amdMilan.intermediates == [askArk[0], asvkArk[0]])
        #expect(SNPTrustAnchor.amd.map(\.name) == ["AMD ARK-Milan", "AMD ARK-Genoa", "AMD ARK-Turin"])
        #expect(SNPVerifier().trustedRoots == SNPTrustAnchor.amd)
    }

    /// The error flipping the low bit of signed byte `offset` of the Milan report must produce,
    /// from the ATTESTATION_REPORT table: reserved ranges are parse errors, everything else breaks
    /// the signature.
    static func expectedFlipError(at offset: Int) -> SNPError {
        switch offset {
        case 0x01...0x03: return .unsupportedVersion(2 ^ (1 << (8 * UInt32(offset))))
        case 0x34...0x37: return .unsupportedSignatureAlgorithm(1 ^ (1 << (8 * UInt32(offset - 0x34))))
        case 0x0C...0x0F: return .reservedFieldNotZero(field: "POLICY bits 63:26", offset: offset)
        case 0x41...0x47: return .reservedFieldNotZero(field: "PLATFORM_INFO bits 63:8", offset: offset)
        case 0x49...0x4B: return .reservedFieldNotZero(field: "0x048 bits 31:5", offset: offset)
        case 0x4C...0x4F: return .reservedFieldNotZero(field: "RESERVED 0x04C", offset: offset)
        case 0x188...0x19F: return .reservedFieldNotZero(field: "RESERVED 0x188", offset: offset)
        case 0x1EB: return .reservedFieldNotZero(field: "RESERVED after CURRENT_MAJOR", offset: offset)
        case 0x1EF: return .reservedFieldNotZero(field: "RESERVED after COMMITTED_MAJOR", offset: offset)
        case 0x1F8...0x29F: return .reservedFieldNotZero(field: "RESERVED 0x1F8", offset: offset)
        default: return .reportSignatureInvalid
        }
    }

    func parseAndVerify(_ bytes: [UInt8], chain: SNPCertificateChain) throws(SNPError) {
        _ = try verifier.verify(try SNPReport(bytes: bytes), certificates: chain, at: TestData.verificationTime)
    }

    @Test("Flipping any byte of the signed area fails with a precise reason")
    func flipSignedArea() throws {
        let original = try TestData.milanReport
        let chain = try milanChain()
        for offset in 0..<SNPReport.signedSize {
            var bytes = original
            bytes[offset] ^= 0x01
            #expect(throws: Self.expectedFlipError(at: offset), "offset 0x\(String(offset, radix: 16))") {
                try parseAndVerify(bytes, chain: chain)
            }
        }
    }

    @Test("Flipping any byte of R or S fails the signature; their zero padding is checked at parse")
    func flipSignature() throws {
        let original = try TestData.milanReport
        let chain = try milanChain()
        for offset in SNPReport.signedSize..<(SNPReport.signedSize + 144) {
            var bytes = original
            bytes[offset] ^= 0x80
            let padding = (offset - SNPReport.signedSize) % 72 >= 48
            let expected: SNPError = padding
                ? .reservedFieldNotZero(field: offset < 0x2E8 ? "SIGNATURE.R padding" : "SIGNATURE.S padding", offset: offset)
                : .reportSignatureInvalid
            #expect(throws: expected, "offset 0x\(String(offset, radix: 16))") { try parseAndVerify(bytes, chain: chain) }
        }
    }

    /// Copies of `certificate` with one byte of its 512-byte RSA signature (the DER's tail) flipped.
    static func signatureFlips(of certificate: AMDCertificate) throws -> [AMDCertificate] {
        let der = certificate.derBytes
        return try (der.count - 512..<der.count).map { offset in
            var bytes = der
            bytes[offset] ^= 0x01
            return try AMDCertificate(derEncoded: bytes)
        }
    }

    @Test("Flipping any byte of the VCEK's or ASK's signature, or of the ARK, fails naming the certificate")
    func flipCertificateSignatures() throws {
        let report = try SNPReport(bytes: try TestData.milanReport)
        let good = try milanChain()
        for vcek in try Self.signatureFlips(of: good.endorsementKey!) {
            var chain = good
            chain.endorsementKey = vcek
            #expect(throws: SNPError.certificateSignatureInvalid(subject: "SEV-VCEK", issuer: "SEV-Milan")) {
                try verifier.verify(report, certificates: chain, at: TestData.verificationTime)
            }
        }
        for ask in try Self.signatureFlips(of: good.intermediate!) {
            var chain = good
            chain.intermediate = ask
            #expect(throws: SNPError.certificateSignatureInvalid(subject: "SEV-Milan", issuer: "ARK-Milan")) {
                try verifier.verify(report, certificates: chain, at: TestData.verificationTime)
            }
        }
        for ark in try Self.signatureFlips(of: good.root!) {
            var chain = good
            chain.root = ark
            #expect(throws: SNPError.untrustedRoot(subject: "ARK-Milan")) {
                try verifier.verify(report, certificates: chain, at: TestData.verificationTime)
            }
        }
    }

    @Test("Certificates must be valid at the verification time", arguments: ["2021-06-01T00:00:00Z", "2030-01-01T00:00:00Z"])
    func validity(_ time: String) throws {
        let report = try SNPReport(bytes: try TestData.milanReport)
        let at = ISO8601DateFormatter().date(from: time)!
        #expect {
            try verifier.verify(report, certificates: try milanChain(), at: at)
        } throws: { error in
            guard case .certificateNotValidAtTime(let subject, let when, _, _) = error as? SNPError else { return false }
            return subject == "SEV-VCEK" && when == at
        }
    }

    @Test("Roots outside the trusted list are refused")
    func untrustedRoot() throws {
        let report = try SNPReport(bytes: try TestData.milanReport)
        let genoaOnly = SNPVerifier(trustedRoots: [.amdGenoa])
        #expect(throws: SNPError.untrustedRoot(subject: "ARK-Milan")) {
            try genoaOnly.verify(report, certificates: try milanChain(), at: TestData.verificationTime)
        }
        #expect(throws: SNPError.missingCertificate(role: "issuer SEV-Milan")) {
            try genoaOnly.verify(report, certificates: SNPCertificateChain(endorsementKey: try TestData.milanVCEK),
                                 at: TestData.verificationTime)
        }
    }

    @Test("A trust anchor's root must be self-signed")
    func anchorMustBeSelfSigned() throws {
        let askArk = try TestData.milanASKARK
        #expect(throws: SNPError.certificateSignatureInvalid(subject: "SEV-Milan", issuer: "SEV-Milan")) {
            try SNPTrustAnchor(name: "ASK as root", product: .milan, root: askArk[0], intermediates: [])
        }
    }

    @Test("A product contradicting the root is refused")
    func productMismatch() throws {
        let report = try SNPReport(bytes: try TestData.milanReport)
        #expect(throws: SNPError.productMismatch(expected: .milan, actual: .genoa)) {
            try verifier.verify(report, certificates: try milanChain(), at: TestData.verificationTime, product: .genoa)
        }
    }

    @Test("The VCEK of another chip does not verify the report")
    func wrongVCEK() throws {
        let report = try SNPReport(bytes: try TestData.milanReport)
        let other = try TestData.azureCases[1].vcek!
        #expect(throws: SNPError.reportSignatureInvalid) {
            try verifier.verify(report, certificates: SNPCertificateChain(endorsementKey: other), at: TestData.verificationTime)
        }
    }

    @Test("An ASK presented as the endorsement key is refused")
    func wrongEndorsementKind() throws {
        let report = try SNPReport(bytes: try TestData.milanReport)
        let ask = try TestData.milanASKARK[0]
        #expect(throws: SNPError.signingKeyMismatch(report: .vcek, certificate: "SEV-Milan")) {
            try verifier.verify(report, certificates: SNPCertificateChain(endorsementKey: ask), at: TestData.verificationTime)
        }
        #expect(throws: SNPError.missingCertificate(role: "VCEK")) {
            try verifier.verify(report, certificates: SNPCertificateChain(), at: TestData.verificationTime)
        }
    }

    @Test("Azure reports with a VCEK verify through the embedded AMD chain",
          arguments: TestData.azureCases.filter { $0.vcekFile != nil })
    func azureVerifies(_ azure: TestData.AzureCase) throws {
        let report = try SNPReport(bytes: try azure.report)
        let chain = SNPCertificateChain(endorsementKey: try azure.vcek)
        let verified = try verifier.verify(report, certificates: chain, at: TestData.verificationTime)
        let genoa = azure.directory.contains("genoa")
        #expect(verified.root == (genoa ? "AMD ARK-Genoa" : "AMD ARK-Milan"))
        #expect(verified.product == (genoa ? .genoa : .milan))
    }

    @Test("A caller's own anchor is trusted only when passed in, and names the root")
    func explicitAnchor() throws {
        let askArk = try TestData.milanASKARK
        let lab = try SNPTrustAnchor(name: "Lab ARK", product: .milan, root: askArk[1], intermediates: [askArk[0]])
        let report = try SNPReport(bytes: try TestData.milanReport)
        let chain = SNPCertificateChain(endorsementKey: try TestData.milanVCEK)
        #expect(try SNPVerifier(trustedRoots: [lab]).verify(report, certificates: chain, at: TestData.verificationTime).root == "Lab ARK")
        #expect(!SNPTrustAnchor.amd.map(\.name).contains("Lab ARK"))
    }

    @Test("SIGNING_KEY decides which certificate may sign: VLEK needs a VLEK, none cannot verify")
    func signingKeySelector() throws {
        var bytes = try TestData.milanReport
        bytes[0x48] = 1 << 2
        let chain = SNPCertificateChain(endorsementKey: try TestData.milanVCEK)
        #expect(throws: SNPError.signingKeyMismatch(report: .vlek, certificate: "SEV-VCEK")) {
            try parseAndVerify(bytes, chain: chain)
        }
        bytes[0x48] = 7 << 2
        #expect(throws: SNPError.noSigningKey) { try parseAndVerify(bytes, chain: chain) }
    }
}


@Suite("AMD certificate decoding")
struct AMDCertificateTests {
    /// The VCEK's DER with every RSASSA-PSS `saltLength [2] INTEGER 48` replaced by `salt`.
    static func vcek(salt: UInt8, occurrences: Int) throws -> [UInt8] {
        var der = try TestData.milanVCEK.derBytes
        let pattern: [UInt8] = [0xA2, 0x03, 0x02, 0x01, 0x30]
        var replaced = 0
        for index in 0...(der.count - pattern.count) where replaced < occurrences && Array(der[index..<index + 5]) == pattern {
            der[index + 4] = salt
            replaced += 1
        }
        return der
    }

    @Test("The VCEK with serial number 0 decodes with its subject, issuer and validity")
    func vcekFields() throws {
        let vcek = try TestData.milanVCEK
        #expect(vcek.commonName == "SEV-VCEK")
        #expect(vcek.issuer.description.contains("CN=SEV-Milan"))
        #expect(vcek.notValidBefore == ISO8601DateFormatter().date(from: "2022-09-24T00:55:28Z"))
        #expect(vcek.notValidAfter == ISO8601DateFormatter().date(from: "2029-09-24T00:55:28Z"))
    }

    @Test("Only RSASSA-PSS with SHA-384 and a 48-byte salt is accepted, and both algorithm fields must agree")
    func pssProfile() throws {
        #expect(throws: SNPError.certificateAlgorithmUnsupported(
            subject: "SEV-VCEK", reason: "the signed and the outer signature algorithms differ")) {
            try AMDCertificate(derEncoded: try Self.vcek(salt: 0x20, occurrences: 1))
        }
        #expect {
            try AMDCertificate(derEncoded: try Self.vcek(salt: 0x20, occurrences: 2))
        } throws: { error in
            guard case .certificateAlgorithmUnsupported(let subject, let reason) = error as? SNPError else { return false }
            return subject == "SEV-VCEK" && reason.contains("salt 32")
        }
    }

    @Test("Garbage is reported as a malformed certificate naming its role")
    func garbage() {
        #expect {
            try AMDCertificate(derEncoded: [0x30, 0x03, 0x02, 0x01, 0x00], role: "VCEK")
        } throws: { error in
            if case .certificateMalformed(role: "VCEK", _) = error as? SNPError { return true }
            return false
        }
    }
}
