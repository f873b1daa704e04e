import EvidenceCore
import Foundation
import Testing
import X509

/// The error a test reader reports, to see exactly what ``LittleEndianReader`` passes on.
enum ReadFailure: LittleEndianReadFailure, Equatable {
    case truncated(field: String, offset: Int, needed: Int, available: Int)
    case reservedFieldNotZero(field: String, offset: Int)
}

@Suite("Little-endian reading and writing")
struct LittleEndianTests {
    @Test("Integers read least significant byte first, and the writer writes them back")
    func integers() throws {
        let bytes: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F]
        var reader = LittleEndianReader<ReadFailure>(bytes)
        #expect(try reader.integer(UInt8.self, field: "a") == 0x01)
        #expect(try reader.integer(UInt16.self, field: "b") == 0x0302)
        #expect(try reader.integer(UInt32.self, field: "c") == 0x0706_0504)
        #expect(try reader.integer(UInt64.self, field: "d") == 0x0F0E_0D0C_0B0A_0908)
        #expect(reader.remaining == 0)
        var writer = LittleEndianWriter()
        writer.integer(UInt8(0x01))
        writer.integer(UInt16(0x0302))
        writer.integer(UInt32(0x0706_0504))
        writer.integer(UInt64(0x0F0E_0D0C_0B0A_0908))
        #expect(writer.bytes == bytes)
    }

    @Test("A read past the end names the field, its absolute offset, what it needed and what was left")
    func truncation() {
        let buffer = [UInt8](repeating: 0, count: 32)
        var reader = LittleEndianReader<ReadFailure>(buffer[10..<16])
        #expect(throws: ReadFailure.truncated(field: "wide", offset: 10, needed: 8, available: 6)) {
            try reader.integer(UInt64.self, field: "wide")
        }
        #expect(throws: ReadFailure.truncated(field: "negative", offset: 10, needed: -1, available: 6)) {
            try reader.bytes(-1, field: "negative")
        }
        var offsetReader = LittleEndianReader<ReadFailure>(Array(buffer[..<8]), offset: 6)
        #expect(throws: ReadFailure.truncated(field: "tail", offset: 6, needed: 4, available: 2)) {
            try offsetReader.integer(UInt32.self, field: "tail")
        }
    }

    @Test("A set byte in a reserved field is reported at its absolute offset, for every byte of the field")
    func reserved() throws {
        for position in 0..<8 {
            var bytes = [UInt8](repeating: 0, count: 24)
            bytes[12 + position] = 0x80
            var reader = LittleEndianReader<ReadFailure>(bytes[8...])
            _ = try reader.bytes(4, field: "before")
            #expect(throws: ReadFailure.reservedFieldNotZero(field: "reserved", offset: 12 + position)) {
                try reader.reserved(8, field: "reserved")
            }
        }
        var zeros = LittleEndianReader<ReadFailure>([UInt8](repeating: 0, count: 8))
        try zeros.reserved(8, field: "reserved")
        #expect(zeros.rest().isEmpty)
    }
}

@Suite("Hex and listings")
struct ListingTests {
    @Test("Hex parses either case and refuses odd lengths and anything but ASCII hex digits")
    func hex() throws {
        #expect(HexBytes(hex: "00aAfF")?.bytes == [0x00, 0xAA, 0xFF])
        #expect(HexBytes(hex: "")?.bytes == [])
        for bad in ["0", "0g", "0x00", " 00", "\u{FF10}\u{FF10}", "١٢"] {
            #expect(HexBytes(hex: bad) == nil, "\(bad)")
        }
        let json = try JSONEncoder().encode([HexBytes([0xDE, 0xAD])])
        #expect(String(decoding: json, as: UTF8.self) == #"["dead"]"#)
        #expect(try JSONDecoder().decode([HexBytes].self, from: Data(#"["DEAD"]"#.utf8)) == [HexBytes([0xDE, 0xAD])])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([HexBytes].self, from: Data(#"["dea"]"#.utf8)) }
    }

    static let listing = ListingValue.group([
        ListingField("version", .integer(4)),
        ListingField("policy", .group([ListingField("raw", .text("0x0000000000030000")), ListingField("debug", .flag(false))])),
        ListingField("measurement", .bytes([0xB0, 0x7A])),
        ListingField("svns", .list([.integer(1), .integer(2)])),
        ListingField("empty", .list([])),
        ListingField("certificates", .list([.group([ListingField("cn", .text("PCK"))]), .group([])])),
    ])

    @Test("The text listing puts scalars after their names and parts two spaces deeper")
    func text() {
        #expect(Self.listing.description == """
            version: 4
            policy:
              raw: 0x0000000000030000
              debug: false
            measurement: b07a
            svns: [1, 2]
            empty: []
            certificates:
              [0]:
                cn: PCK
              [1]:
            """)
    }

    @Test("The JSON listing is an object of the same names, bytes as hex, lists as arrays")
    func json() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        #expect(String(decoding: try encoder.encode(Self.listing), as: UTF8.self)
            == #"{"certificates":[{"cn":"PCK"},{}],"empty":[],"measurement":"b07a","policy":{"debug":false,"raw":"0x0000000000030000"},"svns":[1,2],"version":4}"#)
    }

    struct Strict: Decodable {
        let known: Int
        init(from decoder: any Decoder) throws {
            try requireKnownKeys(decoder, CodingKeys.self)
            self.known = try decoder.container(keyedBy: CodingKeys.self).decode(Int.self, forKey: .known)
        }
        private enum CodingKeys: String, CodingKey { case known }
    }

    @Test("Unknown policy keys are refused by name, sorted")
    func unknownKeys() throws {
        #expect(try JSONDecoder().decode(Strict.self, from: Data(#"{"known": 1}"#.utf8)).known == 1)
        do {
            _ = try JSONDecoder().decode(Strict.self, from: Data(#"{"known": 1, "zeta": 2, "alpha": 3}"#.utf8))
            Issue.record("unknown keys were accepted")
        } catch let DecodingError.dataCorrupted(context) {
            #expect(context.debugDescription == "unknown policy key(s): alpha, zeta")
        }
    }

    @Test("An appraisal passes only when every rule does, and lists the failures in order")
    func appraisal() {
        let rules = [
            RuleAppraisal.Rule(name: "a", passed: true, expected: "1", actual: "1"),
            RuleAppraisal.Rule(name: "b", passed: false, expected: "2", actual: "3"),
        ]
        #expect(RuleAppraisal(rules: rules).failures == [rules[1]])
        #expect(!RuleAppraisal(rules: rules).passed)
        #expect(RuleAppraisal(rules: []).passed)
        #expect(rules[1].description == "FAIL b: expected 2, found 3")
    }
}

@Suite("Certificate revocation list decoding", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"), "needs openssl"))
struct CertificateRevocationListTests {
    struct Malformed: Error, Equatable {
        let reason: String
    }

    /// A CRL that `openssl ca -gencrl` issues as "CN=CRL Test CA" (ECDSA P-256, a CRL number
    /// extension, serials 01 and ABCDEF revoked, valid 2025-05-01 to 2025-07-01), as PEM.
    let pem: [UInt8]
    let der: [UInt8]

    init() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("evidencecore-crl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let files: [String: String] = [
            "index.txt": "R\t340101000000Z\t240101000000Z\t01\tunknown\t/CN=a\nR\t340101000000Z\t240101000000Z\tABCDEF\tunknown\t/CN=b\n",
            "crlnumber": "1000\n",
            "ca.cnf": "[ca]\ndefault_ca = test\n[test]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = sha256\n",
        ]
        for (name, text) in files {
            try Data(text.utf8).write(to: directory.appendingPathComponent(name))
        }
        for arguments in [
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
             "-subj", "/CN=CRL Test CA", "-days", "2"],
            ["ca", "-batch", "-config", "ca.cnf", "-gencrl", "-keyfile", "ca.key", "-cert", "ca.pem",
             "-crl_lastupdate", "20250501000000Z", "-crl_nextupdate", "20250701000000Z", "-out", "crl.pem"],
            ["crl", "-in", "crl.pem", "-outform", "DER", "-out", "crl.der"],
        ] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.currentDirectoryURL = directory
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            try #require(process.terminationStatus == 0, "openssl \(arguments[0]) failed")
        }
        self.pem = Array(try Data(contentsOf: directory.appendingPathComponent("crl.pem")))
        self.der = Array(try Data(contentsOf: directory.appendingPathComponent("crl.der")))
    }

    func decode(_ data: some Collection<UInt8>, allowingPEM: Bool) throws(Malformed) -> CertificateRevocationList {
        try CertificateRevocationList.decode(data, allowingPEM: allowingPEM, malformed: Malformed.init, check: { _ in })
    }

    @Test("The fields are those openssl wrote, from DER and from PEM alike")
    func fields() throws {
        let list = try self.decode(self.der, allowingPEM: false)
        #expect(list.issuerName == "CRL Test CA")
        #expect(list.thisUpdate == ISO8601DateFormatter().date(from: "2025-05-01T00:00:00Z"))
        #expect(list.nextUpdate == ISO8601DateFormatter().date(from: "2025-07-01T00:00:00Z"))
        #expect(list.revokedSerialNumbers == [Certificate.SerialNumber(bytes: [0x01]), Certificate.SerialNumber(bytes: [0x00, 0xAB, 0xCD, 0xEF])])
        #expect(try self.decode(self.pem, allowingPEM: true) == list)
        #expect(list.derBytes == self.der)
    }

    @Test("PEM is refused where only DER is allowed, and a PEM block of another kind always")
    func pemKinds() throws {
        #expect(throws: Malformed.self) { try self.decode(self.pem, allowingPEM: false) }
        let certificate = String(decoding: self.pem, as: UTF8.self).replacingOccurrences(of: "X509 CRL", with: "CERTIFICATE")
        #expect(throws: Malformed(reason: "the PEM block is CERTIFICATE, not X509 CRL")) {
            try self.decode(Array(certificate.utf8), allowingPEM: true)
        }
    }

    @Test("Every truncation and every extension of the DER is refused with the vendor's error")
    func truncationsAndExtensions() throws {
        for cut in 0..<self.der.count {
            #expect(throws: Malformed.self, "cut at \(cut)") { try self.decode(self.der[..<cut], allowingPEM: false) }
        }
        #expect(throws: Malformed.self) { try self.decode(self.der + [0], allowingPEM: false) }
    }

    @Test("The vendor's check sees the list, and its own error passes through unwrapped")
    func vendorCheck() throws {
        let refusal = Malformed(reason: "not the vendor's algorithm")
        #expect(throws: refusal) {
            try CertificateRevocationList.decode(self.der, allowingPEM: false, malformed: Malformed.init, check: { list in
                #expect(list.signatureAlgorithm == list.tbsSignatureAlgorithm)
                throw refusal
            })
        }
    }
}
