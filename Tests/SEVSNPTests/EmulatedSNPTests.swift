import Crypto
import Foundation
import SEVSNP
import TestSupport
import Testing

@Suite("Emulated SEV-SNP signer")
struct EmulatedSNPTests {
    let chain: EmulatedSNPChain
    let contents = EmulatedReportContents(
        reportData: (0..<64).map { UInt8($0) }, measurement: Array(repeating: 0xAB, count: 48),
        hostData: Array(repeating: 0x5C, count: 32))

    init() throws {
        self.chain = try EmulatedSNPChain()
    }

    @Test("An emulated report verifies only under the opt-in anchor, which names itself untrusted")
    func verifiesWithOptIn() throws {
        let report = try chain.signReport(contents)
        let verified = try SNPVerifier(trustedRoots: [.emulated(chain)])
            .verify(report, certificates: chain.certificates, at: TestData.verificationTime)
        #expect(verified.root == "emulated (untrusted)")
        #expect(verified.product == .milan)
        #expect(verified.reportedTCB == TCBComponents(bootloader: 4, tee: 0, snp: 22, microcode: 213))
        #expect(verified.report.reportData == contents.reportData)
        #expect(verified.report.measurement == contents.measurement)
        #expect(verified.report.hostData == contents.hostData)
        #expect(verified.report.chipID == chain.chipID)
    }

    @Test("The default verifier refuses an emulated report as untrusted")
    func defaultVerifierRefuses() throws {
        let report = try chain.signReport(contents)
        #expect(!SNPTrustAnchor.amd.contains(.emulated(chain)))
        #expect(throws: SNPError.untrustedRoot(subject: "ARK-Emulated")) {
            _ = try SNPVerifier().verify(report, certificates: chain.certificates, at: TestData.verificationTime)
        }
        #expect(throws: SNPError.untrustedRoot(subject: "ARK-Emulated")) {
            let withoutRoot = SNPCertificateChain(endorsementKey: chain.vcek, intermediate: chain.ask)
            _ = try SNPVerifier().verify(report, certificates: withoutRoot, at: TestData.verificationTime)
        }
    }

    @Test("A tampered report, or another emulated chain's VCEK, fails")
    func tamperingFails() throws {
        let verifier = SNPVerifier(trustedRoots: [.emulated(chain)])
        var bytes = try chain.signReport(contents).bytes
        bytes[0x50] ^= 1
        #expect(throws: SNPError.reportSignatureInvalid) {
            _ = try verifier.verify(try SNPReport(bytes: bytes), certificates: chain.certificates, at: TestData.verificationTime)
        }
        let other = try EmulatedSNPChain(chipID: chain.chipID)
        let foreign = SNPCertificateChain(endorsementKey: other.vcek, intermediate: other.ask, root: chain.ark)
        #expect(throws: SNPError.certificateSignatureInvalid(subject: "SEV-Emulated", issuer: "ARK-Emulated")) {
            _ = try verifier.verify(try other.signReport(contents), certificates: foreign, at: TestData.verificationTime)
        }
    }

    @Test("A Turin chain certifies fmcSPL and the first 8 bytes of CHIP_ID")
    func turin() throws {
        let turin = try EmulatedSNPChain(product: .turin, tcb: TCBComponents(fmc: 1, bootloader: 2, tee: 3, snp: 4, microcode: 5))
        let report = try turin.signReport(contents)
        #expect(report.product == .turin)
        // Turin TCB_VERSION: FMC, boot loader, TEE, SNP in bytes 0–3, microcode in byte 7 (ABI Table 3).
        #expect(report.reportedTCB.rawValue == 0x0500_0000_0403_0201)
        let verified = try SNPVerifier(trustedRoots: [.emulated(turin)])
            .verify(report, certificates: turin.certificates, at: TestData.verificationTime)
        #expect(verified.reportedTCB.fmc == 1)
    }

    @Test("openssl accepts the emulated certificates, their chain and the report signature")
    func opensslAgrees() throws {
        let openssl = URL(fileURLWithPath: "/usr/bin/openssl")
        let report = try chain.signReport(contents)
        try MeasureOracle.withScratchDirectory { directory in
            let file = { (name: String) in directory.appendingPathComponent(name).path }
            for (name, certificate) in [("ark", chain.ark), ("ask", chain.ask), ("vcek", chain.vcek)] {
                try Data(certificate.derBytes).write(to: URL(fileURLWithPath: file("\(name).der")))
                let pem = "-----BEGIN CERTIFICATE-----\n"
                    + Data(certificate.derBytes).base64EncodedString(options: .lineLength64Characters)
                    + "\n-----END CERTIFICATE-----\n"
                try pem.write(toFile: file("\(name).pem"), atomically: true, encoding: .utf8)
                let (status, text, complaint) = try MeasureOracle.execute(openssl, ["x509", "-inform", "DER", "-in", file("\(name).der"), "-text", "-noout"], in: nil)
                try #require(status == 0, "openssl x509 refused \(name): \(complaint)")
                #expect(text.contains("Signature Algorithm: rsassaPss"))
                #expect(text.contains("Hash Algorithm: sha384"))
                #expect(text.contains("Salt Length: 0x30"))
            }
            let (_, vcekText, _) = try MeasureOracle.execute(openssl, ["x509", "-inform", "DER", "-in", file("vcek.der"), "-text", "-noout"], in: nil)
            #expect(vcekText.contains("Subject: OU = Engineering, C = US, L = Santa Clara, ST = CA, O = Advanced Micro Devices (emulated), CN = SEV-VCEK"))
            #expect(vcekText.contains("Issuer: OU = Engineering, C = US, L = Santa Clara, ST = CA, O = Advanced Micro Devices (emulated), CN = SEV-Emulated"))
            #expect(vcekText.contains("ASN1 OID: secp384r1"))
            #expect(vcekText.contains("Serial Number: 0 (0x0)"))
            for oid in ["1.3.6.1.4.1.3704.1.3.1", "1.3.6.1.4.1.3704.1.3.8", "1.3.6.1.4.1.3704.1.4", "1.3.6.1.4.1.3704.1.2"] {
                #expect(vcekText.contains(oid), "VCEK lacks \(oid)")
            }
            let verify = try MeasureOracle.execute(openssl, ["verify", "-CAfile", file("ark.pem"), "-untrusted", file("ask.pem"), file("vcek.pem")], in: nil)
            #expect(verify.0 == 0 && verify.1.hasSuffix("vcek.pem: OK"), "\(verify.2)")

            // The report: r and s are 48-byte little-endian integers at 0x2A0 and 0x2E8.
            let bytes = report.bytes
            let r = Array(bytes[0x2A0..<0x2D0].reversed()), s = Array(bytes[0x2E8..<0x318].reversed())
            let signature = try P384.Signing.ECDSASignature(rawRepresentation: r + s)
            try Data(signature.derRepresentation).write(to: URL(fileURLWithPath: file("report.sig")))
            try Data(bytes[0..<0x2A0]).write(to: URL(fileURLWithPath: file("report.body")))
            let (_, key, _) = try MeasureOracle.execute(openssl, ["x509", "-inform", "DER", "-in", file("vcek.der"), "-pubkey", "-noout"], in: nil)
            try (key + "\n").write(toFile: file("vcek.pub"), atomically: true, encoding: .utf8)
            let check = try MeasureOracle.execute(
                openssl, ["dgst", "-sha384", "-verify", file("vcek.pub"), "-signature", file("report.sig"), file("report.body")], in: nil)
            #expect(check.1 == "Verified OK", "\(check.2)")
        }
    }
}
