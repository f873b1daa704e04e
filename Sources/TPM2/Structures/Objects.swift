/// TPMS_SENSITIVE_CREATE: the auth value and data the caller supplies for a new object
/// (TPM 2.0 Part 2 §11.1.15), carried in a TPM2B_SENSITIVE_CREATE.
public struct TPMSSensitiveCreate: Hashable, Sendable, TPMMarshalable {
    public var userAuth: [UInt8]
    public var data: [UInt8]

    public init(userAuth: [UInt8] = [], data: [UInt8] = []) {
        self.userAuth = userAuth
        self.data = data
    }

    public init(from reader: inout TPMReader) throws(TPMMarshalError) {
        userAuth = try reader.sized("TPMS_SENSITIVE_CREATE.userAuth", maximum: TPMLimits.maxDigest)
        data = try reader.sized("TPMS_SENSITIVE_CREATE.data", maximum: TPMLimits.maxSymData)
    }

    public func marshal(into writer: inout TPMWriter) {
        writer.sized(userAuth)
        writer.sized(data)
    }
}

/// TPMT_SENSITIVE: the secret part of an object (Part 2 §11.3.2.4). `sensitive` is the
/// TPMU_SENSITIVE_COMPOSITE: an RSA prime, an ECC private scalar, keyed-hash data or a
/// symmetric key, as selected by `type`.
public struct TPMTSensitive: Hashable, Sendable, TPMMarshalable {
    public var type: TPMAlgorithmID
    public var authValue: [UInt8]
    public var seedValue: [UInt8]
    public var sensitive: [UInt8]

    public init(type: TPMAlgorithmID, authValue: [UInt8], seedValue: [UInt8], sensitive: [UInt8]) {
        self.type = type
        self.authValue = authValue
        self.seedValue = seedValue
        self.sensitive = sensitive
    }

    public init(from reader: inout TPMReader) throws(TPMMarshalError) {
        let start = reader.offset
        type = try TPMAlgorithmID(from: &reader)
        authValue = try reader.sized("TPMT_SENSITIVE.authValue", maximum: TPMLimits.maxDigest)
        seedValue = try reader.sized("TPMT_SENSITIVE.seedValue", maximum: TPMLimits.maxDigest)
        let maximum: Int
        switch type {
        case .rsa: maximum = TPMLimits.maxRSAKeyBytes / 2 * 5
        case .ecc: maximum = TPMLimits.maxECCKeyBytes
        case .keyedHash: maximum = TPMLimits.maxSymData
        case .symCipher: maximum = TPMLimits.maxSymKeyBytes
        default: throw reader.error("TPMT_SENSITIVE.sensitiveType", selector: type.rawValue, at: start)
        }
        sensitive = try reader.sized("TPMT_SENSITIVE.sensitive", maximum: maximum)
    }

    public func marshal(into writer: inout TPMWriter) {
        writer.write(type)
        writer.sized(authValue)
        writer.sized(seedValue)
        writer.sized(sensitive)
    }
}

/// TPMS_CREATION_DATA: what the TPM records about the environment an object was created in
/// (Part 2 §15.1).
public struct TPMSCreationData: Hashable, Sendable, TPMMarshalable {
    public var pcrSelect: TPMLPCRSelection
    public var pcrDigest: [UInt8]
    public var locality: UInt8
    public var parentNameAlg: TPMAlgorithmID
    public var parentName: [UInt8]
    public var parentQualifiedName: [UInt8]
    public var outsideInfo: [UInt8]

    public init(pcrSelect: TPMLPCRSelection, pcrDigest: [UInt8], locality: UInt8, parentNameAlg: TPMAlgorithmID, parentName: [UInt8], parentQualifiedName: [UInt8], outsideInfo: [UInt8]) {
        self.pcrSelect = pcrSelect
        self.pcrDigest = pcrDigest
        self.locality = locality
        self.parentNameAlg = parentNameAlg
        self.parentName = parentName
        self.parentQualifiedName = parentQualifiedName
        self.outsideInfo = outsideInfo
    }

    public init(from reader: inout TPMReader) throws(TPMMarshalError) {
        pcrSelect = try TPMLPCRSelection(from: &reader)
        pcrDigest = try reader.sized("TPMS_CREATION_DATA.pcrDigest", maximum: TPMLimits.maxDigest)
        locality = try reader.u8("TPMS_CREATION_DATA.locality")
        parentNameAlg = try TPMAlgorithmID(from: &reader)
        parentName = try reader.sized("TPMS_CREATION_DATA.parentName", maximum: TPMLimits.maxName)
        parentQualifiedName = try reader.sized("TPMS_CREATION_DATA.parentQualifiedName", maximum: TPMLimits.maxName)
        outsideInfo = try reader.sized("TPMS_CREATION_DATA.outsideInfo", maximum: TPMLimits.maxDigest)
    }

    public func marshal(into writer: inout TPMWriter) {
        writer.write(pcrSelect)
        writer.sized(pcrDigest)
        writer.u8(locality)
        writer.write(parentNameAlg)
        writer.sized(parentName)
        writer.sized(parentQualifiedName)
        writer.sized(outsideInfo)
    }
}

/// TPMS_NV_PUBLIC: the public area of an NV index (Part 2 §13.5).
public struct TPMSNVPublic: Hashable, Sendable, TPMMarshalable {
    public var nvIndex: TPMHandle
    public var nameAlg: TPMAlgorithmID
    public var attributes: TPMANV
    public var authPolicy: [UInt8]
    public var dataSize: UInt16

    public init(nvIndex: TPMHandle, nameAlg: TPMAlgorithmID, attributes: TPMANV, authPolicy: [UInt8], dataSize: UInt16) {
        self.nvIndex = nvIndex
        self.nameAlg = nameAlg
        self.attributes = attributes
        self.authPolicy = authPolicy
        self.dataSize = dataSize
    }

    public init(from reader: inout TPMReader) throws(TPMMarshalError) {
        nvIndex = try TPMHandle(from: &reader)
        nameAlg = try TPMAlgorithmID(from: &reader)
        attributes = TPMANV(rawValue: try reader.u32("TPMS_NV_PUBLIC.attributes"))
        authPolicy = try reader.sized("TPMS_NV_PUBLIC.authPolicy", maximum: TPMLimits.maxDigest)
        dataSize = try reader.u16("TPMS_NV_PUBLIC.dataSize")
    }

    public func marshal(into writer: inout TPMWriter) {
        writer.write(nvIndex)
        writer.write(nameAlg)
        writer.u32(attributes.rawValue)
        writer.sized(authPolicy)
        writer.u16(dataSize)
    }

    /// The index's Name: nameAlg || H_nameAlg(TPMS_NV_PUBLIC) (Part 1 §16).
    public var name: [UInt8]? {
        guard let hash = TPMHashAlgorithm(nameAlg) else { return nil }
        return nameAlg.tpmBytes + hash.hash(tpmBytes)
    }
}

/// TPMS_CONTEXT: a saved object, session or sequence context (Part 2 §14.3).
public struct TPMSContext: Hashable, Sendable, TPMMarshalable {
    public var sequence: UInt64
    public var savedHandle: TPMHandle
    public var hierarchy: TPMHandle
    public var blob: [UInt8]

    public init(sequence: UInt64, savedHandle: TPMHandle, hierarchy: TPMHandle, blob: [UInt8]) {
        self.sequence = sequence
        self.savedHandle = savedHandle
        self.hierarchy = hierarchy
        self.blob = blob
    }

    public init(from reader: inout TPMReader) throws(TPMMarshalError) {
        sequence = try reader.u64("TPMS_CONTEXT.sequence")
        savedHandle = try TPMHandle(from: &reader)
        hierarchy = try TPMHandle(from: &reader)
        blob = try reader.sized("TPMS_CONTEXT.contextBlob", maximum: TPMLimits.maxContextData)
    }

    public func marshal(into writer: inout TPMWriter) {
        writer.u64(sequence)
        writer.write(savedHandle)
        writer.write(hierarchy)
        writer.sized(blob)
    }
}
