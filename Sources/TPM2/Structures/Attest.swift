/// TPMS_CLOCK_INFO (TPM 2.0 Part 2 §10.11.1).
public struct TPMSClockInfo: Hashable, Sendable, TPMMarshalable {
    public var clock: UInt64
    public var resetCount: UInt32
    public var restartCount: UInt32
    public var safe: Bool

    public init(clock: UInt64, resetCount: UInt32, restartCount: UInt32, safe: Bool) {
        self.clock = clock
        self.resetCount = resetCount
        self.restartCount = restartCount
        self.safe = safe
    }

    public init(from reader: inout TPMReader) throws(TPMMarshalError) {
        clock = try reader.u64("TPMS_CLOCK_INFO.clock")
        resetCount = try reader.u32("TPMS_CLOCK_INFO.resetCount")
        restartCount = try reader.u32("TPMS_CLOCK_INFO.restartCount")
        let start = reader.offset
        let safe = try reader.u8("TPMS_CLOCK_INFO.safe")
        guard safe <= 1 else { throw .invalidValue(field: "TPMS_CLOCK_INFO.safe", offset: start, value: UInt64(safe)) }
        self.safe = safe == 1
    }

    public func marshal(into writer: inout TPMWriter) {
        writer.u64(clock)
        writer.u32(resetCount)
        writer.u32(restartCount)
        writer.u8(safe ? 1 : 0)
    }
}

/// TPMU_ATTEST: what an attestation structure attests to (Part 2 §10.12.11).
public enum TPMUAttest: Hashable, Sendable {
    /// TPMS_QUOTE_INFO.
    case quote(pcrSelect: TPMLPCRSelection, pcrDigest: [UInt8])
    /// TPMS_CERTIFY_INFO.
    case certify(name: [UInt8], qualifiedName: [UInt8])
    /// TPMS_CREATION_INFO.
    case creation(objectName: [UInt8], creationHash: [UInt8])
    /// TPMS_COMMAND_AUDIT_INFO.
    case commandAudit(auditCounter: UInt64, digestAlg: TPMAlgorithmID, auditDigest: [UInt8], commandDigest: [UInt8])
    /// TPMS_SESSION_AUDIT_INFO.
    case sessionAudit(exclusiveSession: Bool, sessionDigest: [UInt8])
    /// TPMS_TIME_ATTEST_INFO.
    case time(time: UInt64, clockInfo: TPMSClockInfo, firmwareVersion: UInt64)
    /// TPMS_NV_CERTIFY_INFO.
    case nv(indexName: [UInt8], offset: UInt16, contents: [UInt8])
    /// TPMS_NV_DIGEST_CERTIFY_INFO.
    case nvDigest(indexName: [UInt8], digest: [UInt8])

    public var tag: TPMStructureTag {
        switch self {
        case .quote: .attestQuote
        case .certify: .attestCertify
        case .creation: .attestCreation
        case .commandAudit: .attestCommandAudit
        case .sessionAudit: .attestSessionAudit
        case .time: .attestTime
        case .nv: .attestNV
        case .nvDigest: .attestNVDigest
        }
    }
}

/// TPMS_ATTEST: the structure the TPM signs in Quote, Certify, CertifyCreation, GetTime,
/// NV_Certify and the audit commands (Part 2 §10.12.12).
public struct TPMSAttest: Hashable, Sendable, TPMMarshalable {
    /// TPM_GENERATED_VALUE (Part 2 §6.2): "\xFFTCG".
    public static let generatedMagic: UInt32 = 0xFF54_4347

    public var qualifiedSigner: [UInt8]
    public var extraData: [UInt8]
    public var clockInfo: TPMSClockInfo
    public var firmwareVersion: UInt64
    public var attested: TPMUAttest

    public init(qualifiedSigner: [UInt8], extraData: [UInt8], clockInfo: TPMSClockInfo, firmwareVersion: UInt64, attested: TPMUAttest) {
        self.qualifiedSigner = qualifiedSigner
        self.extraData = extraData
        self.clockInfo = clockInfo
        self.firmwareVersion = firmwareVersion
        self.attested = attested
    }

    public init(from reader: inout TPMReader) throws(TPMMarshalError) {
        let start = reader.offset
        let magic = try reader.u32("TPMS_ATTEST.magic")
        guard magic == Self.generatedMagic else { throw .invalidValue(field: "TPMS_ATTEST.magic", offset: start, value: UInt64(magic)) }
        let tagStart = reader.offset
        let rawTag = try reader.u16("TPMS_ATTEST.type")
        qualifiedSigner = try reader.sized("TPMS_ATTEST.qualifiedSigner", maximum: TPMLimits.maxName)
        extraData = try reader.sized("TPMS_ATTEST.extraData", maximum: TPMLimits.maxDigest)
        clockInfo = try TPMSClockInfo(from: &reader)
        firmwareVersion = try reader.u64("TPMS_ATTEST.firmwareVersion")
        switch TPMStructureTag(rawValue: rawTag) {
        case .attestQuote:
            attested = .quote(pcrSelect: try TPMLPCRSelection(from: &reader), pcrDigest: try reader.sized("TPMS_QUOTE_INFO.pcrDigest", maximum: TPMLimits.maxDigest))
        case .attestCertify:
            attested = .certify(name: try reader.sized("TPMS_CERTIFY_INFO.name", maximum: TPMLimits.maxName), qualifiedName: try reader.sized("TPMS_CERTIFY_INFO.qualifiedName", maximum: TPMLimits.maxName))
        case .attestCreation:
            attested = .creation(objectName: try reader.sized("TPMS_CREATION_INFO.objectName", maximum: TPMLimits.maxName), creationHash: try reader.sized("TPMS_CREATION_INFO.creationHash", maximum: TPMLimits.maxDigest))
        case .attestCommandAudit:
            attested = .commandAudit(
                auditCounter: try reader.u64("TPMS_COMMAND_AUDIT_INFO.auditCounter"),
                digestAlg: try TPMAlgorithmID(from: &reader),
                auditDigest: try reader.sized("TPMS_COMMAND_AUDIT_INFO.auditDigest", maximum: TPMLimits.maxDigest),
                commandDigest: try reader.sized("TPMS_COMMAND_AUDIT_INFO.commandDigest", maximum: TPMLimits.maxDigest))
        case .attestSessionAudit:
            let exclusiveStart = reader.offset
            let exclusive = try reader.u8("TPMS_SESSION_AUDIT_INFO.exclusiveSession")
            guard exclusive <= 1 else { throw .invalidValue(field: "TPMS_SESSION_AUDIT_INFO.exclusiveSession", offset: exclusiveStart, value: UInt64(exclusive)) }
            attested = .sessionAudit(exclusiveSession: exclusive == 1, sessionDigest: try reader.sized("TPMS_SESSION_AUDIT_INFO.sessionDigest", maximum: TPMLimits.maxDigest))
        case .attestTime:
            attested = .time(time: try reader.u64("TPMS_TIME_INFO.time"), clockInfo: try TPMSClockInfo(from: &reader), firmwareVersion: try reader.u64("TPMS_TIME_ATTEST_INFO.firmwareVersion"))
        case .attestNV:
            attested = .nv(indexName: try reader.sized("TPMS_NV_CERTIFY_INFO.indexName", maximum: TPMLimits.maxName), offset: try reader.u16("TPMS_NV_CERTIFY_INFO.offset"), contents: try reader.sized("TPMS_NV_CERTIFY_INFO.nvContents", maximum: TPMLimits.maxNVBuffer))
        case .attestNVDigest:
            attested = .nvDigest(indexName: try reader.sized("TPMS_NV_DIGEST_CERTIFY_INFO.indexName", maximum: TPMLimits.maxName), digest: try reader.sized("TPMS_NV_DIGEST_CERTIFY_INFO.nvDigest", maximum: TPMLimits.maxDigest))
        default:
            throw reader.error("TPMS_ATTEST.type", selector: rawTag, at: tagStart)
        }
    }

    public func marshal(into writer: inout TPMWriter) {
        writer.u32(Self.generatedMagic)
        writer.u16(attested.tag.rawValue)
        writer.sized(qualifiedSigner)
        writer.sized(extraData)
        writer.write(clockInfo)
        writer.u64(firmwareVersion)
        switch attested {
        case let .quote(pcrSelect, pcrDigest):
            writer.write(pcrSelect)
            writer.sized(pcrDigest)
        case let .certify(name, qualifiedName):
            writer.sized(name)
            writer.sized(qualifiedName)
        case let .creation(objectName, creationHash):
            writer.sized(objectName)
            writer.sized(creationHash)
        case let .commandAudit(counter, alg, auditDigest, commandDigest):
            writer.u64(counter)
            writer.write(alg)
            writer.sized(auditDigest)
            writer.sized(commandDigest)
        case let .sessionAudit(exclusive, digest):
            writer.u8(exclusive ? 1 : 0)
            writer.sized(digest)
        case let .time(time, clockInfo, firmwareVersion):
            writer.u64(time)
            writer.write(clockInfo)
            writer.u64(firmwareVersion)
        case let .nv(indexName, offset, contents):
            writer.sized(indexName)
            writer.u16(offset)
            writer.sized(contents)
        case let .nvDigest(indexName, digest):
            writer.sized(indexName)
            writer.sized(digest)
        }
    }
}
