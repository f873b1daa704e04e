import Crypto
import Foundation
import SwiftASN1
import TDX
import TDXTestSupport
import TestSupport
import Testing
import X509

/// PCK CRLs and Root CA CRLs. No real Intel CRL was available offline, so the lists are issued by
/// the SYNTHETIC test CA, one of them by `openssl ca -gencrl` as an independent encoder.
@Suite("TDX certificate revocation lists (synthetic test CA)")
struct RevocationTests {
    let platform: SyntheticPlatform
    let verifier: TDXVerifier

    init() throws {
        self.platform = try SyntheticPlatform()
        self.verifier = TDXVerifier(trustAnchor: self.platform.anchor)
    }

    func verify(_ collateral: TDXCollateral, at time: Date = SyntheticPlatform.time) throws(TDXError) -> VerifiedTDXQuote {
        do {
            return try self.verifier.verify(try TDXQuote(bytes: try self.platform.quote()), collateral: collateral, at: time)
        } catch let error as TDXError {
            throw error
        } catch {
            fatalError("\(error)")
        }
    }

    func pckCRL(revoking serials: [Certificate.SerialNumber]) throws -> IntelRevocationList {
        try SyntheticPlatform.revocationList(issuer: self.platform.platformCA, key: self.platform.platformCAKey, revoking: serials)
    }

    func rootCRL(revoking serials: [Certificate.SerialNumber]) throws -> IntelRevocationList {
        try SyntheticPlatform.revocationList(issuer: self.platform.root, key: self.platform.rootKey, revoking: serials)
    }

    @Test("CRLs that revoke nothing of the chain let it verify and are named in the result")
    func notRevoked() throws {
        let collateral = TDXCollateral(
            pckCRL: try self.pckCRL(revoking: [Certificate.SerialNumber(bytes: [0x33])]), rootCACRL: try self.rootCRL(revoking: []))
        let verified = try self.verify(collateral)
        #expect(verified.revocationListsApplied == ["Synthetic SGX Root CA (synthetic test, untrusted)", "Synthetic SGX PCK Platform CA (synthetic test)"])
    }

    @Test("A revoked PCK certificate, PCK CA or TCB signing certificate is refused")
    func revoked() throws {
        #expect(throws: TDXError.revoked(
            subject: "Synthetic SGX PCK Certificate (synthetic test)", serialNumber: "\(self.platform.pck.serialNumber)",
            issuer: "Synthetic SGX PCK Platform CA (synthetic test)")) {
            try self.verify(TDXCollateral(pckCRL: try self.pckCRL(revoking: [self.platform.pck.serialNumber])))
        }
        #expect(throws: TDXError.revoked(
            subject: "Synthetic SGX PCK Platform CA (synthetic test)", serialNumber: "\(self.platform.platformCA.serialNumber)",
            issuer: "Synthetic SGX Root CA (synthetic test, untrusted)")) {
            try self.verify(TDXCollateral(rootCACRL: try self.rootCRL(revoking: [self.platform.platformCA.serialNumber])))
        }
        var collateral = try self.platform.collateral()
        collateral.rootCACRL = try self.rootCRL(revoking: [self.platform.tcbSigner.serialNumber])
        #expect(throws: TDXError.revoked(
            subject: "Synthetic SGX TCB Signing (synthetic test)", serialNumber: "\(self.platform.tcbSigner.serialNumber)",
            issuer: "Synthetic SGX Root CA (synthetic test, untrusted)")) {
            try self.verify(collateral)
        }
    }

    @Test("A CRL not signed by its issuer, from the wrong issuer, or not current is refused")
    func invalidLists() throws {
        let forged = try SyntheticPlatform.revocationList(issuer: self.platform.platformCA, key: P256.Signing.PrivateKey(), revoking: [])
        #expect(throws: TDXError.revocationListSignatureInvalid(
            issuer: "Synthetic SGX PCK Platform CA (synthetic test)", signer: "Synthetic SGX PCK Platform CA (synthetic test)")) {
            try self.verify(TDXCollateral(pckCRL: forged))
        }
        #expect(throws: TDXError.collateralMismatch(
            document: "PCK CRL", field: "issuer", expected: "Synthetic SGX Root CA (synthetic test, untrusted)",
            actual: "Synthetic SGX PCK Platform CA (synthetic test)")) {
            try self.verify(TDXCollateral(pckCRL: try self.rootCRL(revoking: [])))
        }
        #expect(throws: TDXError.revocationListSignatureInvalid(
            issuer: "Synthetic SGX PCK Platform CA (synthetic test)", signer: "Synthetic SGX Root CA (synthetic test, untrusted)")) {
            try self.verify(TDXCollateral(rootCACRL: try self.pckCRL(revoking: [])))
        }
        let iso = ISO8601DateFormatter()
        let late = iso.date(from: "2025-08-01T00:00:00Z")!
        #expect(throws: TDXError.revocationListNotValidAtTime(
            issuer: "Synthetic SGX PCK Platform CA (synthetic test)", time: late, thisUpdate: iso.date(from: "2025-05-01T00:00:00Z")!,
            nextUpdate: iso.date(from: "2025-07-01T00:00:00Z")!)) {
            try self.verify(TDXCollateral(pckCRL: try self.pckCRL(revoking: [])), at: late)
        }
    }

    @Test("CRLs decode from DER and PEM; other input is refused")
    func decoding() throws {
        let list = try self.pckCRL(revoking: [self.platform.pck.serialNumber])
        #expect(list.revokedSerialNumbers == [self.platform.pck.serialNumber])
        let pem = PEMDocument(type: "X509 CRL", derBytes: list.derBytes).pemString
        #expect(try IntelRevocationList(derOrPEM: Array(pem.utf8)) == list)
        let certificatePEM = PEMDocument(type: "CERTIFICATE", derBytes: list.derBytes).pemString
        #expect(throws: TDXError.revocationListMalformed(reason: "the PEM block is CERTIFICATE, not X509 CRL")) {
            try IntelRevocationList(derOrPEM: Array(certificatePEM.utf8))
        }
        for cut in [1, 40, list.derBytes.count - 1] {
            #expect(throws: TDXError.self) { try IntelRevocationList(derEncoded: Array(list.derBytes[..<cut])) }
        }
    }

    @Test("A CRL that `openssl ca -gencrl` issues for the synthetic PCK CA revokes the PCK certificate")
    func opensslList() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tdx-crl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func write(_ name: String, _ text: String) throws {
            try Data(text.utf8).write(to: directory.appendingPathComponent(name))
        }
        try write("ca.key", self.platform.platformCAKey.pemRepresentation)
        try write("ca.pem", try SyntheticPlatform.pem([self.platform.platformCA]))
        let serial = Array(self.platform.pck.serialNumber.bytes).hex.uppercased()
        try write("index.txt", "R\t340101000000Z\t250515000000Z\t\(serial)\tunknown\t/CN=synthetic\n")
        // A CRL number makes the list v2 with a crlExtensions field.
        try write("crlnumber", "1000\n")
        try write("ca.cnf", "[ca]\ndefault_ca = synthetic\n[synthetic]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = sha256\n")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.currentDirectoryURL = directory
        process.arguments = ["ca", "-batch", "-config", "ca.cnf", "-gencrl", "-keyfile", "ca.key", "-cert", "ca.pem",
                             "-crl_lastupdate", "20250501000000Z", "-crl_nextupdate", "20250701000000Z", "-out", "crl.pem"]
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "openssl ca -gencrl failed: \(message)")
        let list = try IntelRevocationList(derOrPEM: Array(try Data(contentsOf: directory.appendingPathComponent("crl.pem"))))
        #expect(list.revokedSerialNumbers == [self.platform.pck.serialNumber])
        #expect(list.issuerName == "Synthetic SGX PCK Platform CA (synthetic test)")
        #expect(list.thisUpdate == ISO8601DateFormatter().date(from: "2025-05-01T00:00:00Z"))
        #expect(throws: TDXError.revoked(
            subject: "Synthetic SGX PCK Certificate (synthetic test)", serialNumber: "\(self.platform.pck.serialNumber)",
            issuer: "Synthetic SGX PCK Platform CA (synthetic test)")) {
            try self.verify(TDXCollateral(pckCRL: list))
        }
    }
}
