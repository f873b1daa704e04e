import X509

/// UEFI_VARIABLE_DATA (PFP v1.06 §10.2.3): a measured UEFI variable, its GUID, UTF-16 name and
/// data, as logged by EV_EFI_VARIABLE_DRIVER_CONFIG, _BOOT, _BOOT2 and _AUTHORITY events.
public struct UEFIVariableData: Sendable {
    public var variableName: EFIGUID
    public var unicodeName: String
    public var variableData: [UInt8]
    /// The variable data decoded according to the variable (see `UEFIVariableValue`).
    public var value: UEFIVariableValue

    init(_ reader: inout LittleEndianReader, eventType: EventType) throws(EventLogError) {
        variableName = try reader.guid("VariableName")
        let nameLength = try reader.count("UnicodeNameLength", unit: 2)
        let dataLength = try reader.count("VariableDataLength", unit: 1)
        unicodeName = try reader.utf16(nameLength / 2, "UnicodeName")
        let start = reader.offset
        let data = try reader.bytes(dataLength, "VariableData")
        variableData = Array(data)
        var dataReader = LittleEndianReader(data, event: reader.event)
        value = try UEFIVariableValue(name: unicodeName, guid: variableName, eventType: eventType, &dataReader)
        guard dataReader.isAtEnd else {
            throw .malformedEventData(event: reader.event, offset: start, eventType: eventType.description,
                                      reason: "\(dataReader.remaining) bytes follow the decoded value of \(unicodeName)")
        }
        if eventType == .efiVariableAuthority {
            // Older shim releases log a few bytes past VariableDataLength in their authority
            // events (sb-cert-bug157.bin); they stay in the raw event data.
            _ = reader.rest()
        }
    }
}

/// The decoded data of a measured UEFI variable.
public enum UEFIVariableValue: Sendable {
    /// PK, KEK, db, dbx, dbt, dbr: a sequence of EFI_SIGNATURE_LIST (UEFI 2.10 §32.4.1).
    case signatureLists([EFISignatureList])
    /// EV_EFI_VARIABLE_AUTHORITY: the EFI_SIGNATURE_DATA (or, from shim, the bare certificate)
    /// that authorised an image (layout in UEFI 2.10 §32.4.1).
    case signature(EFISignatureData)
    /// A one-byte boolean such as SecureBoot, SetupMode, AuditMode or DeployedMode (UEFI 2.10 §3.3).
    case boolean(UInt8)
    /// BootOrder (UEFI 2.10 §3.3): Boot#### option numbers.
    case bootOrder([UInt16])
    /// Boot#### (UEFI 2.10 §3.1.3): an EFI_LOAD_OPTION.
    case loadOption(EFILoadOption)
    /// Not decoded.
    case raw

    private static let signatureDatabases: Set<String> = ["PK", "KEK", "db", "dbx", "dbt", "dbr"]
    private static let booleans: Set<String> = ["SecureBoot", "SetupMode", "AuditMode", "DeployedMode"]

    init(name: String, guid: EFIGUID, eventType: EventType, _ reader: inout LittleEndianReader) throws(EventLogError) {
        let global = guid == .globalVariable
        if eventType == .efiVariableAuthority {
            self = EFISignatureData(authority: reader.rest()).map(UEFIVariableValue.signature) ?? .raw
        } else if UEFIVariableValue.signatureDatabases.contains(name), global || guid == .imageSecurityDatabase {
            var lists: [EFISignatureList] = []
            while !reader.isAtEnd {
                lists.append(try EFISignatureList(&reader))
            }
            self = .signatureLists(lists)
        } else if global, UEFIVariableValue.booleans.contains(name), reader.remaining == 1 {
            self = .boolean(try reader.read(UInt8.self, name))
        } else if global, name == "BootOrder", reader.remaining % 2 == 0 {
            var order: [UInt16] = []
            while !reader.isAtEnd { order.append(try reader.read(UInt16.self, "BootOrder entry")) }
            self = .bootOrder(order)
        } else if global, name.count == 8, name.hasPrefix("Boot"), UInt16(name.dropFirst(4), radix: 16) != nil, !reader.isAtEnd {
            self = .loadOption(try EFILoadOption(&reader))
        } else {
            _ = reader.rest()
            self = .raw
        }
    }
}

/// EFI_SIGNATURE_LIST (UEFI 2.10 §32.4.1): signatures of one type (X.509 certificates, SHA-256
/// hashes, …) each with its owner GUID.
public struct EFISignatureList: Sendable {
    public var signatureType: EFIGUID
    public var signatureHeader: [UInt8]
    public var signatures: [EFISignatureData]

    init(_ reader: inout LittleEndianReader) throws(EventLogError) {
        let start = reader.offset
        signatureType = try reader.guid("SignatureType")
        let listSize = Int(try reader.read(UInt32.self, "SignatureListSize"))
        let headerSize = Int(try reader.read(UInt32.self, "SignatureHeaderSize"))
        let signatureSize = Int(try reader.read(UInt32.self, "SignatureSize"))
        let bodySize = listSize - 28 - headerSize
        guard listSize >= 28, headerSize <= listSize - 28, signatureSize > 16, bodySize % signatureSize == 0 else {
            throw .malformedEventData(
                event: reader.event, offset: start, eventType: "EFI_SIGNATURE_LIST",
                reason: "SignatureListSize \(listSize), SignatureHeaderSize \(headerSize) and SignatureSize \(signatureSize) are inconsistent")
        }
        signatureHeader = Array(try reader.bytes(headerSize, "SignatureHeader"))
        var body = LittleEndianReader(try reader.bytes(bodySize, "Signatures"), event: reader.event)
        signatures = []
        while !body.isAtEnd {
            let owner = try body.guid("SignatureOwner")
            let data = try body.bytes(signatureSize - 16, "SignatureData")
            signatures.append(EFISignatureData(owner: owner, data: data, isX509: signatureType == .certX509))
        }
    }

    /// The X.509 certificates that decoded.
    public var certificates: [Certificate] { signatures.compactMap(\.certificate) }
    /// The SHA-256 hashes, if this is an EFI_CERT_SHA256_GUID list.
    public var sha256Hashes: [[UInt8]] { signatureType == .certSHA256 ? signatures.map(\.data) : [] }
}

/// EFI_SIGNATURE_DATA (UEFI 2.10 §32.4.1): a signature owner and the signature bytes, with the
/// X.509 certificate decoded (swift-certificates) on demand when the bytes are one.
public struct EFISignatureData: Sendable {
    /// Nil when shim logs a bare certificate without an owner.
    public var owner: EFIGUID?
    public var data: [UInt8]
    /// Whether the signature list's type (or the authority event) says the data is a certificate.
    public var isX509: Bool

    init(owner: EFIGUID?, data: ArraySlice<UInt8>, isX509: Bool) {
        self.owner = owner
        self.data = Array(data)
        self.isX509 = isX509
    }

    /// The decoded certificate, or nil if the data is not a certificate that decodes. Decoded on
    /// each access, so that parsing a log does not pay for certificates nobody reads.
    public var certificate: Certificate? {
        isX509 ? try? Certificate(derEncoded: data) : nil
    }

    /// An EV_EFI_VARIABLE_AUTHORITY payload: EFI_SIGNATURE_DATA holding a DER certificate, or a bare
    /// DER certificate (shim). Nil if it is neither.
    init?(authority data: ArraySlice<UInt8>) {
        if data.first == 0x30 {
            self.init(owner: nil, data: data, isX509: true)
        } else if data.count > 16, data[data.startIndex + 16] == 0x30 {
            self.init(owner: EFIGUID(bytes: data.prefix(16)), data: data.dropFirst(16), isX509: true)
        } else {
            return nil
        }
    }
}

/// EFI_LOAD_OPTION (UEFI 2.10 §3.1.3): a Boot#### variable.
public struct EFILoadOption: Sendable {
    public var attributes: UInt32
    public var description: String
    public var filePathList: UEFIDevicePath
    public var optionalData: [UInt8]

    init(_ reader: inout LittleEndianReader) throws(EventLogError) {
        attributes = try reader.read(UInt32.self, "Attributes")
        let pathLength = Int(try reader.read(UInt16.self, "FilePathListLength"))
        var units: [UInt16] = []
        while true {
            let unit = try reader.read(UInt16.self, "Description")
            if unit == 0 { break }
            units.append(unit)
        }
        description = String(decoding: units, as: UTF16.self)
        var path = LittleEndianReader(try reader.bytes(pathLength, "FilePathList"), event: reader.event)
        filePathList = try UEFIDevicePath(&path)
        optionalData = Array(reader.rest())
    }
}
