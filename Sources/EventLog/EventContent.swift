/// The decoded form of an event's data, chosen by its event type (PFP v1.06 §10.4.1). The raw
/// bytes stay in `TCGPCREvent2.data`; types this library does not decode are `.raw`.
public enum EventContent: Sendable {
    /// EV_NO_ACTION Spec ID Event03 header (PFP v1.06 §10.4.5.1).
    case specID(SpecIDEvent)
    /// EV_NO_ACTION TCG_EfiStartupLocalityEvent (PFP v1.06 §10.4.5.3): the locality of TPM2_Startup.
    case startupLocality(UInt8)
    /// Another EV_NO_ACTION event identified by its 16-byte signature (e.g. "SP800-155 Event3").
    case noAction(signature: String)
    /// EV_SEPARATOR (PFP v1.06 §10.4.1): 0 normally, 0xFFFFFFFF when firmware reports an error;
    /// Windows boot manager uses "WBCL".
    case separator(UInt32)
    /// Text data: EV_S_CRTM_VERSION, EV_EFI_ACTION, EV_ACTION, EV_IPL (GRUB commands, kernel
    /// command lines, shim variable names), EV_POST_CODE and EV_COMPACT_HASH strings.
    case text(String)
    /// EV_EFI_PLATFORM_FIRMWARE_BLOB(2), or an EV_POST_CODE carrying a blob (PFP v1.06 §10.2.5).
    case firmwareBlob(UEFIPlatformFirmwareBlob)
    /// EV_EFI_HANDOFF_TABLES(2) (PFP v1.06 §10.2.6).
    case handoffTables(UEFIHandoffTablePointers)
    /// EV_EFI_VARIABLE_DRIVER_CONFIG, _BOOT, _BOOT2, _AUTHORITY (PFP v1.06 §10.2.3).
    case variable(UEFIVariableData)
    /// EV_EFI_BOOT_SERVICES_APPLICATION, _DRIVER, EV_EFI_RUNTIME_SERVICES_DRIVER (PFP v1.06 §10.2.4).
    case imageLoad(UEFIImageLoadEvent)
    /// EV_EFI_GPT_EVENT(2) (PFP v1.06 §10.2.7).
    case gpt(UEFIGPTData)
    /// EV_EVENT_TAG (PFP v1.06 §10.4.1, TCG_PCClientTaggedEvent).
    case taggedEvent(TCGPCClientTaggedEvent)
    /// Not decoded: an unknown event type or data that is not in a recognisable form.
    case raw
    /// The data does not have the structure its event type requires.
    case malformed(EventLogError)

    init(eventType: EventType, data: ArraySlice<UInt8>, event: Int) {
        var reader = LittleEndianReader(data, event: event)
        do throws(EventLogError) {
            self = try EventContent.decode(eventType, &reader)
            guard reader.isAtEnd else {
                throw EventLogError.malformedEventData(
                    event: event, offset: reader.offset, eventType: eventType.description,
                    reason: "\(reader.remaining) bytes follow the decoded structure")
            }
        } catch {
            if case .truncated(let event, let offset, let field, let needed, let available) = error {
                self = .malformed(.malformedEventData(
                    event: event, offset: offset, eventType: eventType.description,
                    reason: "\(field) needs \(needed) bytes but only \(available) remain"))
            } else {
                self = .malformed(error)
            }
        }
    }

    private static func decode(_ type: EventType, _ reader: inout LittleEndianReader) throws(EventLogError) -> EventContent {
        switch type {
        case .noAction:
            return noAction(reader.rest())
        case .separator:
            return .separator(try reader.read(UInt32.self, "separator value"))
        case .sCRTMVersion, .sCRTMContents, .efiAction, .action, .ipl, .compactHash:
            return text(reader.rest()).map(EventContent.text) ?? .raw
        case .postCode:
            let data = reader.rest()
            if let text = text(data) { return .text(text) }
            guard data.count == 16 else { return .raw }
            var blob = LittleEndianReader(data, event: reader.event)
            return .firmwareBlob(try UEFIPlatformFirmwareBlob(&blob, described: false))
        case .efiPlatformFirmwareBlob, .efiPlatformFirmwareBlob2:
            return .firmwareBlob(try UEFIPlatformFirmwareBlob(&reader, described: type == .efiPlatformFirmwareBlob2))
        case .efiHandoffTables, .efiHandoffTables2:
            return .handoffTables(try UEFIHandoffTablePointers(&reader, described: type == .efiHandoffTables2))
        case .efiVariableDriverConfig, .efiVariableBoot, .efiVariableBoot2, .efiVariableAuthority:
            return .variable(try UEFIVariableData(&reader, eventType: type))
        case .efiBootServicesApplication, .efiBootServicesDriver, .efiRuntimeServicesDriver:
            return .imageLoad(try UEFIImageLoadEvent(&reader))
        case .efiGPTEvent, .efiGPTEvent2:
            return .gpt(try UEFIGPTData(&reader))
        case .eventTag:
            let data = reader.rest()
            var tagged = LittleEndianReader(data, event: reader.event)
            do throws(EventLogError) {
                let event = try TCGPCClientTaggedEvent(&tagged)
                guard tagged.isAtEnd else {
                    throw .malformedEventData(event: reader.event, offset: tagged.offset, eventType: type.description,
                                              reason: "\(tagged.remaining) bytes follow the tagged event")
                }
                return .taggedEvent(event)
            } catch {
                // Older TDVF builds log the bare string "LOADED_IMAGE::LoadOptions" as EV_EVENT_TAG.
                guard let text = text(data) else { throw error }
                return .text(text)
            }
        default:
            _ = reader.rest()
            return .raw
        }
    }

    /// "StartupLocality\0" then one byte (PFP v1.06 §10.4.5.3).
    static let startupLocalitySignature = Array("StartupLocality\0".utf8)

    private static func noAction(_ data: ArraySlice<UInt8>) -> EventContent {
        if data.starts(with: startupLocalitySignature), data.count == 17, let locality = data.last {
            return .startupLocality(locality)
        }
        guard data.count >= 16, let signature = text(data.prefix(16)) else { return .raw }
        return .noAction(signature: signature)
    }

    /// Decodes printable text up to its first NUL, as UTF-16LE when every other byte is zero
    /// (EV_S_CRTM_VERSION is usually a CHAR16 string) and as UTF-8 otherwise. Nil if not text.
    static func text(_ data: ArraySlice<UInt8>) -> String? {
        let looksUTF16 = data.count >= 2 && data.count % 2 == 0 && data[data.startIndex + 1] == 0 && data.first != 0
        if looksUTF16 {
            let string = decodeUTF16(data)
            return isPrintable(string) ? string : nil
        }
        let prefix = data.prefix { $0 != 0 }
        guard !prefix.isEmpty, let string = String(validating: prefix, as: UTF8.self), isPrintable(string) else { return nil }
        return string
    }

    private static func isPrintable(_ string: String) -> Bool {
        !string.isEmpty && string.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F || $0 == "\n" || $0 == "\t" || $0 == "\r" }
    }
}

/// UEFI_PLATFORM_FIRMWARE_BLOB and UEFI_PLATFORM_FIRMWARE_BLOB2 (PFP v1.06 §10.2.5): the memory
/// range of a measured firmware volume, with a description in the BLOB2 form.
public struct UEFIPlatformFirmwareBlob: Hashable, Sendable {
    public var description: String?
    public var base: UInt64
    public var length: UInt64

    init(_ reader: inout LittleEndianReader, described: Bool) throws(EventLogError) {
        description = described ? try readDescription(&reader) : nil
        base = try reader.read(UInt64.self, "BlobBase")
        length = try reader.read(UInt64.self, "BlobLength")
    }
}

/// UEFI_HANDOFF_TABLE_POINTERS and UEFI_HANDOFF_TABLE_POINTERS2 (PFP v1.06 §10.2.6): the
/// EFI_CONFIGURATION_TABLE entries (vendor GUID, table address) handed to the OS.
public struct UEFIHandoffTablePointers: Hashable, Sendable {
    /// One EFI_CONFIGURATION_TABLE (UEFI 2.10 §4.6).
    public struct Table: Hashable, Sendable {
        public var vendorGUID: EFIGUID
        public var address: UInt64
    }

    public var description: String?
    public var tables: [Table]

    init(_ reader: inout LittleEndianReader, described: Bool) throws(EventLogError) {
        description = described ? try readDescription(&reader) : nil
        let count = try reader.count("NumberOfTables", unit: 24) / 24
        tables = []
        for _ in 0..<count {
            tables.append(Table(vendorGUID: try reader.guid("VendorGuid"), address: try reader.read(UInt64.self, "VendorTable")))
        }
    }
}

/// UEFI_IMAGE_LOAD_EVENT (PFP v1.06 §10.2.4): where a PE/COFF image was loaded and the device
/// path it was loaded from.
public struct UEFIImageLoadEvent: Hashable, Sendable {
    public var imageLocationInMemory: UInt64
    public var imageLengthInMemory: UInt64
    public var imageLinkTimeAddress: UInt64
    public var devicePath: UEFIDevicePath

    init(_ reader: inout LittleEndianReader) throws(EventLogError) {
        imageLocationInMemory = try reader.read(UInt64.self, "ImageLocationInMemory")
        imageLengthInMemory = try reader.read(UInt64.self, "ImageLengthInMemory")
        imageLinkTimeAddress = try reader.read(UInt64.self, "ImageLinkTimeAddress")
        let length = try reader.count("LengthOfDevicePath", unit: 1)
        var path = LittleEndianReader(try reader.bytes(length, "DevicePath"), event: reader.event)
        devicePath = try UEFIDevicePath(&path)
        // shim and GRUB log some images with a few filler bytes after the device path (the size
        // of the C structure rather than of its contents); they stay in the raw event data.
        _ = reader.rest()
    }
}

/// UEFI_GPT_DATA (PFP v1.06 §10.2.7): the GPT header (UEFI 2.10 §5.3.2) and the partition
/// entries (§5.3.3) that firmware measured.
public struct UEFIGPTData: Hashable, Sendable {
    /// One EFI_PARTITION_ENTRY (UEFI 2.10 §5.3.3).
    public struct Partition: Hashable, Sendable {
        public var typeGUID: EFIGUID
        public var uniqueGUID: EFIGUID
        public var startingLBA: UInt64
        public var endingLBA: UInt64
        public var attributes: UInt64
        public var name: String
    }

    /// The 92-byte EFI_PARTITION_TABLE_HEADER as measured.
    public var header: [UInt8]
    public var diskGUID: EFIGUID
    public var partitions: [Partition]

    init(_ reader: inout LittleEndianReader) throws(EventLogError) {
        let start = reader.offset
        let headerBytes = try reader.bytes(92, "EFI_PARTITION_TABLE_HEADER")
        var header = LittleEndianReader(headerBytes, event: reader.event)
        guard Array(try header.bytes(8, "Signature")) == Array("EFI PART".utf8) else {
            throw .malformedEventData(event: reader.event, offset: start, eventType: "EV_EFI_GPT_EVENT", reason: "the GPT header signature is not \"EFI PART\"")
        }
        _ = try header.bytes(48, "Revision to LastUsableLBA")
        diskGUID = try header.guid("DiskGUID")
        _ = try header.bytes(12, "PartitionEntryLBA, NumberOfPartitionEntries")
        let entrySize = Int(try header.read(UInt32.self, "SizeOfPartitionEntry"))
        guard entrySize >= 128 else {
            throw .malformedEventData(event: reader.event, offset: start + 84, eventType: "EV_EFI_GPT_EVENT", reason: "SizeOfPartitionEntry \(entrySize) is below 128")
        }
        self.header = Array(headerBytes)
        let count = try reader.count("NumberOfPartitions", unit: entrySize) / entrySize
        partitions = []
        for _ in 0..<count {
            var entry = LittleEndianReader(try reader.bytes(entrySize, "EFI_PARTITION_ENTRY"), event: reader.event)
            partitions.append(Partition(
                typeGUID: try entry.guid("PartitionTypeGUID"),
                uniqueGUID: try entry.guid("UniquePartitionGUID"),
                startingLBA: try entry.read(UInt64.self, "StartingLBA"),
                endingLBA: try entry.read(UInt64.self, "EndingLBA"),
                attributes: try entry.read(UInt64.self, "Attributes"),
                name: try entry.utf16(36, "PartitionName")))
        }
    }
}

/// TCG_PCClientTaggedEvent (PFP v1.06 §10.4.1, EV_EVENT_TAG): an identifier and its data.
public struct TCGPCClientTaggedEvent: Hashable, Sendable {
    public var taggedEventID: UInt32
    public var taggedEventData: [UInt8]

    init(_ reader: inout LittleEndianReader) throws(EventLogError) {
        taggedEventID = try reader.read(UInt32.self, "taggedEventID")
        let size = try reader.count("taggedEventDataSize", unit: 1, width: 4)
        taggedEventData = Array(try reader.bytes(size, "taggedEventData"))
    }
}

/// A UINT8 size then that many bytes of description, as in the "2" variants of PFP v1.06 §10.2.5/6.
private func readDescription(_ reader: inout LittleEndianReader) throws(EventLogError) -> String {
    let size = Int(try reader.read(UInt8.self, "DescriptionSize"))
    let bytes = try reader.bytes(size, "Description")
    return EventContent.text(bytes) ?? bytes.hexString
}

extension LittleEndianReader {
    mutating func guid(_ field: String) throws(EventLogError) -> EFIGUID {
        EFIGUID(bytes: try bytes(16, field))
    }

    /// `units` UTF-16LE code units, cut at the first NUL.
    mutating func utf16(_ units: Int, _ field: String) throws(EventLogError) -> String {
        decodeUTF16(try bytes(units * 2, field))
    }
}

/// UTF-16LE code units up to the first NUL (or the end; an odd trailing byte is ignored).
func decodeUTF16(_ raw: ArraySlice<UInt8>) -> String {
    var codeUnits: [UInt16] = []
    codeUnits.reserveCapacity(raw.count / 2)
    var i = raw.startIndex
    while i + 1 < raw.endIndex {
        let unit = UInt16(raw[i]) | UInt16(raw[i + 1]) << 8
        if unit == 0 { break }
        codeUnits.append(unit)
        i += 2
    }
    return String(decoding: codeUnits, as: UTF16.self)
}
