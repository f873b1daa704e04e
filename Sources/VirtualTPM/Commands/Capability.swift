import TPM2

/// TPM2_GetCapability (TPM 2.0 Part 3 §30.2) and the property values this vTPM reports.
extension TPMEngine {
    /// TPMA_ALGORITHM bits (Part 2 §8.2) of each implemented algorithm.
    static let algorithmProperties: [TPMAlgorithmID: UInt32] = [
        .rsa: 0x0009, .sha1: 0x0004, .hmac: 0x0104, .aes: 0x0002, .mgf1: 0x0404, .keyedHash: 0x0308,
        .xor: 0x0206, .sha256: 0x0004, .sha384: 0x0004, .sha512: 0x0004, .null: 0x0000,
        .rsassa: 0x0101, .rsaes: 0x0201, .rsapss: 0x0101, .oaep: 0x0201, .ecdsa: 0x0101,
        .ecdh: 0x0401, .kdf1SP800_56A: 0x0404, .kdf1SP800_108: 0x0404, .ecc: 0x0009,
        .symCipher: 0x0008, .cfb: 0x0202,
    ]

    /// MAX_CAP_DATA of the reference implementation: MAX_CAP_BUFFER (1024, reported as
    /// TPM_PT_MAX_CAP_BUFFER) less the capability and count fields. A response lists as many items
    /// as fit (MAX_CAP_CC = 254 commands, MAX_TPM_PROPERTIES = 127, ...): Linux reads the whole
    /// command list in one TPM2_GetCapability and drops to "firmware upgrade" mode (no PCR sysfs,
    /// no IMA) if fewer come back than TPM_PT_TOTAL_COMMANDS.
    static let maxCapabilityData = 1024 - 8

    func getCapability(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let rawCapability = try ctx.u32("capability")
        let property = try ctx.u32("property")
        let count = Int(try ctx.u32("propertyCount"))
        try ctx.finishParameters()
        guard let capability = TPMCapability(rawValue: rawCapability) else { throw TPMResponseCode.value.parameter(1) }
        var body = TPMWriter()
        var more = false

        /// Writes the items at or above `property`, at most `count` and as many of `itemSize`
        /// bytes as fit in MAX_CAP_DATA, and notes whether more remain.
        func emit<T>(_ all: [(key: UInt32, value: T)], itemSize: Int, _ write: (inout TPMWriter, T) -> Void) {
            let limit = min(count, Self.maxCapabilityData / itemSize)
            let selected = all.filter { $0.key >= property }
            more = selected.count > limit
            body.u32(UInt32(min(selected.count, limit)))
            for item in selected.prefix(limit) { write(&body, item.value) }
        }

        switch capability {
        case .algorithms:
            let algs = Self.algorithmProperties.sorted { $0.key.rawValue < $1.key.rawValue }.map { (key: UInt32($0.key.rawValue), value: $0) }
            emit(algs, itemSize: 6) { w, entry in w.write(entry.key); w.u32(entry.value) }
        case .handles:
            let handles = handleList(type: UInt8(property >> 24)).map { (key: $0, value: $0) }
            emit(handles, itemSize: 4) { w, handle in w.u32(handle) }
        case .commands:
            let commands = Self.commandTable.sorted { $0.key.rawValue < $1.key.rawValue }.map { (key: $0.key.rawValue, value: $0) }
            emit(commands, itemSize: 4) { w, entry in
                var attributes = entry.key.rawValue & 0xFFFF
                attributes |= UInt32(entry.value.handles) << 25
                if entry.value.responseHandle { attributes |= 1 << 28 }
                if entry.key == .flushContext { attributes |= 1 << 24 }
                w.u32(attributes)
            }
        case .pcrs:
            more = false
            body.write(TPMLPCRSelection(Self.banks.map { TPMSPCRSelection(hash: $0.id, indices: 0..<Self.pcrCount) }))
        case .tpmProperties:
            emit(tpmProperties().map { (key: $0.0.rawValue, value: $0) }, itemSize: 8) { w, entry in w.u32(entry.0.rawValue); w.u32(entry.1) }
        case .pcrProperties:
            emit(pcrProperties().map { (key: $0.tag, value: $0) }, itemSize: 8) { w, entry in w.u32(entry.tag); w.write(TPMSPCRSelection(hash: .null, indices: entry.pcrs).bitmapOnly) }
        case .eccCurves:
            emit(ECCKey.supportedCurves.map { (key: UInt32($0.rawValue), value: $0) }, itemSize: 2) { w, curve in w.u16(curve.rawValue) }
        default:
            throw TPMResponseCode.value.parameter(1)
        }
        ctx.out.u8(more ? 1 : 0)
        ctx.out.u32(rawCapability)
        ctx.out.bytes(body.bytes)
    }

    private func handleList(type: UInt8) -> [UInt32] {
        switch TPMHandle.Kind(rawValue: type) {
        case .pcr: return (0..<UInt32(Self.pcrCount)).map { $0 }
        case .nvIndex: return nv.nvIndices.keys.sorted()
        case .transient: return objects.keys.filter { $0 >> 24 == 0x80 }.sorted()
        case .persistent: return nv.persistentObjects.keys.sorted()
        case .hmacSession: return sessions.filter { $0.key >> 24 == 0x02 && !$0.value.saved }.keys.sorted()
        case .policySession: return sessions.filter { $0.key >> 24 == 0x03 && !$0.value.saved }.keys.sorted()
        case .permanent: return [TPMHandle.owner, .null, .password, .lockout, .endorsement, .platform, .platformNV].map(\.rawValue)
        default: return []
        }
    }

    private static func ascii(_ text: String) -> UInt32 {
        Array(text.utf8).prefix(4).reduce(0) { $0 << 8 | UInt32($1) } << (8 * UInt32(4 - min(4, text.utf8.count)))
    }

    /// TPM_PT values (Part 2 §6.13), in property order.
    private func tpmProperties() -> [(TPMPropertyTag, UInt32)] {
        let permanent: UInt32 = (nv.ownerAuth.isEmpty ? 0 : 1) | (nv.endorsementAuth.isEmpty ? 0 : 2) | (nv.lockoutAuth.isEmpty ? 0 : 4)
            | (nv.disableClear ? 0x100 : 0) | (nv.failedTries >= nv.maxTries ? 0x200 : 0) | 0x400
        let startupClear: UInt32 = (phEnable ? 1 : 0) | (shEnable ? 2 : 0) | (ehEnable ? 4 : 0) | (phEnableNV ? 8 : 0)
        let transient = UInt32(objects.keys.filter { $0 >> 24 == 0x80 }.count)
        let values: [TPMPropertyTag: UInt32] = [
            .familyIndicator: Self.ascii("2.0"), .level: 0, .revision: 159, .dayOfYear: 1, .year: 2025,
            .manufacturer: Self.ascii("CVMK"), .vendorString1: Self.ascii("CVMK"), .vendorString2: Self.ascii("it v"),
            .vendorString3: Self.ascii("TPM"), .vendorString4: 0, .vendorTPMType: 1,
            .firmwareVersion1: UInt32(Self.firmwareVersion >> 32), .firmwareVersion2: UInt32(Self.firmwareVersion & 0xFFFF_FFFF),
            .inputBuffer: UInt32(TPMLimits.maxBuffer), .hrTransientMin: UInt32(Self.maxObjects), .hrPersistentMin: 7,
            .hrLoadedMin: UInt32(Self.maxSessions), .activeSessionsMax: UInt32(Self.maxSessions), .pcrCount: UInt32(Self.pcrCount),
            .pcrSelectMin: 3, .contextGapMax: 0xFFFF, .nvCountersMax: 0, .nvIndexMax: UInt32(TPMLimits.maxNVIndexSize), .memory: 0, .clockUpdate: 1000,
            .contextHash: UInt32(TPMAlgorithmID.sha256.rawValue), .contextSym: UInt32(TPMAlgorithmID.aes.rawValue),
            .contextSymSize: 256, .orderlyCount: 255, .maxCommandSize: 4096, .maxResponseSize: 4096,
            .maxDigest: UInt32(TPMLimits.maxDigest), .maxObjectContext: UInt32(TPMLimits.maxContextData),
            .maxSessionContext: UInt32(TPMLimits.maxContextData), .psFamilyIndicator: 1, .psLevel: 0, .psRevision: 0x105,
            .psDayOfYear: 0, .psYear: 0, .splitMax: 128, .totalCommands: UInt32(Self.commandTable.count),
            .libraryCommands: UInt32(Self.commandTable.count), .vendorCommands: 0, .nvBufferMax: UInt32(TPMLimits.maxNVBuffer),
            .modes: 0, .maxCapBuffer: 1024,
            .permanent: permanent, .startupClear: startupClear | 0x8000_0000, .hrNVIndex: UInt32(nv.nvIndices.count),
            .hrLoaded: UInt32(sessions.count), .hrLoadedAvail: UInt32(Self.maxSessions - sessions.count),
            .hrActive: UInt32(sessions.count), .hrActiveAvail: UInt32(Self.maxSessions - sessions.count),
            .hrTransientAvail: UInt32(Self.maxObjects) - transient, .hrPersistent: UInt32(nv.persistentObjects.count),
            .hrPersistentAvail: UInt32(max(0, 64 - nv.persistentObjects.count)),
            .nvCounters: UInt32(nv.nvIndices.values.filter { $0.nvPublic.attributes.indexType == .counter }.count),
            .nvCountersAvail: 256, .algorithmSet: 0, .loadedCurves: UInt32(ECCKey.supportedCurves.count),
            .lockoutCounter: nv.failedTries, .maxAuthFail: nv.maxTries, .lockoutInterval: nv.recoveryTime,
            .lockoutRecovery: nv.lockoutRecovery, .nvWriteRecovery: 0, .auditCounter0: 0, .auditCounter1: 0,
        ]
        return values.sorted { $0.key.rawValue < $1.key.rawValue }.map { ($0.key, $0.value) }
    }

    /// TPM_PT_PCR properties (Part 2 §6.14) of the PC Client PCR layout.
    private func pcrProperties() -> [(tag: UInt32, pcrs: [Int])] {
        [
            (0x00, Array(0...23)),  // TPM_PT_PCR_SAVE
            (0x01, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 23]),  // EXTEND_L0
            (0x02, [16, 23]),  // RESET_L0
            (0x11, [16, 23]),  // NO_INCREMENT
            (0x12, Array(17...22)),  // DRTM_RESET
        ]
    }

    static let maxObjects = 16
    static let maxSessions = 64
}

extension TPMSPCRSelection {
    /// TPMS_TAGGED_PCR_SELECT carries only sizeofSelect and the bitmap.
    var bitmapOnly: TPMSPCRBitmap { TPMSPCRBitmap(bitmap: bitmap) }
}

/// sizeofSelect and pcrSelect without a hash, as in TPMS_TAGGED_PCR_SELECT (Part 2 §10.8.2).
struct TPMSPCRBitmap: TPMMarshalable {
    var bitmap: [UInt8]
    init(bitmap: [UInt8]) { self.bitmap = bitmap }
    init(from reader: inout TPMReader) throws(TPMMarshalError) {
        bitmap = try reader.bytes(Int(try reader.u8("sizeofSelect")), "pcrSelect")
    }
    func marshal(into writer: inout TPMWriter) {
        writer.u8(UInt8(bitmap.count))
        writer.bytes(bitmap)
    }
}
