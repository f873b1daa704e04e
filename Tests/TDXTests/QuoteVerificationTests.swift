import Crypto
import Foundation
import SwiftASN1
import TDX
import TDXTestSupport
import TestSupport
import Testing
import X509

@Suite("TDX quote verification with the real Azure quote")
struct QuoteVerificationTests {
    let verifier = TDXVerifier()

    func verify(_ bytes: [UInt8], at time: Date = TestData.verificationTime) throws(TDXError) -> VerifiedTDXQuote {
        try self.verifier.verify(try TDXQuote(bytes: bytes), at: time)
    }

    @Test("The genuine quote verifies: PCK chain to Intel's root, QE report, binding and quote signature")
    func genuine() throws {
        let verified = try self.verify(try TestData.azureQuote)
        #expect(verified.root == "Intel SGX Root CA")
        #expect(verified.verificationTime == TestData.verificationTime)
        #expect(verified.tcb == nil)
        #expect(verified.revocationListsApplied.isEmpty)
        #expect(verified.pckChain.rootDER == TDXTrustAnchor.intel.rootDER)
    }

    @Test("The embedded Intel SGX Root CA has Intel's published SHA-256 fingerprint and is the quote's root")
    func intelRoot() throws {
        // Published for https://certificates.trustedservices.intel.com/Intel_SGX_Provisioning_Certification_RootCA.cer
        let published = [UInt8](hex: "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3")
        #expect(TDXTrustAnchor.intel.fingerprint == published)
        #expect(Array(SHA256.hash(data: TDXTrustAnchor.intel.rootDER)) == published)
        #expect(TDXTrustAnchor.intel.name == "Intel SGX Root CA")
        let quote = try TDXQuote(bytes: try TestData.azureQuote)
        let chain = try PCKCertificateChain(pem: quote.signatureData.qeReportCertificationData.certificationData.data)
        #expect(Array(SHA256.hash(data: chain.rootDER)) == published)
        #expect(TDXVerifier().trustAnchor == .intel)
    }

    @Test("The PCK certificate's SGX extensions are those `openssl asn1parse` prints")
    func pckExtensions() throws {
        let quote = try TDXQuote(bytes: try TestData.azureQuote)
        let pck = try PCKCertificateChain(pem: quote.signatureData.qeReportCertificationData.certificationData.data).pck.extensions
        #expect(pck.ppid == [UInt8](hex: "a1b0718ffa8e6d55fdaf5eceb03f3c72"))
        #expect(pck.tcb.sgxComponentSVNs == [6, 6, 2, 2, 3, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(pck.tcb.pceSVN == 11)
        #expect(pck.tcb.cpuSVN == [UInt8](hex: "06060202030100030000000000000000"))
        #expect(pck.pceID == [0, 0])
        #expect(pck.fmspc == [UInt8](hex: "00806f050000"))
        #expect(pck.sgxType == .scalable)
        #expect(pck.platformInstanceID == [UInt8](hex: "2ca5dcff6868cccd3b19497deddfa7ff"))
        #expect(pck.configuration?.dynamicPlatform == true)
        #expect(pck.configuration?.cachedKeys == false)
        #expect(pck.configuration?.smtEnabled == true)
    }

    @Test("Certificates are checked at the verification time (validity as `openssl x509 -dates` prints it)")
    func validityPeriods() throws {
        let bytes = try TestData.azureQuote
        let iso = ISO8601DateFormatter()
        let pckFrom = iso.date(from: "2023-09-13T21:00:51Z")!
        let pckTo = iso.date(from: "2030-09-13T21:00:51Z")!
        _ = try self.verify(bytes, at: pckFrom)
        _ = try self.verify(bytes, at: pckTo)
        for time in [pckFrom - 1, pckTo + 1, iso.date(from: "2040-01-01T00:00:00Z")!] {
            #expect(throws: TDXError.certificateNotValidAtTime(subject: "Intel SGX PCK Certificate", time: time, notBefore: pckFrom, notAfter: pckTo)) {
                try self.verify(bytes, at: time)
            }
        }
    }

    /// The error flipping the low bit of byte `offset` must give: parse errors where the header
    /// fixes a value or the QE report reserves bytes, otherwise the check that covers the byte.
    static func expectedFlipError(at offset: Int, in bytes: [UInt8]) -> TDXError {
        func flippedLE(_ start: Int, _ count: Int) -> UInt32 {
            var value = bytes[start..<(start + count)]
            value[offset] ^= 1
            return value.reversed().reduce(0) { $0 << 8 | UInt32($1) }
        }
        let qe = offset - AzureLayout.qeReport
        switch offset {
        case 0..<2:
            let version = UInt16(flippedLE(0, 2))
            return version == 5 ? .unsupportedBodyType(0x0102, offset: 48) : .unsupportedVersion(version)
        case 2..<4: return .unsupportedAttestationKeyType(UInt16(flippedLE(2, 2)))
        case 4..<8: return .unsupportedTEEType(flippedLE(4, 4))
        case 8..<12: return .reservedFieldNotZero(field: "header RESERVED", offset: offset)
        case 12..<28:
            var vendor = Array(bytes[12..<28])
            vendor[offset - 12] ^= 1
            return .unknownQEVendor(vendor)
        case 28..<AzureLayout.signatureDataLength, AzureLayout.signatureData..<AzureLayout.attestationKey:
            return .quoteSignatureInvalid
        case AzureLayout.attestationKey..<AzureLayout.certificationType, AzureLayout.authenticationData..<AzureLayout.nestedType:
            return .qeReportDataMismatch(expected: [], actual: [])
        case AzureLayout.certificationType..<AzureLayout.certificationSize:
            return .unexpectedCertificationDataType(UInt16(flippedLE(764, 2)), offset: 764, expected: 6)
        case AzureLayout.qeReport..<AzureLayout.qeReportSignature where (20..<32).contains(qe):
            return .reservedFieldNotZero(field: "QE report RESERVED1", offset: offset)
        case AzureLayout.qeReport..<AzureLayout.qeReportSignature where (96..<128).contains(qe):
            return .reservedFieldNotZero(field: "QE report RESERVED2", offset: offset)
        case AzureLayout.qeReport..<AzureLayout.qeReportSignature where (160..<192).contains(qe):
            return .reservedFieldNotZero(field: "QE report RESERVED3", offset: offset)
        case AzureLayout.qeReport..<AzureLayout.qeReportSignature where (262..<304).contains(qe):
            return .reservedFieldNotZero(field: "QE report RESERVED4", offset: offset)
        case AzureLayout.qeReport..<AzureLayout.authenticationDataSize:
            return .qeReportSignatureInvalid
        case AzureLayout.nestedType:
            return .missingCertificate(role: "PCK chain (certification data type 5, found type 4)")
        case AzureLayout.nestedType + 1:
            return .unexpectedCertificationDataType(0x0105, offset: 1252, expected: 5)
        default:
            fatalError("offset \(offset) is not covered by this table")
        }
    }

    @Test("Flipping a bit in any signed or binding byte outside the sizes and PEM fails with the precise reason")
    func flips() throws {
        let original = try TestData.azureQuote
        let ranges = [
            0..<AzureLayout.signatureDataLength, AzureLayout.signatureData..<AzureLayout.certificationSize,
            AzureLayout.qeReport..<AzureLayout.authenticationDataSize, AzureLayout.authenticationData..<AzureLayout.nestedSize,
        ]
        for offset in ranges.joined() {
            var bytes = original
            bytes[offset] ^= 1
            let expected = Self.expectedFlipError(at: offset, in: original)
            do {
                _ = try self.verify(bytes)
                Issue.record("offset \(offset): the tampered quote verified")
            } catch {
                if case .qeReportDataMismatch = expected, case .qeReportDataMismatch(let binding, let actual) = error {
                    // The QE report still binds the original key and data; the binding of the
                    // tampered ones differs.
                    #expect(actual == Array(original[(AzureLayout.qeReport + 320)..<(AzureLayout.qeReport + 352)]), "offset \(offset)")
                    #expect(binding != actual, "offset \(offset)")
                } else {
                    #expect(error == expected, "offset \(offset)")
                }
            }
        }
    }

    @Test("A QE report whose REPORTDATA[32..<64] is not zero is refused even with a valid binding and signature")
    func reportDataPadding() throws {
        // Only the PCK key holder can sign a QE report, so this uses the synthetic platform.
        let platform = try SyntheticPlatform()
        let verifier = TDXVerifier(trustAnchor: platform.anchor)
        var spec = SyntheticPlatform.QuoteSpec()
        spec.authenticationData = [9]
        #expect(try verifier.verify(try TDXQuote(bytes: try platform.quote(spec)), at: SyntheticPlatform.time).root == "synthetic test root")
        spec.qeReportDataTail[5] = 1
        #expect(throws: TDXError.qeReportDataNotZeroPadded(offset: 37)) {
            try verifier.verify(try TDXQuote(bytes: try platform.quote(spec)), at: SyntheticPlatform.time)
        }
    }

    @Test("Signatures by the wrong keys are refused: QE report not signed by the PCK key, quote not by the attestation key")
    func wrongKeys() throws {
        let platform = try SyntheticPlatform()
        let verifier = TDXVerifier(trustAnchor: platform.anchor)
        var spec = SyntheticPlatform.QuoteSpec()
        spec.qeReportSigner = P256.Signing.PrivateKey()
        #expect(throws: TDXError.qeReportSignatureInvalid) { try verifier.verify(try TDXQuote(bytes: try platform.quote(spec)), at: SyntheticPlatform.time) }
        spec = SyntheticPlatform.QuoteSpec()
        spec.quoteSigner = P256.Signing.PrivateKey()
        #expect(throws: TDXError.quoteSignatureInvalid) { try verifier.verify(try TDXQuote(bytes: try platform.quote(spec)), at: SyntheticPlatform.time) }
        // Another platform's genuine chain under the same root cannot vouch for this QE report.
        let other = try SyntheticPlatform()
        #expect(throws: TDXError.untrustedRoot(subject: "Synthetic SGX Root CA (synthetic test, untrusted)")) {
            try verifier.verify(try TDXQuote(bytes: try other.quote()), at: SyntheticPlatform.time)
        }
        #expect(throws: TDXError.untrustedRoot(subject: "Synthetic SGX Root CA (synthetic test, untrusted)")) {
            try TDXVerifier().verify(try TDXQuote(bytes: try platform.quote()), at: SyntheticPlatform.time)
        }
    }

    /// The three DER certificates of the Azure quote's chain.
    func chainDER() throws -> [[UInt8]] {
        let quote = try TDXQuote(bytes: try TestData.azureQuote)
        let text = String(decoding: quote.signatureData.qeReportCertificationData.certificationData.data.dropLast(), as: UTF8.self)
        return try PEMDocument.parseMultiple(pemString: text).map(\.derBytes)
    }

    func quote(withChain ders: [[UInt8]]) throws -> [UInt8] {
        let pem = ders.map { PEMDocument(type: "CERTIFICATE", derBytes: $0).pemString }.joined(separator: "\n") + "\n"
        return AzureLayout.quote(try TestData.azureQuote, withPEM: Array(pem.utf8) + [0])
    }

    /// `der` with the first occurrence of `pattern` altered in its last byte.
    func altered(_ der: [UInt8], at pattern: [UInt8]) throws -> [UInt8] {
        let at = try #require((0...(der.count - pattern.count)).first { Array(der[$0..<($0 + pattern.count)]) == pattern })
        var copy = der
        copy[at + pattern.count - 1] ^= 1
        return copy
    }

    @Test("The chain re-encoded unchanged still verifies")
    func reencodedChain() throws {
        #expect(try self.verify(try self.quote(withChain: try self.chainDER())).root == "Intel SGX Root CA")
    }

    @Test("Altered certificates are refused: leaf and CA by signature, root by the anchor")
    func alteredCertificates() throws {
        let ders = try self.chainDER()
        // Serial numbers as `openssl x509 -serial` prints them; FMSPC from the SGX extension.
        let leaf = try self.altered(ders[0], at: [UInt8](hex: "4f8d590ae47a0876a2d0117dd34b0f66e9931e55"))
        #expect(throws: TDXError.certificateSignatureInvalid(subject: "Intel SGX PCK Certificate", issuer: "Intel SGX PCK Platform CA")) {
            try self.verify(try self.quote(withChain: [leaf, ders[1], ders[2]]))
        }
        let fmspc = try self.altered(ders[0], at: [0x04, 0x06] + [UInt8](hex: "00806f050000"))
        #expect(throws: TDXError.certificateSignatureInvalid(subject: "Intel SGX PCK Certificate", issuer: "Intel SGX PCK Platform CA")) {
            try self.verify(try self.quote(withChain: [fmspc, ders[1], ders[2]]))
        }
        let ca = try self.altered(ders[1], at: [UInt8](hex: "956f5dcdbd1be1e94049c9d4f433ce01570bde54"))
        #expect(throws: TDXError.certificateSignatureInvalid(subject: "Intel SGX PCK Platform CA", issuer: "Intel SGX Root CA")) {
            try self.verify(try self.quote(withChain: [ders[0], ca, ders[2]]))
        }
        let root = try self.altered(ders[2], at: [UInt8](hex: "22650cd65a9d3489f383b49552bf501b392706ac"))
        #expect(throws: TDXError.untrustedRoot(subject: "Intel SGX Root CA")) {
            try self.verify(try self.quote(withChain: [ders[0], ders[1], root]))
        }
        var signature = ders[0]
        signature[signature.count - 1] ^= 1
        #expect(throws: TDXError.certificateSignatureInvalid(subject: "Intel SGX PCK Certificate", issuer: "Intel SGX PCK Platform CA")) {
            try self.verify(try self.quote(withChain: [signature, ders[1], ders[2]]))
        }
    }

    @Test("Chains of the wrong shape are refused: missing, extra or misordered certificates, non-PEM text")
    func chainShape() throws {
        let ders = try self.chainDER()
        #expect(throws: TDXError.missingCertificate(role: "root CA")) { try self.verify(try self.quote(withChain: [ders[0], ders[1]])) }
        #expect(throws: TDXError.missingCertificate(role: "PCK Platform/Processor CA")) { try self.verify(try self.quote(withChain: [ders[0]])) }
        #expect(throws: TDXError.certificateMalformed(role: "PCK certificate chain", reason: "it holds 4 certificates, not 3")) {
            try self.verify(try self.quote(withChain: ders + [ders[2]]))
        }
        #expect(throws: TDXError.unexpectedCertificate(role: "PCK", subject: "Intel SGX PCK Platform CA")) {
            try self.verify(try self.quote(withChain: [ders[1], ders[0], ders[2]]))
        }
        #expect(throws: TDXError.unexpectedCertificate(role: "PCK Platform/Processor CA", subject: "Intel SGX Root CA")) {
            try self.verify(try self.quote(withChain: [ders[0], ders[2], ders[2]]))
        }
        let original = try TestData.azureQuote
        let pem = Array(original[AzureLayout.pem..<AzureLayout.end])
        for cut in [100, 1300, 2500] {
            do {
                _ = try self.verify(AzureLayout.quote(original, withPEM: Array(pem[..<cut])))
                Issue.record("a chain cut at \(cut) verified")
            } catch {
                guard case .certificateMalformed(role: "PCK certificate chain", _) = error else {
                    Issue.record("a chain cut at \(cut) gave \(error)")
                    continue
                }
            }
        }
        #expect(throws: TDXError.missingCertificate(role: "PCK")) { try self.verify(AzureLayout.quote(original, withPEM: [0])) }
    }

    @Test("A quote whose chain ends at Intel's root is refused by a verifier trusting another root")
    func otherAnchor() throws {
        let platform = try SyntheticPlatform()
        #expect(throws: TDXError.untrustedRoot(subject: "Intel SGX Root CA")) {
            try TDXVerifier(trustAnchor: platform.anchor).verify(try TDXQuote(bytes: try TestData.azureQuote), at: TestData.verificationTime)
        }
    }
}
