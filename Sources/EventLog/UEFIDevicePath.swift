/// An EFI_DEVICE_PATH_PROTOCOL (UEFI 2.10 §10.3): a sequence of typed nodes, each with a 4-byte
/// header (Type, SubType, Length), ending with an End Entire Device Path node. Nodes this library
/// does not decode are kept as `.other`.
public struct UEFIDevicePath: Hashable, Sendable, CustomStringConvertible {
    /// One device path node, named and printed as in UEFI 2.10 §10.6 (device path text forms).
    public enum Node: Hashable, Sendable, CustomStringConvertible {
        /// Hardware, PCI (§10.3.2): the device and function numbers.
        case pci(function: UInt8, device: UInt8)
        /// Hardware, Memory Mapped (§10.3.2).
        case memoryMapped(memoryType: UInt32, start: UInt64, end: UInt64)
        /// Hardware (1), Messaging (3) or Media (4) Vendor node (§10.3.2, §10.3.4, §10.3.5).
        case vendor(type: UInt8, guid: EFIGUID, data: [UInt8])
        /// ACPI (§10.3.3): _HID and _UID.
        case acpi(hid: UInt32, uid: UInt32)
        /// Messaging, MAC Address (§10.3.4): 32 address bytes as stored, and the interface type.
        case mac(address: [UInt8], interfaceType: UInt8)
        /// Messaging, NVM Express Namespace (§10.3.4): namespace ID and IEEE EUI-64.
        case nvmeNamespace(id: UInt32, eui64: UInt64)
        /// Messaging, URI (§10.3.4).
        case uri(String)
        /// Media, Hard Drive (§10.3.5).
        case hardDrive(partitionNumber: UInt32, partitionStart: UInt64, partitionSize: UInt64, signature: [UInt8], partitionFormat: UInt8, signatureType: UInt8)
        /// Media, File Path (§10.3.5).
        case filePath(String)
        /// Media, PIWG Firmware File (§10.3.5).
        case firmwareFile(EFIGUID)
        /// Media, PIWG Firmware Volume (§10.3.5).
        case firmwareVolume(EFIGUID)
        /// End This Instance of a Device Path (§10.3.1): separates instances of a multi-instance path.
        case endInstance
        /// Any other node, undecoded.
        case other(type: UInt8, subType: UInt8, data: [UInt8])

        public var description: String {
            switch self {
            case let .pci(function, device):
                return "Pci(0x\(hex(device)),0x\(hex(function)))"
            case let .memoryMapped(memoryType, start, end):
                return "MemoryMapped(0x\(hex(memoryType)),0x\(hex(start)),0x\(hex(end)))"
            case let .vendor(type, guid, data):
                let prefix = [1: "VenHw", 3: "VenMsg", 4: "VenMedia"][type] ?? "Ven"
                return data.isEmpty ? "\(prefix)(\(guid))" : "\(prefix)(\(guid),\(data.hexString))"
            case let .acpi(hid, uid):
                return hid == 0x0A03_41D0 ? "PciRoot(0x\(hex(uid)))" : "Acpi(0x\(hex(hid)),0x\(hex(uid)))"
            case let .mac(address, interfaceType):
                let length = interfaceType <= 1 ? 6 : address.count
                return "MAC(\(address.prefix(length).hexString),0x\(hex(interfaceType)))"
            case let .nvmeNamespace(id, eui64):
                let eui = (0..<8).reversed().map { hex(UInt8(truncatingIfNeeded: eui64 >> (8 * $0))) }
                return "NVMe(0x\(hex(id)),\(eui.map { $0.count == 1 ? "0" + $0 : $0 }.joined(separator: "-")))"
            case let .uri(uri):
                return "Uri(\(uri))"
            case let .hardDrive(number, start, size, signature, format, signatureType):
                let id = signatureType == 2 ? EFIGUID(bytes: signature).description : "0x" + signature.prefix(4).reversed().hexString
                return "HD(\(number),\(format == 1 ? "MBR" : "GPT"),\(id),0x\(hex(start)),0x\(hex(size)))"
            case let .filePath(path):
                return path
            case let .firmwareFile(guid):
                return "FvFile(\(guid))"
            case let .firmwareVolume(guid):
                return "Fv(\(guid))"
            case .endInstance:
                return ","
            case let .other(type, subType, data):
                return "Path(\(type),\(subType),\(data.hexString))"
            }
        }
    }

    public var nodes: [Node]

    /// The text form, e.g. `PciRoot(0x0)/Pci(0x3,0x0)/HD(1,GPT,…)/\EFI\BOOT\BOOTX64.EFI`.
    public var description: String {
        var text = ""
        for node in nodes {
            if node == .endInstance {
                text += ","
            } else {
                text += text.isEmpty || text.hasSuffix(",") ? node.description : "/" + node.description
            }
        }
        return text
    }

    /// Decodes nodes up to the end of the data. An End Entire Device Path node that is not the
    /// last node (as in the packed FilePathList of an EFI_LOAD_OPTION) is kept as `.endInstance`.
    init(_ reader: inout LittleEndianReader) throws(EventLogError) {
        nodes = []
        while !reader.isAtEnd {
            let start = reader.offset
            let type = try reader.read(UInt8.self, "device path node Type")
            let subType = try reader.read(UInt8.self, "device path node SubType")
            let length = Int(try reader.read(UInt16.self, "device path node Length"))
            guard length >= 4 else {
                throw .malformedEventData(event: reader.event, offset: start, eventType: "device path", reason: "a node is \(length) bytes long, less than its 4-byte header")
            }
            var payload = LittleEndianReader(try reader.bytes(length - 4, "device path node"), event: reader.event)
            if type == 0x7F, subType == 0xFF {
                if reader.isAtEnd { break }
                nodes.append(.endInstance)
                continue
            }
            nodes.append(try Node(type: type, subType: subType, &payload, at: start))
        }
    }
}

extension UEFIDevicePath.Node {
    init(type: UInt8, subType: UInt8, _ payload: inout LittleEndianReader, at start: Int) throws(EventLogError) {
        func requireLength(_ length: Int) throws(EventLogError) {
            guard payload.remaining == length else {
                throw .malformedEventData(
                    event: payload.event, offset: start, eventType: "device path",
                    reason: "a node of type \(type).\(subType) has \(payload.remaining) payload bytes instead of \(length)")
            }
        }
        switch (type, subType) {
        case (1, 1):
            try requireLength(2)
            self = .pci(function: try payload.read(UInt8.self, "Function"), device: try payload.read(UInt8.self, "Device"))
        case (1, 3):
            try requireLength(20)
            self = .memoryMapped(memoryType: try payload.read(UInt32.self, "MemoryType"), start: try payload.read(UInt64.self, "Start"), end: try payload.read(UInt64.self, "End"))
        case (1, 4), (3, 10), (4, 3):
            self = .vendor(type: type, guid: try payload.guid("Vendor GUID"), data: Array(payload.rest()))
        case (2, 1):
            try requireLength(8)
            self = .acpi(hid: try payload.read(UInt32.self, "_HID"), uid: try payload.read(UInt32.self, "_UID"))
        case (3, 11):
            try requireLength(33)
            self = .mac(address: Array(try payload.bytes(32, "MAC address")), interfaceType: try payload.read(UInt8.self, "IfType"))
        case (3, 23):
            try requireLength(12)
            self = .nvmeNamespace(id: try payload.read(UInt32.self, "NamespaceId"), eui64: try payload.read(UInt64.self, "IEEE EUI-64"))
        case (3, 24):
            self = .uri(String(decoding: payload.rest(), as: UTF8.self))
        case (4, 1):
            try requireLength(38)
            self = .hardDrive(
                partitionNumber: try payload.read(UInt32.self, "PartitionNumber"),
                partitionStart: try payload.read(UInt64.self, "PartitionStart"),
                partitionSize: try payload.read(UInt64.self, "PartitionSize"),
                signature: Array(try payload.bytes(16, "Signature")),
                partitionFormat: try payload.read(UInt8.self, "PartitionFormat"),
                signatureType: try payload.read(UInt8.self, "SignatureType"))
        case (4, 4):
            self = .filePath(decodeUTF16(payload.rest()))
        case (4, 6):
            try requireLength(16)
            self = .firmwareFile(try payload.guid("FvFile GUID"))
        case (4, 7):
            try requireLength(16)
            self = .firmwareVolume(try payload.guid("Fv GUID"))
        case (0x7F, 1):
            self = .endInstance
        default:
            self = .other(type: type, subType: subType, data: Array(payload.rest()))
        }
    }
}

private func hex<T: BinaryInteger>(_ value: T) -> String { String(value, radix: 16, uppercase: true) }
