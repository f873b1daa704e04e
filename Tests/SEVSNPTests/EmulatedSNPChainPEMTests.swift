import Crypto
import Foundation
@testable import SEVSNP
import SwiftASN1
import TestSupport
import Testing
import X509
import _CryptoExtras

/// An emulated chain saved with `pemRepresentation` and restored with `init(pemRepresentation:)`:
/// the restored chip must sign reports the original chain's anchor accepts, and every damaged or
/// mismatched file must be refused with the error that names what is wrong.
@Suite("Emulated SEV-SNP chain saved as PEM")
struct EmulatedSNPChainPEMTests {
    let chain: EmulatedSNPChain
    let pem: String
    let contents = EmulatedReportContents(reportData: Array(repeating: 0x11, count: 64), measurement: Array(repeating: 0xAB, count: 48))

    init() throws {
        self.chain = try EmulatedSNPChain(tcb: TCBComponents(bootloader: 3, tee: 1, snp: 20, microcode: 209))
        self.pem = chain.pemRepresentation
    }

    @Test("The restored chain has the same certificates, chip and TCB, and writes the same file")
    func roundTrip() throws {
        let restored = try EmulatedSNPChain(pemRepresentation: pem)
        #expect(restored.ark == chain.ark && restored.ask == chain.ask && restored.vcek == chain.vcek)
        #expect(restored.product == .milan)
        #expect(restored.chipID == chain.chipID)
        #expect(restored.tcb == TCBComponents(bootloader: 3, tee: 1, snp: 20, microcode: 209))
        #expect(restored.pemRepresentation == pem)
        #expect(pem.hasPrefix("CVMKit emulated AMD SEV-SNP host: EMULATED TEST KEYS, NOT AMD'S."))
        #expect(pem.components(separatedBy: "EMULATED TEST KEY:").count == 4)
    }

    @Test("Reports the restored chip signs verify under the original chain's anchor, for the original chip and TCB")
    func restoredSignsForOriginalAnchor() throws {
        let restored = try EmulatedSNPChain(pemRepresentation: pem)
        let verified = try SNPVerifier(trustedRoots: [.emulated(chain)])
            .verify(try restored.signReport(contents), certificates: restored.certificates, at: TestData.verificationTime)
        #expect(verified.root == SNPTrustAnchor.emulatedName)
        #expect(verified.report.chipID == chain.chipID)
        #expect(verified.reportedTCB == chain.tcb)
        #expect(verified.report.measurement == contents.measurement)
    }

    @Test("A Turin chain restores its FMC SPL and the 8 certified bytes of CHIP_ID, the rest zero")
    func turin() throws {
        let turin = try EmulatedSNPChain(product: .turin, tcb: TCBComponents(fmc: 1, bootloader: 2, tee: 3, snp: 4, microcode: 5))
        let restored = try EmulatedSNPChain(pemRepresentation: turin.pemRepresentation)
        #expect(restored.product == .turin)
        #expect(restored.tcb == turin.tcb)
        #expect(restored.chipID == Array(turin.chipID.prefix(8)) + [UInt8](repeating: 0, count: 56))
        let verified = try SNPVerifier(trustedRoots: [.emulated(turin)])
            .verify(try restored.signReport(contents), certificates: restored.certificates, at: TestData.verificationTime)
        #expect(verified.reportedTCB.fmc == 1)
    }

    @Test("openssl reads the file past its explanatory text, and its first key is the first certificate's")
    func opensslReadsTheFile() throws {
        let openssl = URL(fileURLWithPath: "/usr/bin/openssl")
        try MeasureOracle.withScratchDirectory { directory in
            let file = directory.appendingPathComponent("host.pem").path
            try pem.write(toFile: file, atomically: true, encoding: .utf8)
            let subject = try MeasureOracle.execute(openssl, ["x509", "-in", file, "-noout", "-subject"], in: nil)
            #expect(subject.0 == 0 && subject.1.hasSuffix("CN = ARK-Emulated"), "\(subject)")
            let certificateKey = try MeasureOracle.execute(openssl, ["x509", "-in", file, "-noout", "-pubkey"], in: nil)
            let privateKey = try MeasureOracle.execute(openssl, ["pkey", "-in", file, "-pubout"], in: nil)
            #expect(privateKey.0 == 0, "\(privateKey.2)")
            #expect(certificateKey.1 == privateKey.1 && certificateKey.1.contains("BEGIN PUBLIC KEY"))
        }
    }

    @Test("A file without exactly the three certificates and then the three keys is malformed")
    func wrongBlocks() throws {
        let blocks = try Self.blocks(pem)
        let variants = [
            "", "not PEM at all",
            Self.text(blocks.dropLast()),
            Self.text(blocks + [blocks[5]]),
            Self.text([blocks[3]] + blocks[1...2] + [blocks[0]] + blocks[4...]),
        ]
        for variant in variants {
            Self.expectMalformed(variant)
        }
        // A truncated block: the base64 of the last key cut short.
        let cut = pem.components(separatedBy: "\n").filter { !$0.isEmpty }
        let truncated = (cut.dropLast(3) + [cut[cut.count - 1]]).joined(separator: "\n")
        Self.expectMalformed(truncated)
    }

    @Test("A bit flipped in a certificate's signed fields, or in its signature, breaks its issuer's signature")
    func tamperedCertificates() throws {
        let blocks = try Self.blocks(pem)
        let expected: [(Int, SNPError)] = [
            (0, .certificateSignatureInvalid(subject: "ARK-Emulated", issuer: "ARK-Emulated")),
            (1, .certificateSignatureInvalid(subject: "SEV-Emulated", issuer: "ARK-Emulated")),
            (2, .certificateSignatureInvalid(subject: "SEV-VCEK", issuer: "SEV-Emulated")),
        ]
        for (index, error) in expected {
            let certificate = try AMDCertificate(derEncoded: blocks[index].derBytes)
            // The serial number (the VCEK's is 0, so its hwID), then the signature's last byte.
            let signedField = index == 2 ? chain.chipID : certificate.serialNumber.bytes.map { $0 }
            let fieldOffset = try #require(Self.offset(of: signedField, in: blocks[index].derBytes))
            for offset in [fieldOffset + signedField.count - 1, blocks[index].derBytes.count - 1] {
                var der = blocks[index].derBytes
                der[offset] ^= 0x01
                var edited = blocks
                edited[index] = PEMDocument(type: "CERTIFICATE", derBytes: der)
                #expect(throws: error, "certificate \(index), byte \(offset)") { _ = try EmulatedSNPChain(pemRepresentation: Self.text(edited)) }
            }
        }
    }

    @Test("Another chain's certificate, or the ASK and ARK swapped, is refused by the chain's signatures")
    func foreignCertificates() throws {
        let other = try Self.blocks(try EmulatedSNPChain().pemRepresentation)
        let blocks = try Self.blocks(pem)
        let cases: [([PEMDocument], SNPError)] = [
            ([other[0]] + blocks[1...], .certificateSignatureInvalid(subject: "SEV-Emulated", issuer: "ARK-Emulated")),
            ([blocks[0], other[1]] + blocks[2...], .certificateSignatureInvalid(subject: "SEV-Emulated", issuer: "ARK-Emulated")),
            (Array(blocks[0...1]) + [other[2]] + blocks[3...], .certificateSignatureInvalid(subject: "SEV-VCEK", issuer: "SEV-Emulated")),
            ([blocks[1], blocks[0]] + blocks[2...], .certificateSignatureInvalid(subject: "SEV-Emulated", issuer: "SEV-Emulated")),
        ]
        for (edited, error) in cases {
            #expect(throws: error) { _ = try EmulatedSNPChain(pemRepresentation: Self.text(edited)) }
        }
    }

    @Test("Each private key must sign for its own certificate")
    func mismatchedKeys() throws {
        let other = try Self.blocks(try EmulatedSNPChain().pemRepresentation)
        let blocks = try Self.blocks(pem)
        for (index, role) in [(3, "ARK"), (4, "ASK"), (5, "VCEK")] {
            var edited = blocks
            edited[index] = other[index]
            #expect(throws: SNPError.emulatedChainKeyMismatch(role: role)) { _ = try EmulatedSNPChain(pemRepresentation: Self.text(edited)) }
        }
        let swapped = Array(blocks[0...2]) + [blocks[4], blocks[3], blocks[5]]
        #expect(throws: SNPError.emulatedChainKeyMismatch(role: "ARK")) { _ = try EmulatedSNPChain(pemRepresentation: Self.text(swapped)) }
        // A P-384 key where an RSA key belongs, and the other way round, does not even decode.
        let p384InRSASlot = Array(blocks[0...2]) + [blocks[5], blocks[4], blocks[5]]
        Self.expectMalformed(Self.text(p384InRSASlot))
        let rsaInVCEKSlot = Array(blocks[0...4]) + [blocks[3]]
        Self.expectMalformed(Self.text(rsaInVCEKSlot))
    }

    @Test("A VCEK whose AMD extensions are missing or out of range is refused, naming the extension")
    func vcekExtensions() throws {
        let productName = Certificate.Extension(oid: EndorsementExtensions.productName, critical: false, value: try Self.der(ASN1IA5String("Rome-B0")))
        let spl = { (arc: UInt, value: Int) throws in
            Certificate.Extension(oid: EndorsementExtensions.spl(arc), critical: false, value: try Self.der(value))
        }
        let hwid = { (bytes: [UInt8]) in Certificate.Extension(oid: EndorsementExtensions.hardwareID, critical: false, value: ArraySlice(bytes)) }
        let complete = [try spl(1, 3), try spl(2, 1), try spl(3, 20), try spl(8, 209), hwid(chain.chipID)]
        let milan = Certificate.Extension(oid: EndorsementExtensions.productName, critical: false, value: try Self.der(ASN1IA5String("Milan-B0")))
        let cases: [([Certificate.Extension], SNPError)] = [
            ([productName] + complete, .endorsementExtensionInvalid(oid: "1.3.6.1.4.1.3704.1.2", reason: "unknown productName \"Rome-B0\"")),
            (complete, .endorsementExtensionInvalid(oid: "1.3.6.1.4.1.3704.1.2", reason: "it is missing")),
            ([milan] + complete.dropLast(), .endorsementExtensionInvalid(oid: "1.3.6.1.4.1.3704.1.4", reason: "it is missing")),
            ([milan] + complete.dropLast() + [hwid(Array(chain.chipID.prefix(32)))],
             .endorsementExtensionInvalid(oid: "1.3.6.1.4.1.3704.1.4", reason: "hwID is 32 bytes; a Milan VCEK certifies 64")),
            ([milan, try spl(1, 300)] + complete.dropFirst(),
             .endorsementExtensionInvalid(oid: "1.3.6.1.4.1.3704.1.3.1", reason: "the SPL 300 is not 0-255")),
            ([milan] + complete.filter { $0.oid != EndorsementExtensions.spl(3) },
             .endorsementExtensionInvalid(oid: "1.3.6.1.4.1.3704.1.3.3", reason: "it is missing")),
        ]
        let writer = EmulatedCertificateWriter(issuer: chain.ask.subject, issuerKey: chain.askKey)
        for (extensions, error) in cases {
            let vcek = try writer.certificate(.init(
                serialNumber: [0], subject: chain.vcek.subject, publicKey: chain.vcek.publicKey, extensions: extensions))
            var blocks = try Self.blocks(pem)
            blocks[2] = PEMDocument(type: "CERTIFICATE", derBytes: vcek)
            #expect(throws: error) { _ = try EmulatedSNPChain(pemRepresentation: Self.text(blocks)) }
        }
    }

    /// Expects ``SNPError/emulatedChainMalformed(reason:)``, whatever the reason.
    static func expectMalformed(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: SNPError.self, sourceLocation: sourceLocation) { _ = try EmulatedSNPChain(pemRepresentation: text) }
        // Without an error, #expect has recorded the issue already.
        guard let error else { return }
        if case .emulatedChainMalformed = error { return }
        Issue.record("expected emulatedChainMalformed, got \(error)", sourceLocation: sourceLocation)
    }

    static func blocks(_ pem: String) throws -> [PEMDocument] {
        try PEMDocument.parseMultiple(pemString: pem)
    }

    static func text(_ blocks: some Sequence<PEMDocument>) -> String {
        blocks.map(\.pemString).joined(separator: "\n") + "\n"
    }

    static func der(_ value: some DERSerializable) throws -> ArraySlice<UInt8> {
        var serializer = DER.Serializer()
        try serializer.serialize(value)
        return ArraySlice(serializer.serializedBytes)
    }

    static func offset(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        haystack.indices.first { haystack[$0...].starts(with: needle) }
    }
}
