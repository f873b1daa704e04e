import EventLog
import Foundation
import Testing

/// What tpm2_eventlog (tpm2-tools) prints for a log, and what openssl reads from the bytes it
/// prints. tpm2-tools 5.4 prints EFI signature lists as hex, so certificates are found in that
/// hex by their DER framing and decoded by openssl.
enum SecureBootPeer {
    static let available = ["/usr/bin/tpm2_eventlog", "/usr/bin/openssl"].allSatisfy(FileManager.default.isExecutableFile(atPath:))

    /// One event as tpm2_eventlog prints it (the fields these tests read).
    struct Event {
        var number = 0
        var type = ""
        var unicodeName: String?
        var variableData: [UInt8]?
    }

    static func run(_ tool: String, _ arguments: [String], input: [UInt8] = []) throws -> (output: String, status: Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let output = Pipe()
        let stdin = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = stdin
        try process.run()
        stdin.fileHandleForWriting.write(Data(input))
        try stdin.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (String(decoding: data, as: UTF8.self), process.terminationStatus)
    }

    /// The events tpm2_eventlog prints; nil if it refuses the log.
    static func events(_ name: String) throws -> [Event]? {
        let (output, status) = try run("/usr/bin/tpm2_eventlog", [TestData.directory.appendingPathComponent(name).path])
        guard status == 0 else { return nil }
        // Crypto-agile logs number their records ("- EventNum: N"); SHA-1 logs do not.
        var events: [Event] = []
        var number: Int?
        for line in output.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if line.hasPrefix("- EventNum: ") {
                number = Int(line.dropFirst(12))
            } else if line.hasPrefix("PCRIndex: ") {
                events.append(Event(number: number ?? events.count))
                number = nil
            } else if line.hasPrefix("EventType: "), !events.isEmpty {
                events[events.count - 1].type = String(line.dropFirst(11))
            } else if line.hasPrefix("UnicodeName: "), !events.isEmpty {
                events[events.count - 1].unicodeName = String(line.dropFirst(13))
            } else if line.hasPrefix("VariableData: "), !events.isEmpty {
                events[events.count - 1].variableData = hexBytes(line.dropFirst(14).trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
            }
        }
        return events
    }

    /// The first EV_EFI_VARIABLE_DRIVER_CONFIG event measuring `name`.
    static func variable(_ name: String, in events: [Event]) -> Event? {
        events.first { $0.type == "EV_EFI_VARIABLE_DRIVER_CONFIG" && $0.unicodeName == name }
    }

    /// Every DER certificate in `bytes`, found as SEQUENCE { SEQUENCE (tbsCertificate) … } with
    /// two-byte lengths, and decoded by openssl: its RFC 2253 subject and SHA-256 fingerprint.
    static func certificates(in bytes: [UInt8]) throws -> [(subject: String, sha256: String)] {
        var found: [(String, String)] = []
        var i = 0
        while i + 6 <= bytes.count {
            let length = 4 + (Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]))
            if bytes[i] == 0x30, bytes[i + 1] == 0x82, bytes[i + 4] == 0x30, bytes[i + 5] == 0x82, i + length <= bytes.count,
               let certificate = try openssl(Array(bytes[i..<i + length])) {
                found.append(certificate)
                i += length
            } else {
                i += 1
            }
        }
        return found
    }

    /// openssl's subject (RFC 2253) and SHA-256 fingerprint of a DER certificate; nil if it refuses it.
    static func openssl(_ der: [UInt8]) throws -> (subject: String, sha256: String)? {
        let (output, status) = try run("/usr/bin/openssl", ["x509", "-inform", "DER", "-noout", "-subject", "-nameopt", "RFC2253", "-fingerprint", "-sha256"], input: der)
        let lines = output.split(separator: "\n")
        guard status == 0, let subject = lines.first(where: { $0.hasPrefix("subject=") }),
              let fingerprint = lines.first(where: { $0.hasPrefix("sha256 Fingerprint=") }) else { return nil }
        return (String(subject.dropFirst(8)), fingerprint.dropFirst(19).replacingOccurrences(of: ":", with: "").lowercased())
    }

    /// The SHA-256 entries of EFI_SIGNATURE_LISTs (UEFI 2.10 §32.4.1), walked here independently:
    /// SignatureType (16), SignatureListSize, SignatureHeaderSize, SignatureSize (4 each), the
    /// header, then entries of SignatureOwner (16) and SignatureData.
    static func sha256Entries(_ bytes: [UInt8]) -> [String] {
        let sha256Type: [UInt8] = [0x26, 0x16, 0xC4, 0xC1, 0x4C, 0x50, 0x92, 0x40, 0xAC, 0xA9, 0x41, 0xF9, 0x36, 0x93, 0x43, 0x28]
        func u32(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 }
        var hashes: [String] = []
        var list = 0
        while list + 28 <= bytes.count {
            let (listSize, headerSize, signatureSize) = (u32(list + 16), u32(list + 20), u32(list + 24))
            if Array(bytes[list..<list + 16]) == sha256Type {
                for entry in stride(from: list + 28 + headerSize, to: list + listSize, by: signatureSize) {
                    hashes.append(bytes[entry + 16..<entry + 48].map { String(format: "%02x", $0) }.joined())
                }
            }
            list += listSize
        }
        return hashes
    }

    static func hexBytes(_ hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        return stride(from: 0, to: digits.count, by: 2).compactMap { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16) }
    }

    /// OpenSSL spells the PKCS #9 email attribute emailAddress; swift-certificates spells it E.
    static func sameName(_ openssl: String, _ ours: String?) -> Bool {
        openssl.replacingOccurrences(of: "emailAddress=", with: "E=") == ours
    }
}

/// `EventLog.secureBootReport()` on the real logs, checked against the README's stated facts and
/// against tpm2_eventlog and openssl reading the same bytes.
@Suite("Secure Boot report", .enabled(if: SecureBootPeer.available, "needs tpm2_eventlog (tpm2-tools) and openssl"))
struct SecureBootTests {
    /// The logs whose README entry says whether Secure Boot was on.
    static let readmeStates: [(String, Bool)] = TestData.logNames.compactMap { name in
        let machine = TestData.readme(name).machine
        if machine.contains("Secure Boot enabled") { return (name, true) }
        if machine.contains("Secure Boot disabled") { return (name, false) }
        return nil
    }

    /// README statements the logged bytes contradict: the README calls this log's machine "Secure
    /// Boot enabled", but its SecureBoot variable is measured as 00 (tpm2_eventlog prints
    /// VariableData "00") and it has no authority events.
    static let readmeErrata: [String: Bool] = ["gce-ubuntu1804-amd-sev.bin": false]

    @Test("SecureBoot is on or off as the README states", arguments: readmeStates)
    func readmeState(name: String, enabled: Bool) throws {
        let report = try EventLog(bytes: try TestData.bytes(name)).secureBootReport()
        #expect(report.secureBoot == (Self.readmeErrata[name] ?? enabled))
    }

    @Test("SecureBoot is the variable byte tpm2_eventlog prints (no data: off; no event: not measured)", arguments: TestData.logNames)
    func peerState(name: String) throws {
        guard let events = try SecureBootPeer.events(name) else { return }
        let expected = SecureBootPeer.variable("SecureBoot", in: events).map { ($0.variableData ?? []).contains { $0 != 0 } }
        #expect(try EventLog(bytes: try TestData.bytes(name)).secureBootReport().secureBoot == expected)
    }

    @Test("PK, KEK, db and dbx certificates are the ones openssl decodes from tpm2_eventlog's bytes; dbx hashes match a UEFI walk",
          arguments: TestData.logNames)
    func databases(name: String) throws {
        guard let events = try SecureBootPeer.events(name) else { return }
        let report = try EventLog(bytes: try TestData.bytes(name)).secureBootReport()
        for variable in ["PK", "KEK", "db", "dbx"] {
            let peer = SecureBootPeer.variable(variable, in: events)
            let database = report.database(variable)
            #expect((peer == nil) == (database == nil), "\(variable)")
            guard let peer, let database else { continue }
            let expected = try SecureBootPeer.certificates(in: peer.variableData ?? [])
            #expect(database.certificates.map(\.sha256) == expected.map(\.sha256), "\(variable)")
            for (ours, theirs) in zip(database.certificates, expected) {
                #expect(SecureBootPeer.sameName(theirs.subject, ours.subject), "\(variable): \(theirs.subject) vs \(ours.subject ?? "-")")
            }
            #expect(database.sha256Hashes == SecureBootPeer.sha256Entries(peer.variableData ?? []), "\(variable)")
        }
    }

    @Test("gce-ubuntu2104-no-dbx measures an empty dbx (README), with no data per tpm2_eventlog")
    func emptyDbx() throws {
        let name = "gce-ubuntu2104-no-dbx.bin"
        #expect(TestData.readme(name).machine.contains("empty dbx"))
        let events = try #require(try SecureBootPeer.events(name))
        let peer = try #require(SecureBootPeer.variable("dbx", in: events))
        #expect(peer.variableData ?? [] == [])
        let dbx = try #require(try EventLog(bytes: try TestData.bytes(name)).secureBootReport().database("dbx"))
        #expect(dbx.entries.isEmpty)
        #expect(dbx.event == peer.number)
    }

    @Test("db authorities name the db entry with the certificate openssl reads from the authority event; with Secure Boot on, the first boot application has one",
          arguments: TestData.logNames)
    func authorities(name: String) throws {
        guard let events = try SecureBootPeer.events(name),
              let db = SecureBootPeer.variable("db", in: events) else { return }
        let report = try EventLog(bytes: try TestData.bytes(name)).secureBootReport()
        let dbFingerprints = try SecureBootPeer.certificates(in: db.variableData ?? []).map(\.sha256)
        let peerAuthorities = events.filter { $0.type == "EV_EFI_VARIABLE_AUTHORITY" && $0.unicodeName == "db" }
        #expect(report.authorities.filter { $0.variable == "db" }.map(\.event) == peerAuthorities.map(\.number))
        for (authority, peer) in zip(report.authorities.filter { $0.variable == "db" }, peerAuthorities) {
            let certificate = try #require(try SecureBootPeer.certificates(in: peer.variableData ?? []).first)
            #expect(dbFingerprints.contains(certificate.sha256))
            let entry = try #require(authority.dbEntry)
            #expect(report.database("db")?.entries[entry].sha256 == certificate.sha256)
        }
        guard report.secureBoot == true, !peerAuthorities.isEmpty else { return }
        let first = try #require(report.images.first { $0.eventType == "EV_EFI_BOOT_SERVICES_APPLICATION" })
        let authority = try #require(report.authorities.first { $0.event == first.authority })
        #expect(authority.variable == "db")
    }

    @Test("an image whose logged digest is a dbx hash is reported, and only that one")
    func revokedImage() throws {
        let name = "keylime-mb-secureboot.bin"
        let bytes = try TestData.bytes(name)
        let log = try EventLog(bytes: bytes)
        #expect(log.secureBootReport().imagesInDbx.isEmpty)
        let events = try #require(try SecureBootPeer.events(name))
        let dbx = try #require(SecureBootPeer.variable("dbx", in: events))
        let revoked = try #require(SecureBootPeer.sha256Entries(dbx.variableData ?? []).first.flatMap(SecureBootPeer.hexBytes))
        // The second boot application (grub); in this SHA-256-only log its TCG_PCR_EVENT2 digest
        // follows PCRIndex, EventType, the digest count and the algorithm (PFP v1.06 §10.2.2).
        let target = log.events.filter { $0.eventType == .efiBootServicesApplication }[1]
        var edited = bytes
        edited.replaceSubrange(target.offset + 14..<target.offset + 46, with: revoked)
        #expect(try EventLog(bytes: edited).secureBootReport().imagesInDbx.map(\.event) == [target.index])
    }
}
