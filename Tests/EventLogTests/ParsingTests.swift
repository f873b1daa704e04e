import EventLog
import Foundation
import Testing

@Suite("Parsing real logs")
struct ParsingTests {
    @Test("the test data is present")
    func testDataIsPresent() {
        #expect(TestData.logNames.count >= 30)
        #expect(TestData.logsWithPCRs.count >= 20)
    }

    @Test("every log parses with the event count, format, banks and padding the README states", arguments: TestData.logNames)
    func parses(name: String) throws {
        let facts = TestData.readme(name)
        let log = try EventLog(bytes: try TestData.bytes(name))
        #expect(log.events.count == facts.events)
        #expect(log.format == (facts.format.contains("SHA-1 only") ? .sha1 : .cryptoAgile))
        #expect(log.algorithms.map(\.description) == facts.algorithms)
        #expect(log.padding?.count == facts.padding?.count)
        #expect(log.padding?.byte == facts.padding?.byte)
        for (position, event) in log.events.enumerated() {
            #expect(event.index == position)
        }
    }

    @Test("writing a parsed log gives back the identical bytes", arguments: TestData.logNames)
    func roundTrip(name: String) throws {
        let bytes = try TestData.bytes(name)
        #expect(try EventLog(bytes: bytes).encoded() == bytes)
    }

    @Test("no event of a real log has malformed data", arguments: TestData.logNames)
    func everyEventDecodes(name: String) throws {
        let log = try EventLog(bytes: try TestData.bytes(name))
        for event in log.events {
            if case .malformed(let error) = event.content {
                Issue.record("\(name): \(error)")
            }
        }
    }

    @Test("the StartupLocality event gives locality 3 where the README says so")
    func startupLocality() throws {
        for name in TestData.logNames {
            let log = try EventLog(bytes: try TestData.bytes(name))
            let readmeSaysThree = TestData.readme(name).notableRecords.contains("StartupLocality=3")
            #expect((log.startupLocality == 3) == readmeSaysThree, "\(name)")
        }
    }

    @Test("the td-shim CCEL Spec ID event carries vendor info \"td-shim\" and PCR index 0")
    func tdShimVendorInfo() throws {
        let log = try EventLog(bytes: try TestData.bytes("tdx-td-shim-ccel.bin"))
        #expect(log.specID?.vendorInfo == Array("td-shim".utf8))
        #expect(log.events[0].pcrIndex == 0)
    }

    @Test("Secure Boot variables decode to the certificates and hashes openssl sees in them")
    func secureBootDatabases() throws {
        let log = try EventLog(bytes: try TestData.bytes("gce-ubuntu1804-amd-sev.bin"))
        var lists: [String: [EFISignatureList]] = [:]
        for event in log.events {
            guard case .variable(let variable) = event.content, case .signatureLists(let found) = variable.value else { continue }
            lists[variable.unicodeName] = found
        }
        #expect(lists["PK"]?.flatMap(\.certificates).map { $0.subject.description } == ["CN=newpk"])
        let kek = lists["KEK"]?.flatMap(\.certificates).map { $0.subject.description } ?? []
        #expect(kek.count == 1 && kek[0].contains("CN=Microsoft Corporation KEK CA 2011"))
        let db = lists["db"]?.flatMap(\.certificates).map { $0.subject.description } ?? []
        #expect(db.count == 2)
        #expect(db.contains { $0.contains("CN=Microsoft Corporation UEFI CA 2011") })
        #expect(db.contains { $0.contains("CN=Microsoft Windows Production PCA 2011") })
        #expect(lists["dbx"]?.flatMap(\.sha256Hashes).count == 77)
        #expect(lists["dbx"]?.allSatisfy { $0.signatureType == .certSHA256 } == true)
    }

    @Test("EV_EFI_VARIABLE_AUTHORITY events decode both EFI_SIGNATURE_DATA and shim's bare certificates")
    func authorityEvents() throws {
        let log = try EventLog(bytes: try TestData.bytes("sb-cert-bug157.bin"))
        var found: [(name: String, owner: EFIGUID?, subject: String)] = []
        for event in log.events where event.eventType == .efiVariableAuthority {
            guard case .variable(let variable) = event.content, case .signature(let signature) = variable.value else {
                Issue.record("event \(event.index) did not decode")
                continue
            }
            found.append((variable.unicodeName, signature.owner, signature.certificate?.subject.description ?? ""))
        }
        try #require(found.map(\.name) == ["db", "Shim", "Shim"])
        #expect(found[0].owner != nil && found[0].subject.contains("CN=Microsoft Corporation UEFI CA 2011"))
        #expect(found[1].owner == nil && found[1].subject.contains("CN=Canonical Ltd. Master Certificate Authority"))
    }

    @Test("SecureBoot decodes to the byte tpm2_eventlog prints, under the UEFI registry GUID", arguments: [
        ("sb-cert-bug157.bin", UInt8(1)), ("gce-ubuntu2104-no-secureboot.bin", UInt8(0)),
    ])
    func secureBootVariable(name: String, expected: UInt8) throws {
        let log = try EventLog(bytes: try TestData.bytes(name))
        let secureBoot = try #require(log.events.lazy.compactMap { event -> UEFIVariableData? in
            guard case .variable(let variable) = event.content, variable.unicodeName == "SecureBoot" else { return nil }
            return variable
        }.first)
        // EFI_GLOBAL_VARIABLE as printed in UEFI 2.10 §3.3.
        #expect(secureBoot.variableName.description == "8BE4DF61-93CA-11D2-AA0D-00E098032B8C")
        guard case .boolean(let value) = secureBoot.value else {
            Issue.record("SecureBoot did not decode as a boolean")
            return
        }
        #expect(value == expected)
    }

    @Test("an image load event's device path decodes node by node (UEFI 2.10 §10.3)")
    func imageDevicePath() throws {
        let log = try EventLog(bytes: try TestData.bytes("gce-ubuntu1804-amd-sev.bin"))
        let paths = log.events.compactMap { event -> String? in
            guard case .imageLoad(let image) = event.content else { return nil }
            return image.devicePath.description
        }
        // Decoded by hand from the bytes tpm2_eventlog prints for the shim load event:
        // 02010c00 d041030a 00000000 | 01010600 0004 | 03171000 01000000 0000000000000000 |
        // 04012a00 0f000000 0028000000000000 0050030000000000 e1c9ec8624fbe6478b51005a5aded596 02 02 |
        // 04043400 "\EFI\ubuntu\shimx64.efi" | 7fff0400
        #expect(paths.contains(
            "PciRoot(0x0)/Pci(0x4,0x0)/NVMe(0x1,00-00-00-00-00-00-00-00)/HD(15,GPT,86ECC9E1-FB24-47E6-8B51-005A5ADED596,0x2800,0x35000)/\\EFI\\ubuntu\\shimx64.efi"))
    }

    @Test("GRUB's EV_IPL events decode as text")
    func grubCommands() throws {
        let log = try EventLog(bytes: try TestData.bytes("gce-ubuntu1804-amd-sev.bin"))
        let texts = log.events.filter { $0.eventType == .ipl }.compactMap { event -> String? in
            guard case .text(let text) = event.content else { return nil }
            return text
        }
        #expect(texts.contains { $0.hasPrefix("grub_cmd: ") })
        #expect(texts.contains { $0.hasPrefix("kernel_cmdline: ") })
    }

    @Test("separators decode to 0 and EV_EFI_ACTION to the strings of PFP v1.06 §10.4.1")
    func separatorsAndActions() throws {
        let log = try EventLog(bytes: try TestData.bytes("gce-ubuntu1804-amd-sev.bin"))
        let separators = log.events.filter { $0.eventType == .separator }
        #expect(separators.count == 8)
        for separator in separators {
            guard case .separator(0) = separator.content else {
                Issue.record("separator \(separator.index) is \(separator.content)")
                continue
            }
        }
        let actions = log.events.compactMap { event -> String? in
            guard event.eventType == .efiAction, case .text(let text) = event.content else { return nil }
            return text
        }
        #expect(actions.contains("Calling EFI Application from Boot Option"))
        #expect(actions.contains("Exit Boot Services Invocation"))
    }
}
