import TPM2

/// Non-volatile index commands (TPM 2.0 Part 3 §31). Every change is committed to the state
/// store before the response, so an acknowledged write survives a crash.
extension TPMEngine {
    private func readNVPublic(_ ctx: inout CommandContext) throws(TPMResponseCode) -> TPMSNVPublic {
        try ctx.read(.hash) { r throws(TPMMarshalError) in
            try r.sizedStructure("TPM2B_NV_PUBLIC") { r2 throws(TPMMarshalError) in try TPMSNVPublic(from: &r2) }!
        }
    }

    /// TPM2_NV_DefineSpace (Part 3 §31.3).
    func nvDefineSpace(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let auth = try ctx.sized("auth", maximum: TPMLimits.maxDigest)
        var pub = try readNVPublic(&ctx)
        try ctx.finishParameters()
        let owner = ctx.handles[0]
        guard owner == .owner || owner == .platform else { throw TPMResponseCode.hierarchy.handle(1) }
        guard pub.nvIndex.kind == .nvIndex else { throw TPMResponseCode.value.parameter(2) }
        guard let hash = TPMHashAlgorithm(pub.nameAlg) else { throw TPMResponseCode.hash.parameter(2) }
        guard pub.authPolicy.isEmpty || pub.authPolicy.count == hash.digestSize else { throw TPMResponseCode.size.parameter(2) }
        guard auth.count <= hash.digestSize else { throw TPMResponseCode.size.parameter(1) }
        let a = pub.attributes
        guard a.intersection(.reserved).isEmpty, !a.contains(.writeLocked), !a.contains(.readLocked), !a.contains(.written),
              let type = a.indexType else { throw TPMResponseCode.attributes.parameter(2) }
        guard a.contains(.platformCreate) == (owner == .platform) else { throw TPMResponseCode.attributes.parameter(2) }
        guard !a.intersection([.ppWrite, .ownerWrite, .authWrite, .policyWrite]).isEmpty,
              !a.intersection([.ppRead, .ownerRead, .authRead, .policyRead]).isEmpty else { throw TPMResponseCode.attributes.parameter(2) }
        if a.contains(.policyDelete), pub.authPolicy.isEmpty { throw TPMResponseCode.attributes.parameter(2) }
        switch type {
        case .ordinary: guard pub.dataSize <= TPMLimits.maxNVIndexSize else { throw TPMResponseCode.size.parameter(2) }
        case .counter, .bits, .pinFail, .pinPass: guard pub.dataSize == 8 else { throw TPMResponseCode.size.parameter(2) }
        case .extend: guard Int(pub.dataSize) == hash.digestSize else { throw TPMResponseCode.size.parameter(2) }
        }
        guard nv.nvIndices[pub.nvIndex.rawValue] == nil else { throw TPMResponseCode.nvDefined }
        guard nv.nvIndices.count < 2048 else { throw TPMResponseCode.nvSpace }
        pub.attributes.remove(.written)
        nv.nvIndices[pub.nvIndex.rawValue] = NVIndex(publicArea: pub.tpmBytes, authValue: Self.trimmed(auth), data: [])
        try commitNV()
    }

    /// TPM2_NV_UndefineSpace (Part 3 §31.4).
    func nvUndefineSpace(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        try ctx.finishParameters()
        let owner = ctx.handles[0], handle = ctx.handles[1]
        guard owner == .owner || owner == .platform else { throw TPMResponseCode.hierarchy.handle(1) }
        guard let index = nv.nvIndices[handle.rawValue] else { throw TPMResponseCode.handle.handle(2) }
        let a = index.nvPublic.attributes
        guard !a.contains(.policyDelete) else { throw TPMResponseCode.attributes.handle(2) }
        guard a.contains(.platformCreate) == (owner == .platform) || owner == .platform else { throw TPMResponseCode.nvAuthorization }
        nv.nvIndices[handle.rawValue] = nil
        try commitNV()
    }

    /// TPM2_NV_ReadPublic (Part 3 §31.6).
    func nvReadPublic(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        try ctx.finishParameters()
        guard let index = nv.nvIndices[ctx.handles[0].rawValue] else { throw TPMResponseCode.handle.handle(1) }
        let pub = index.nvPublic
        ctx.out.sizedStructure { pub.marshal(into: &$0) }
        ctx.out.sized(pub.name!)
    }

    /// Checks that `authHandle` may write the index (Part 3 §31.1: TPMA_NV owner/auth/policy/pp
    /// write bits, and the locks).
    private func checkNVWrite(_ ctx: CommandContext) throws(TPMResponseCode) -> NVIndex {
        let authHandle = ctx.handles[0], handle = ctx.handles[1]
        guard let index = nv.nvIndices[handle.rawValue] else { throw TPMResponseCode.handle.handle(2) }
        let a = index.nvPublic.attributes
        let allowed: Bool
        switch authHandle {
        case .owner: allowed = a.contains(.ownerWrite)
        case .platform: allowed = a.contains(.ppWrite) && phEnableNV
        case handle: allowed = ctx.authSessionHandles.first?.kind == .policySession ? a.contains(.policyWrite) : a.contains(.authWrite)
        default: allowed = false
        }
        guard allowed else { throw TPMResponseCode.nvAuthorization }
        guard !a.contains(.writeLocked) else { throw TPMResponseCode.nvLocked }
        return index
    }

    /// Checks that `authHandle` may read the index.
    func checkNVRead(index: NVIndex, authHandle: TPMHandle, indexHandle: TPMHandle, policySession: Bool = false) throws(TPMResponseCode) {
        let a = index.nvPublic.attributes
        let allowed: Bool
        switch authHandle {
        case .owner: allowed = a.contains(.ownerRead)
        case .platform: allowed = a.contains(.ppRead)
        case indexHandle: allowed = policySession ? a.contains(.policyRead) : a.contains(.authRead)
        default: allowed = false
        }
        guard allowed else { throw TPMResponseCode.nvAuthorization }
        guard !a.contains(.readLocked) else { throw TPMResponseCode.nvLocked }
        guard a.contains(.written) else { throw TPMResponseCode.nvUninitialized }
    }

    private func store(_ index: NVIndex, data: [UInt8], at handle: TPMHandle) throws(TPMResponseCode) {
        var updated = index
        updated.data = data
        var pub = updated.nvPublic
        pub.attributes.insert(.written)
        updated.nvPublic = pub
        nv.nvIndices[handle.rawValue] = updated
        try commitNV()
    }

    /// TPM2_NV_Write (Part 3 §31.7).
    func nvWrite(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let data = try ctx.sized("data", maximum: TPMLimits.maxNVBuffer)
        let offset = Int(try ctx.u16("offset"))
        try ctx.finishParameters()
        let index = try checkNVWrite(ctx)
        let pub = index.nvPublic
        guard pub.attributes.indexType == .ordinary else { throw TPMResponseCode.attributes }
        guard offset + data.count <= Int(pub.dataSize) else { throw TPMResponseCode.nvRange }
        if pub.attributes.contains(.writeAll), data.count != Int(pub.dataSize) { throw TPMResponseCode.nvRange }
        var contents = index.data.isEmpty ? [UInt8](repeating: 0xFF, count: Int(pub.dataSize)) : index.data
        contents.replaceSubrange(offset..<offset + data.count, with: data)
        try store(index, data: contents, at: ctx.handles[1])
    }

    /// TPM2_NV_Increment (Part 3 §31.8).
    func nvIncrement(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        try ctx.finishParameters()
        let index = try checkNVWrite(ctx)
        guard index.nvPublic.attributes.indexType == .counter else { throw TPMResponseCode.attributes }
        let value = index.data.count == 8 ? index.data.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } : 0
        var writer = TPMWriter()
        writer.u64(value &+ 1)
        try store(index, data: writer.bytes, at: ctx.handles[1])
    }

    /// TPM2_NV_Extend (Part 3 §31.9): data = H(data || new).
    func nvExtend(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let data = try ctx.sized("data", maximum: TPMLimits.maxNVBuffer)
        try ctx.finishParameters()
        let index = try checkNVWrite(ctx)
        let pub = index.nvPublic
        guard pub.attributes.indexType == .extend, let hash = TPMHashAlgorithm(pub.nameAlg) else { throw TPMResponseCode.attributes }
        try store(index, data: hash.hash(index.data.isEmpty ? hash.zeroDigest : index.data, data), at: ctx.handles[1])
    }

    /// TPM2_NV_Read (Part 3 §31.13).
    func nvRead(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let size = Int(try ctx.u16("size"))
        let offset = Int(try ctx.u16("offset"))
        try ctx.finishParameters()
        guard let index = nv.nvIndices[ctx.handles[1].rawValue] else { throw TPMResponseCode.handle.handle(2) }
        try checkNVRead(index: index, authHandle: ctx.handles[0], indexHandle: ctx.handles[1], policySession: ctx.authSessionHandles.first?.kind == .policySession)
        guard offset + size <= index.data.count else { throw TPMResponseCode.nvRange }
        ctx.out.sized(index.data[offset..<offset + size])
    }

    /// TPM2_NV_WriteLock (Part 3 §31.10).
    func nvWriteLock(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        try ctx.finishParameters()
        let index = try checkNVWrite(ctx)
        var pub = index.nvPublic
        guard !pub.attributes.isDisjoint(with: [.writeDefine, .writeSTClear]) else { throw TPMResponseCode.attributes.handle(2) }
        pub.attributes.insert(.writeLocked)
        var updated = index
        updated.nvPublic = pub
        nv.nvIndices[ctx.handles[1].rawValue] = updated
        try commitNV()
    }

    /// TPM2_NV_ReadLock (Part 3 §31.14).
    func nvReadLock(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        try ctx.finishParameters()
        guard var index = nv.nvIndices[ctx.handles[1].rawValue] else { throw TPMResponseCode.handle.handle(2) }
        var pub = index.nvPublic
        guard pub.attributes.contains(.readSTClear) else { throw TPMResponseCode.attributes.handle(2) }
        let a = pub.attributes
        let allowed = switch ctx.handles[0] {
        case .owner: a.contains(.ownerRead)
        case .platform: a.contains(.ppRead)
        default: a.contains(.authRead) || a.contains(.policyRead)
        }
        guard allowed else { throw TPMResponseCode.nvAuthorization }
        pub.attributes.insert(.readLocked)
        index.nvPublic = pub
        nv.nvIndices[ctx.handles[1].rawValue] = index
        try commitNV()
    }
}
