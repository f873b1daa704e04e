import TPM2

/// What the dispatcher needs to know about a command (TPM 2.0 Part 3 §4 command tables): how
/// many handles it takes, which of them need authorization and in which role, whether it
/// returns a handle, and whether its first command / response parameter is a TPM2B that a
/// session may encrypt (Part 1 §21.1).
struct CommandSpec: Sendable {
    typealias Handler = @Sendable (TPMEngine, inout CommandContext) throws(TPMResponseCode) -> Void

    let handleTypes: [HandleType]
    let authRoles: [AuthRole?]
    let responseHandle: Bool
    let decryptsCommand: Bool
    let encryptsResponse: Bool
    let run: Handler

    var handles: Int { handleTypes.count }

    init(handles: [HandleType] = [], auth: [AuthRole?] = [], responseHandle: Bool = false, decrypt: Bool = false, encrypt: Bool = false, _ run: @escaping Handler) {
        self.handleTypes = handles
        self.authRoles = auth
        self.responseHandle = responseHandle
        self.decryptsCommand = decrypt
        self.encryptsResponse = encrypt
        self.run = run
    }
}

/// A handle interface type of TPM 2.0 Part 2 §9 (TPMI_DH_OBJECT, TPMI_RH_PROVISION...): the
/// handles a command accepts in one handle slot. A handle outside it fails unmarshaling with
/// TPM_RC_VALUE naming the handle, before the TPM looks for the entity (Part 3 §5.4).
/// A few kinds and permanent handles each, so plain arrays: a lookup is a handful of compares.
struct HandleType: Sendable {
    let kinds: [TPMHandle.Kind]
    let permanent: [TPMHandle]

    func admits(_ handle: TPMHandle) -> Bool {
        guard let kind = handle.kind else { return false }
        return kind == .permanent ? permanent.contains(handle) : kinds.contains(kind)
    }

    /// TPMI_DH_OBJECT.
    static let object = HandleType(kinds: [.transient, .persistent], permanent: [])
    /// TPMI_DH_OBJECT+.
    static let objectOrNull = HandleType(kinds: [.transient, .persistent], permanent: [.null])
    /// TPMI_DH_PARENT+.
    static let parent = HandleType(kinds: [.transient, .persistent], permanent: [.owner, .endorsement, .platform, .null])
    /// TPMI_DH_ENTITY.
    static let entity = HandleType(kinds: [.transient, .persistent, .nvIndex, .pcr], permanent: [.owner, .endorsement, .platform, .lockout])
    /// TPMI_DH_ENTITY+.
    static let entityOrNull = HandleType(kinds: entity.kinds, permanent: entity.permanent + [.null])
    /// TPMI_DH_PCR+.
    static let pcr = HandleType(kinds: [.pcr], permanent: [.null])
    /// TPMI_DH_CONTEXT.
    static let context = HandleType(kinds: [.transient, .hmacSession, .policySession], permanent: [])
    /// TPMI_SH_POLICY.
    static let policySession = HandleType(kinds: [.policySession], permanent: [])
    /// TPMI_RH_HIERARCHY+.
    static let hierarchy = HandleType(kinds: [], permanent: [.owner, .endorsement, .platform, .null])
    /// TPMI_RH_HIERARCHY_AUTH.
    static let hierarchyAuth = HandleType(kinds: [], permanent: [.owner, .endorsement, .platform, .lockout])
    /// TPMI_RH_PROVISION.
    static let provision = HandleType(kinds: [], permanent: [.owner, .platform])
    /// TPMI_RH_CLEAR.
    static let clear = HandleType(kinds: [], permanent: [.lockout, .platform])
    /// TPMI_RH_LOCKOUT.
    static let lockout = HandleType(kinds: [], permanent: [.lockout])
    /// TPMI_RH_NV_AUTH.
    static let nvAuth = HandleType(kinds: [.nvIndex], permanent: [.owner, .platform])
    /// TPMI_RH_NV_INDEX.
    static let nvIndex = HandleType(kinds: [.nvIndex], permanent: [])
}

extension TPMEngine {
    /// Every implemented command; anything else is TPM_RC_COMMAND_CODE.
    static let commandTable: [TPMCommandCode: CommandSpec] = [
        .startup: CommandSpec({ engine, context throws(TPMResponseCode) in try engine.startup(&context) }),
        .shutdown: CommandSpec({ engine, context throws(TPMResponseCode) in try engine.shutdown(&context) }),
        .selfTest: CommandSpec({ engine, context throws(TPMResponseCode) in try engine.selfTest(&context) }),
        .incrementalSelfTest: CommandSpec({ engine, context throws(TPMResponseCode) in try engine.incrementalSelfTest(&context) }),
        .getTestResult: CommandSpec(encrypt: true, { engine, context throws(TPMResponseCode) in try engine.getTestResult(&context) }),
        .getRandom: CommandSpec(encrypt: true, { engine, context throws(TPMResponseCode) in try engine.getRandom(&context) }),
        .stirRandom: CommandSpec(decrypt: true, { engine, context throws(TPMResponseCode) in try engine.stirRandom(&context) }),
        .getCapability: CommandSpec({ engine, context throws(TPMResponseCode) in try engine.getCapability(&context) }),
        .testParms: CommandSpec({ engine, context throws(TPMResponseCode) in try engine.testParms(&context) }),
        .readClock: CommandSpec({ engine, context throws(TPMResponseCode) in try engine.readClock(&context) }),
        .pcrExtend: CommandSpec(handles: [.pcr], auth: [.user], { engine, context throws(TPMResponseCode) in try engine.pcrExtend(&context) }),
        .pcrEvent: CommandSpec(handles: [.pcr], auth: [.user], decrypt: true, { engine, context throws(TPMResponseCode) in try engine.pcrEvent(&context) }),
        .pcrRead: CommandSpec({ engine, context throws(TPMResponseCode) in try engine.pcrRead(&context) }),
        .pcrReset: CommandSpec(handles: [.pcr], auth: [.user], { engine, context throws(TPMResponseCode) in try engine.pcrReset(&context) }),
        .createPrimary: CommandSpec(handles: [.hierarchy], auth: [.user], responseHandle: true, decrypt: true, encrypt: true, { engine, context throws(TPMResponseCode) in try engine.createPrimary(&context) }),
        .create: CommandSpec(handles: [.object], auth: [.user], decrypt: true, encrypt: true, { engine, context throws(TPMResponseCode) in try engine.create(&context) }),
        .createLoaded: CommandSpec(handles: [.parent], auth: [.user], responseHandle: true, decrypt: true, encrypt: true, { engine, context throws(TPMResponseCode) in try engine.createLoaded(&context) }),
        .load: CommandSpec(handles: [.object], auth: [.user], responseHandle: true, decrypt: true, encrypt: true, { engine, context throws(TPMResponseCode) in try engine.load(&context) }),
        .loadExternal: CommandSpec(responseHandle: true, decrypt: true, encrypt: true, { engine, context throws(TPMResponseCode) in try engine.loadExternal(&context) }),
        .readPublic: CommandSpec(handles: [.object], encrypt: true, { engine, context throws(TPMResponseCode) in try engine.readPublic(&context) }),
        .objectChangeAuth: CommandSpec(handles: [.object, .object], auth: [.admin], decrypt: true, encrypt: true, { engine, context throws(TPMResponseCode) in try engine.objectChangeAuth(&context) }),
        .unseal: CommandSpec(handles: [.object], auth: [.user], encrypt: true, { engine, context throws(TPMResponseCode) in try engine.unseal(&context) }),
        .evictControl: CommandSpec(handles: [.provision, .object], auth: [.user], { engine, context throws(TPMResponseCode) in try engine.evictControl(&context) }),
        .flushContext: CommandSpec({ engine, context throws(TPMResponseCode) in try engine.flushContext(&context) }),
        .contextSave: CommandSpec(handles: [.context], { engine, context throws(TPMResponseCode) in try engine.contextSave(&context) }),
        .contextLoad: CommandSpec(responseHandle: true, { engine, context throws(TPMResponseCode) in try engine.contextLoad(&context) }),
        .startAuthSession: CommandSpec(handles: [.objectOrNull, .entityOrNull], responseHandle: true, decrypt: true, encrypt: true, { engine, context throws(TPMResponseCode) in try engine.startAuthSession(&context) }),
        .policyPCR: CommandSpec(handles: [.policySession], decrypt: true, { engine, context throws(TPMResponseCode) in try engine.policyPCR(&context) }),
        .policyPassword: CommandSpec(handles: [.policySession], { engine, context throws(TPMResponseCode) in try engine.policyPassword(&context) }),
        .policyAuthValue: CommandSpec(handles: [.policySession], { engine, context throws(TPMResponseCode) in try engine.policyAuthValue(&context) }),
        .policyCommandCode: CommandSpec(handles: [.policySession], { engine, context throws(TPMResponseCode) in try engine.policyCommandCode(&context) }),
        .policyOR: CommandSpec(handles: [.policySession], { engine, context throws(TPMResponseCode) in try engine.policyOR(&context) }),
        .policyAuthorize: CommandSpec(handles: [.policySession], decrypt: true, { engine, context throws(TPMResponseCode) in try engine.policyAuthorize(&context) }),
        .policySecret: CommandSpec(handles: [.entity, .policySession], auth: [.user], decrypt: true, encrypt: true, { engine, context throws(TPMResponseCode) in try engine.policySecret(&context) }),
        .policySigned: CommandSpec(handles: [.object, .policySession], decrypt: true, encrypt: true, { engine, context throws(TPMResponseCode) in try engine.policySigned(&context) }),
        .policyNV: CommandSpec(handles: [.nvAuth, .nvIndex, .policySession], auth: [.user], decrypt: true, { engine, context throws(TPMResponseCode) in try engine.policyNV(&context) }),
        .policyGetDigest: CommandSpec(handles: [.policySession], encrypt: true, { engine, context throws(TPMResponseCode) in try engine.policyGetDigest(&context) }),
        .policyRestart: CommandSpec(handles: [.policySession], { engine, context throws(TPMResponseCode) in try engine.policyRestart(&context) }),
        .sign: CommandSpec(handles: [.object], auth: [.user], decrypt: true, { engine, context throws(TPMResponseCode) in try engine.signCommand(&context) }),
        .verifySignature: CommandSpec(handles: [.object], decrypt: true, { engine, context throws(TPMResponseCode) in try engine.verifySignatureCommand(&context) }),
        .quote: CommandSpec(handles: [.objectOrNull], auth: [.user], decrypt: true, encrypt: true, { engine, context throws(TPMResponseCode) in try engine.quote(&context) }),
        .certify: CommandSpec(handles: [.object, .objectOrNull], auth: [.admin, .user], decrypt: true, encrypt: true, { engine, context throws(TPMResponseCode) in try engine.certify(&context) }),
        .hash: CommandSpec(decrypt: true, encrypt: true, { engine, context throws(TPMResponseCode) in try engine.hashCommand(&context) }),
        .hmac: CommandSpec(handles: [.object], auth: [.user], decrypt: true, encrypt: true, { engine, context throws(TPMResponseCode) in try engine.hmacCommand(&context) }),
        .hashSequenceStart: CommandSpec(responseHandle: true, decrypt: true, { engine, context throws(TPMResponseCode) in try engine.hashSequenceStart(&context) }),
        .sequenceUpdate: CommandSpec(handles: [.object], auth: [.user], decrypt: true, { engine, context throws(TPMResponseCode) in try engine.sequenceUpdate(&context) }),
        .sequenceComplete: CommandSpec(handles: [.object], auth: [.user], decrypt: true, encrypt: true, { engine, context throws(TPMResponseCode) in try engine.sequenceComplete(&context) }),
        .eventSequenceComplete: CommandSpec(handles: [.pcr, .object], auth: [.user, .user], decrypt: true, { engine, context throws(TPMResponseCode) in try engine.eventSequenceComplete(&context) }),
        .nvDefineSpace: CommandSpec(handles: [.provision], auth: [.user], decrypt: true, { engine, context throws(TPMResponseCode) in try engine.nvDefineSpace(&context) }),
        .nvUndefineSpace: CommandSpec(handles: [.provision, .nvIndex], auth: [.user], { engine, context throws(TPMResponseCode) in try engine.nvUndefineSpace(&context) }),
        .nvReadPublic: CommandSpec(handles: [.nvIndex], encrypt: true, { engine, context throws(TPMResponseCode) in try engine.nvReadPublic(&context) }),
        .nvWrite: CommandSpec(handles: [.nvAuth, .nvIndex], auth: [.user], decrypt: true, { engine, context throws(TPMResponseCode) in try engine.nvWrite(&context) }),
        .nvIncrement: CommandSpec(handles: [.nvAuth, .nvIndex], auth: [.user], { engine, context throws(TPMResponseCode) in try engine.nvIncrement(&context) }),
        .nvExtend: CommandSpec(handles: [.nvAuth, .nvIndex], auth: [.user], decrypt: true, { engine, context throws(TPMResponseCode) in try engine.nvExtend(&context) }),
        .nvRead: CommandSpec(handles: [.nvAuth, .nvIndex], auth: [.user], encrypt: true, { engine, context throws(TPMResponseCode) in try engine.nvRead(&context) }),
        .nvWriteLock: CommandSpec(handles: [.nvAuth, .nvIndex], auth: [.user], { engine, context throws(TPMResponseCode) in try engine.nvWriteLock(&context) }),
        .nvReadLock: CommandSpec(handles: [.nvAuth, .nvIndex], auth: [.user], { engine, context throws(TPMResponseCode) in try engine.nvReadLock(&context) }),
        .hierarchyChangeAuth: CommandSpec(handles: [.hierarchyAuth], auth: [.user], decrypt: true, { engine, context throws(TPMResponseCode) in try engine.hierarchyChangeAuth(&context) }),
        .hierarchyControl: CommandSpec(handles: [.hierarchy], auth: [.user], { engine, context throws(TPMResponseCode) in try engine.hierarchyControl(&context) }),
        .clear: CommandSpec(handles: [.clear], auth: [.user], { engine, context throws(TPMResponseCode) in try engine.clear(&context) }),
        .clearControl: CommandSpec(handles: [.clear], auth: [.user], { engine, context throws(TPMResponseCode) in try engine.clearControl(&context) }),
        .dictionaryAttackLockReset: CommandSpec(handles: [.lockout], auth: [.user], { engine, context throws(TPMResponseCode) in try engine.dictionaryAttackLockReset(&context) }),
        .dictionaryAttackParameters: CommandSpec(handles: [.lockout], auth: [.user], { engine, context throws(TPMResponseCode) in try engine.dictionaryAttackParameters(&context) }),
        .makeCredential: CommandSpec(handles: [.object], decrypt: true, encrypt: true, { engine, context throws(TPMResponseCode) in try engine.makeCredential(&context) }),
        .activateCredential: CommandSpec(handles: [.object, .object], auth: [.admin, .user], decrypt: true, encrypt: true, { engine, context throws(TPMResponseCode) in try engine.activateCredential(&context) }),
        .rsaEncrypt: CommandSpec(handles: [.object], decrypt: true, encrypt: true, { engine, context throws(TPMResponseCode) in try engine.rsaEncrypt(&context) }),
        .rsaDecrypt: CommandSpec(handles: [.object], auth: [.user], decrypt: true, encrypt: true, { engine, context throws(TPMResponseCode) in try engine.rsaDecrypt(&context) }),
        .ecdhKeyGen: CommandSpec(handles: [.object], encrypt: true, { engine, context throws(TPMResponseCode) in try engine.ecdhKeyGen(&context) }),
        .ecdhZGen: CommandSpec(handles: [.object], auth: [.user], decrypt: true, encrypt: true, { engine, context throws(TPMResponseCode) in try engine.ecdhZGen(&context) }),
    ]
}
