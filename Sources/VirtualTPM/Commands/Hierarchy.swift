import TPM2

/// Hierarchy and dictionary-attack commands (TPM 2.0 Part 3 §24-§25).
extension TPMEngine {
    /// TPM2_HierarchyChangeAuth (Part 3 §24.8).
    func hierarchyChangeAuth(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let newAuth = Self.trimmed(try ctx.sized("newAuth", maximum: TPMLimits.maxDigest))
        try ctx.finishParameters()
        switch ctx.handles[0] {
        case .owner: nv.ownerAuth = newAuth
        case .endorsement: nv.endorsementAuth = newAuth
        case .lockout: nv.lockoutAuth = newAuth
        case .platform: platformAuth = newAuth
        default: throw TPMResponseCode.value.handle(1)
        }
        try commitNV()
    }

    /// TPM2_HierarchyControl (Part 3 §24.5): the platform can enable and disable every
    /// hierarchy; owner and endorsement can only disable their own.
    func hierarchyControl(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let target = try ctx.read { r throws(TPMMarshalError) in try TPMHandle(from: &r) }
        let state = try ctx.u8("state")
        try ctx.finishParameters()
        guard state <= 1 else { throw TPMResponseCode.value.parameter(2) }
        let auth = ctx.handles[0]
        guard [.owner, .endorsement, .platform, .platformNV].contains(target) else { throw TPMResponseCode.value.parameter(1) }
        if auth != .platform {
            guard auth == target, state == 0 else { throw TPMResponseCode.authType }
        }
        let enable = state == 1
        switch target {
        case .owner: shEnable = enable
        case .endorsement: ehEnable = enable
        case .platform: phEnable = enable
        default: phEnableNV = enable
        }
        if !enable { objects = objects.filter { $0.value.hierarchy != target || $0.value.persistentHandle != nil } }
    }

    /// TPM2_Clear (Part 3 §24.6): new storage seed, owner/endorsement/lockout auth and policies
    /// cleared, owner and endorsement objects and the owner's NV indices removed.
    func clear(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        try ctx.finishParameters()
        guard ctx.handles[0] == .lockout || ctx.handles[0] == .platform else { throw TPMResponseCode.value.handle(1) }
        guard !nv.disableClear else { throw TPMResponseCode.disabled }
        nv.storageSeed = SystemRandom.bytes(64)
        nv.ownerAuth = []
        nv.endorsementAuth = []
        nv.lockoutAuth = []
        nv.ownerPolicy = PolicyValue()
        nv.endorsementPolicy = PolicyValue()
        nv.lockoutPolicy = PolicyValue()
        nv.failedTries = 0
        nv.lockoutAuthEnabled = true
        nv.persistentObjects = nv.persistentObjects.filter { $0.value.hierarchy == TPMHandle.platform.rawValue }
        nv.nvIndices = nv.nvIndices.filter { $0.value.nvPublic.attributes.contains(.platformCreate) }
        objects = objects.filter { $0.value.hierarchy == .platform || $0.value.hierarchy == .null }
        shEnable = true
        ehEnable = true
        try commitNV()
    }

    /// TPM2_ClearControl (Part 3 §24.7): lockout may only disable Clear; the platform may also
    /// enable it.
    func clearControl(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let disable = try ctx.u8("disable")
        try ctx.finishParameters()
        guard disable <= 1 else { throw TPMResponseCode.value.parameter(1) }
        guard ctx.handles[0] == .lockout || ctx.handles[0] == .platform else { throw TPMResponseCode.value.handle(1) }
        if ctx.handles[0] == .lockout, disable == 0 { throw TPMResponseCode.authFail }
        nv.disableClear = disable == 1
        try commitNV()
    }

    /// TPM2_DictionaryAttackLockReset (Part 3 §25.2).
    func dictionaryAttackLockReset(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        try ctx.finishParameters()
        guard ctx.handles[0] == .lockout else { throw TPMResponseCode.value.handle(1) }
        nv.failedTries = 0
        try commitNV()
    }

    /// TPM2_DictionaryAttackParameters (Part 3 §25.3).
    func dictionaryAttackParameters(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let maxTries = try ctx.u32("newMaxTries")
        let recovery = try ctx.u32("newRecoveryTime")
        let lockoutRecovery = try ctx.u32("lockoutRecovery")
        try ctx.finishParameters()
        guard ctx.handles[0] == .lockout else { throw TPMResponseCode.value.handle(1) }
        nv.maxTries = maxTries
        nv.recoveryTime = recovery
        nv.lockoutRecovery = lockoutRecovery
        nv.failedTries = min(nv.failedTries, maxTries)
        try commitNV()
    }
}
