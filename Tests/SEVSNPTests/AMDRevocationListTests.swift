import Foundation
import SEVSNP
import TestSupport
import Testing
import X509

@Suite("AMD certificate revocation lists")
struct AMDRevocationListTests {
    let chain: EmulatedSNPChain
    let report: SNPReport

    init() throws {
        self.chain = try EmulatedSNPChain()
        self.report = try chain.signReport(EmulatedReportContents())
    }

    func verify(with lists: [AMDRevocationList]) throws(SNPError) -> VerifiedSNPReport {
        try SNPVerifier(trustedRoots: [.emulated(chain)], revocationLists: lists)
            .verify(report, certificates: chain.certificates, at: TestData.verificationTime)
    }

    @Test("Serial numbers read from AMD's certificates are those openssl prints")
    func serialNumbers() throws {
        // `openssl x509 -serial` on amd-milan-ask-ark.pem: ASK 0x10001; KDS VCEKs have serial 0.
        #expect(try TestData.milanASKARK[0].serialNumber == Certificate.SerialNumber(bytes: [0x01, 0x00, 0x01]))
        #expect(try TestData.milanVCEK.serialNumber == Certificate.SerialNumber(bytes: [0x00]))
    }

    @Test("A chain whose ASK the ARK's CRL lists is refused as revoked")
    func revokedASK() throws {
        let list = try chain.revocationList(revoking: [chain.ask])
        #expect(list.revokedSerialNumbers == [chain.ask.serialNumber])
        #expect(throws: SNPError.revoked(subject: "SEV-Emulated", serialNumber: "\(chain.ask.serialNumber)", issuer: "ARK-Emulated")) {
            _ = try verify(with: [list])
        }
    }

    @Test("A CRL that lists nothing of the chain, or none at all, lets it verify")
    func notRevoked() throws {
        let other = try EmulatedSNPChain()
        #expect(try verify(with: [try chain.revocationList(revoking: [other.ask])]).root == "emulated (untrusted)")
        #expect(try verify(with: [try chain.revocationList(revoking: [])]).root == "emulated (untrusted)")
    }

    @Test("A CRL issued in the root's name but signed by another key, or altered, is refused")
    func forgedList() throws {
        let impostor = try EmulatedSNPChain()
        #expect(throws: SNPError.revocationListSignatureInvalid(issuer: "ARK-Emulated", signer: "ARK-Emulated")) {
            _ = try verify(with: [try impostor.revocationList(revoking: [])])
        }
        var bytes = try chain.revocationList(revoking: [chain.ask]).derBytes
        let serial = Array(chain.ask.serialNumber.bytes)
        let at = try #require((0...(bytes.count - serial.count)).first { Array(bytes[$0..<($0 + serial.count)]) == serial })
        bytes[at + serial.count - 1] ^= 1
        let altered = try AMDRevocationList(derEncoded: bytes)
        #expect(throws: SNPError.revocationListSignatureInvalid(issuer: "ARK-Emulated", signer: "ARK-Emulated")) {
            try altered.requireSigned(by: chain.ark)
        }
        #expect(throws: SNPError.self) { try AMDRevocationList(derEncoded: Array(bytes.prefix(40))) }
    }

    @Test("openssl reads the emulated CRLs, verifies them with the ARK and lists the ASK's serial")
    func opensslAgrees() throws {
        let openssl = URL(fileURLWithPath: "/usr/bin/openssl")
        try MeasureOracle.withScratchDirectory { directory in
            let file = { (name: String) in directory.appendingPathComponent(name).path }
            let pem = "-----BEGIN CERTIFICATE-----\n" + Data(chain.ark.derBytes).base64EncodedString(options: .lineLength64Characters)
                + "\n-----END CERTIFICATE-----\n"
            try pem.write(toFile: file("ark.pem"), atomically: true, encoding: .utf8)
            try Data(chain.ask.derBytes).write(to: URL(fileURLWithPath: file("ask.der")))
            let (_, serialLine, _) = try MeasureOracle.execute(openssl, ["x509", "-inform", "DER", "-in", file("ask.der"), "-noout", "-serial"], in: nil)
            let askSerial = try #require(serialLine.split(separator: "=").last.map(String.init))
            for (name, revoked) in [("revoked", [chain.ask]), ("empty", [])] {
                try Data(try chain.revocationList(revoking: revoked).derBytes).write(to: URL(fileURLWithPath: file("\(name).crl")))
                let (status, text, complaint) = try MeasureOracle.execute(
                    openssl, ["crl", "-inform", "DER", "-in", file("\(name).crl"), "-text", "-noout", "-CAfile", file("ark.pem")], in: nil)
                try #require(status == 0, "openssl crl refused the \(name) CRL: \(complaint)")
                #expect(complaint.contains("verify OK"), "\(complaint)")
                #expect(text.contains("Version 2 (0x1)"))
                #expect(text.contains("Signature Algorithm: rsassaPss"))
                #expect(text.contains("Salt Length: 0x30"))
                #expect(text.contains("CN = ARK-Emulated"))
                #expect(text.contains("Serial Number: \(askSerial)") == !revoked.isEmpty)
            }
        }
    }

    @Test("A CRL that openssl ca signs with RSA-PSS, with extensions and two revoked serials, reads as openssl wrote it")
    func opensslWrittenList() throws {
        let openssl = URL(fileURLWithPath: "/usr/bin/openssl")
        try MeasureOracle.withScratchDirectory { directory in
            let file = { (name: String) in directory.appendingPathComponent(name).path }
            try "V\t491231235959Z\t\t1234\tunknown\t/CN=a\nR\t491231235959Z\t240101000000Z\t01\tunknown\t/CN=b\nR\t491231235959Z\t240101000000Z\tABCDEF\tunknown\t/CN=c\n"
                .write(toFile: file("index"), atomically: true, encoding: .utf8)
            try "01\n".write(toFile: file("crlnumber"), atomically: true, encoding: .utf8)
            try "[ca]\ndefault_ca=d\n[d]\ndatabase=\(file("index"))\ncrlnumber=\(file("crlnumber"))\ndefault_md=sha384\ndefault_crl_days=30\n"
                .write(toFile: file("ca.cnf"), atomically: true, encoding: .utf8)
            let steps = [
                ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", file("key.pem"), "-out", file("ca.pem"), "-subj", "/CN=ARK-OpenSSL", "-days", "2"],
                ["ca", "-config", file("ca.cnf"), "-gencrl", "-keyfile", file("key.pem"), "-cert", file("ca.pem"), "-out", file("list.crl"),
                 "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:48", "-sigopt", "rsa_mgf1_md:sha384"],
            ]
            for step in steps {
                let (status, _, complaint) = try MeasureOracle.execute(openssl, step, in: nil)
                try #require(status == 0, "openssl \(step[0]) failed: \(complaint)")
            }
            let list = try AMDRevocationList(derOrPEM: try Data(contentsOf: URL(fileURLWithPath: file("list.crl"))))
            #expect(list.issuerName == "ARK-OpenSSL")
            #expect(list.revokedSerialNumbers == [Certificate.SerialNumber(bytes: [0x01]), Certificate.SerialNumber(bytes: [0x00, 0xAB, 0xCD, 0xEF])])
            let nextUpdate = try #require(list.nextUpdate)
            #expect(abs(nextUpdate.timeIntervalSince(list.thisUpdate) - 30 * 86_400) < 2)
        }
    }
}
