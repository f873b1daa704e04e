import EventLog

/// The event data structures the emulated firmware logs (TCG PC Client Platform Firmware Profile
/// v1.06 §10.2), written byte for byte as UEFI firmware writes them; the EventLog library decodes
/// each of them back. Only these layouts are hand-written here.
enum FirmwareEventData {
    /// UEFI_VARIABLE_DATA (PFP v1.06 §10.2.3): VariableName (GUID), UnicodeNameLength and
    /// VariableDataLength (UINT64), the name in UTF-16LE without its NUL, then the variable data.
    static func variable(_ guid: EFIGUID, _ name: String, _ data: [UInt8]) -> [UInt8] {
        let unicodeName = Array(name.utf16)
        var out = guid.bytes
        out.appendLittleEndian(UInt64(unicodeName.count))
        out.appendLittleEndian(UInt64(data.count))
        for unit in unicodeName { out.appendLittleEndian(unit) }
        return out + data
    }

    /// One EFI_SIGNATURE_LIST (UEFI 2.10 §32.4.1): SignatureType, SignatureListSize,
    /// SignatureHeaderSize (0 here), SignatureSize, then the EFI_SIGNATURE_DATA entries, each the
    /// owner GUID and `data`. All entries must have the same size.
    static func signatureList(type: EFIGUID, owner: EFIGUID, entries: [[UInt8]]) -> [UInt8] {
        let signatureSize = 16 + (entries.first?.count ?? 0)
        var out = type.bytes
        out.appendLittleEndian(UInt32(28 + signatureSize * entries.count))
        out.appendLittleEndian(UInt32(0))
        out.appendLittleEndian(UInt32(signatureSize))
        for entry in entries { out += owner.bytes + entry }
        return out
    }

    /// EFI_SIGNATURE_DATA (UEFI 2.10 §32.4.1): the owner GUID and the signature data, as an
    /// EV_EFI_VARIABLE_AUTHORITY event carries the db entry that authorized an image.
    static func signatureData(owner: EFIGUID, _ data: [UInt8]) -> [UInt8] {
        owner.bytes + data
    }

    /// UEFI_IMAGE_LOAD_EVENT (PFP v1.06 §10.2.4): where the image was loaded, its length, its
    /// link-time address (0), and its device path: a Media File Path node (UEFI 2.10 §10.3.5.4,
    /// type 4 subtype 4, the path in UTF-16LE with a NUL) and the End node (type 0x7F subtype 0xFF).
    static func imageLoad(address: UInt64, length: Int, path: String) -> [UInt8] {
        let pathBytes = utf16(path)
        var devicePath: [UInt8] = [0x04, 0x04]
        devicePath.appendLittleEndian(UInt16(4 + pathBytes.count))
        devicePath += pathBytes + [0x7F, 0xFF, 0x04, 0x00]
        var out: [UInt8] = []
        out.appendLittleEndian(address)
        out.appendLittleEndian(UInt64(length))
        out.appendLittleEndian(UInt64(0))
        out.appendLittleEndian(UInt64(devicePath.count))
        return out + devicePath
    }

    /// UEFI_PLATFORM_FIRMWARE_BLOB (PFP v1.06 §10.2.5): the base and length of a firmware volume.
    static func firmwareBlob(base: UInt64, length: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.appendLittleEndian(base)
        out.appendLittleEndian(UInt64(length))
        return out
    }

    /// A string in UTF-16LE with its NUL, as OVMF logs its EV_S_CRTM_VERSION.
    static func utf16(_ text: String) -> [UInt8] {
        (Array(text.utf16) + [0]).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
    }

    /// A string in ASCII with a NUL, as GRUB logs its EV_IPL events.
    static func cString(_ text: String) -> [UInt8] {
        Array(text.utf8) + [0]
    }
}

extension [UInt8] {
    /// Appends `value` least significant byte first.
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        for index in 0..<(T.bitWidth / 8) { append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
    }
}
