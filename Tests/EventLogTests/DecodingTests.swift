import EventLog
import Testing

/// Event data decoded against values read by hand from the bytes (per the PFP v1.06 §10.2 and
/// UEFI 2.10 layouts) or printed by tpm2_eventlog for the same log.
@Suite("Decoding event data of real logs")
struct DecodingTests {
    static func contents(_ name: String, _ type: EventType) throws -> [EventContent] {
        try EventLog(bytes: try TestData.bytes(name)).events.filter { $0.eventType == type }.map(\.content)
    }

    @Test("EV_POST_CODE carrying a UEFI_PLATFORM_FIRMWARE_BLOB decodes to the base and length tpm2_eventlog prints")
    func postCodeBlob() throws {
        let blobs = try Self.contents("tpm2-tools-postcode.bin", .postCode).compactMap { content -> UEFIPlatformFirmwareBlob? in
            guard case .firmwareBlob(let blob) = content else { return nil }
            return blob
        }
        #expect(blobs.contains { $0.base == 0xFF13_0000 && $0.length == 0xA7_F000 && $0.description == nil })
    }

    @Test("TDVF's EV_EFI_PLATFORM_FIRMWARE_BLOB2 and EV_EFI_HANDOFF_TABLES2 carry their descriptions")
    func tdvfDescribedEvents() throws {
        let name = "gce-cos113-tdx-ccel-dupe-separator.bin"
        let blobs = try Self.contents(name, .efiPlatformFirmwareBlob2)
        guard case .firmwareBlob(let blob) = blobs.first else {
            Issue.record("no decoded EV_EFI_PLATFORM_FIRMWARE_BLOB2")
            return
        }
        // The event starts 0x29 "Fv(48DB5E17-707C-472D-91CD-16…": a 41-byte description.
        #expect(blob.description?.hasPrefix("Fv(48DB5E17-707C-472D-91CD-16") == true)
        guard case .handoffTables(let tables) = try Self.contents(name, .efiHandoffTables2).first else {
            Issue.record("no decoded EV_EFI_HANDOFF_TABLES2")
            return
        }
        // 0x09 "TdxTable\0", NumberOfTables = 1.
        #expect(tables.description == "TdxTable")
        #expect(tables.tables.count == 1)
    }

    @Test("EV_EVENT_TAG decodes its tag and data (TDVF LOADED_IMAGE::LoadOptions)")
    func eventTag() throws {
        let tags = try Self.contents("tdx-ovmf-direct-kernel-ccel.bin", .eventTag).compactMap { content -> TCGPCClientTaggedEvent? in
            guard case .taggedEvent(let tag) = content else { return nil }
            return tag
        }
        #expect(tags.count == 2)
        #expect(tags.contains { $0.taggedEventID == 0x8F3B_22ED && $0.taggedEventData.starts(with: Array("LOADED_IMAGE::LoadOptions".utf8)) })
    }

    @Test("EV_EFI_GPT_EVENT decodes the GPT header and its partitions")
    func gpt() throws {
        guard case .gpt(let gpt) = try Self.contents("gce-ubuntu1804-amd-sev.bin", .efiGPTEvent).first else {
            Issue.record("no decoded EV_EFI_GPT_EVENT")
            return
        }
        #expect(gpt.header.starts(with: Array("EFI PART".utf8)))
        #expect(gpt.diskGUID.description == "53CE624E-612A-4656-B468-F95098A46E1A")
        // Partition type GUIDs of UEFI 2.10 §5.3.3 / the Discoverable Partitions registry:
        // Linux filesystem, BIOS boot ("Hah!IdontNeedEFI"), EFI System.
        #expect(gpt.partitions.map(\.typeGUID.description) == [
            "0FC63DAF-8483-4772-8E79-3D69D8477DE4", "21686148-6449-6E6F-744E-656564454649", "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
        ])
        // The EFI System Partition is the one shim was loaded from (its HD() node in the image path).
        #expect(gpt.partitions[2].uniqueGUID.description == "86ECC9E1-FB24-47E6-8B51-005A5ADED596")
        #expect(gpt.partitions[2].startingLBA == 0x2800)
    }

    @Test("Boot#### variables decode as EFI_LOAD_OPTION with description and device path")
    func bootOption() throws {
        let options = try Self.contents("gce-ubuntu1804-amd-sev.bin", .efiVariableBoot).compactMap { content -> (String, EFILoadOption)? in
            guard case .variable(let variable) = content, case .loadOption(let option) = variable.value else { return nil }
            return (variable.unicodeName, option)
        }
        #expect(options.map(\.0) == ["Boot0002", "Boot0000", "Boot0001"])
        // tpm2_eventlog prints Boot0002's VariableData as 01000000 6200 "ubuntu\0" (UTF-16) then
        // the same HD()/File() nodes as the shim image load event.
        #expect(options[0].1.attributes == 1)
        #expect(options[0].1.description == "ubuntu")
        #expect(options[0].1.filePathList.description == "HD(15,GPT,86ECC9E1-FB24-47E6-8B51-005A5ADED596,0x2800,0x35000)/\\EFI\\ubuntu\\shimx64.efi")
    }

    @Test("BootOrder decodes to the option numbers tpm2_eventlog prints (020000000100)")
    func bootOrder() throws {
        let orders = try Self.contents("gce-ubuntu1804-amd-sev.bin", .efiVariableBoot).compactMap { content -> [UInt16]? in
            guard case .variable(let variable) = content, case .bootOrder(let order) = variable.value else { return nil }
            return order
        }
        #expect(orders == [[2, 0, 1]])
    }

    @Test("the GCE S-CRTM version string decodes from the UTF-16 bytes tpm2_eventlog prints")
    func crtmVersion() throws {
        guard case .text(let version) = try Self.contents("gce-ubuntu1804-amd-sev.bin", .sCRTMVersion).first else {
            Issue.record("no decoded EV_S_CRTM_VERSION")
            return
        }
        #expect(version == "GCE Virtual Firmware v1")
    }
}
