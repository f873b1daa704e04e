import TPM2

/// What the dispatcher needs to know about a command (TPM 2.0 Part 3 §4 command tables): how
/// many handles it takes, which of them need authorization and in which role, whether it
/// returns a handle, and whether its first command / response parameter is a TPM2B that a
/// session may encrypt (Part 1 §21.1).
struct CommandSpec: Sendable {
    typealias Handler = @Sendable (TPMEngine) -> (inout CommandContext) throws(TPMResponseCode) -> Void

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
struct HandleType: Sendable {
    let kinds: Set<TPMHandle.Kind>
    let permanent: Set<TPMHandle>

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
    static let entityOrNull = HandleType(kinds: entity.kinds, permanent: entity.permanent.union([.null]))
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
        .startup: CommandSpec(TPMEngine.startup),
        .shutdown: CommandSpec(TPMEngine.shutdown),
        .selfTest: CommandSpec(TPMEngine.selfTest),
        .incrementalSelfTest: CommandSpec(TPMEngine.incrementalSelfTest),
        .getTestResult: CommandSpec(encrypt: true, TPMEngine.getTestResult),
        .getRandom: CommandSpec(encrypt: true, TPMEngine.getRandom),
        .stirRandom: CommandSpec(decrypt: true, TPMEngine.stirRandom),
        .getCapability: CommandSpec(TPMEngine.getCapability),
        .testParms: CommandSpec(TPMEngine.testParms),
        .readClock: CommandSpec(TPMEngine.readClock),
        .pcrExtend: CommandSpec(handles: [.pcr], auth: [.user], TPMEngine.pcrExtend),
        .pcrEvent: CommandSpec(handles: [.pcr], auth: [.user], decrypt: true, TPMEngine.pcrEvent),
        .pcrRead: CommandSpec(TPMEngine.pcrRead),
        .pcrReset: CommandSpec(handles: [.pcr], auth: [.user], TPMEngine.pcrReset),
        .createPrimary: CommandSpec(handles: [.hierarchy], auth: [.user], responseHandle: true, decrypt: true, encrypt: true, TPMEngine.createPrimary),
        .create: CommandSpec(handles: [.object], auth: [.user], decrypt: true, encrypt: true, TPMEngine.create),
        .createLoaded: CommandSpec(handles: [.parent], auth: [.user], responseHandle: true, decrypt: true, encrypt: true, TPMEngine.createLoaded),
        .load: CommandSpec(handles: [.object], auth: [.user], responseHandle: true, decrypt: true, encrypt: true, TPMEngine.load),
        .loadExternal: CommandSpec(responseHandle: true, decrypt: true, encrypt: true, TPMEngine.loadExternal),
        .readPublic: CommandSpec(handles: [.object], encrypt: true, TPMEngine.readPublic),
        .objectChangeAuth: CommandSpec(handles: [.object, .object], auth: [.admin], decrypt: true, encrypt: true, TPMEngine.objectChangeAuth),
        .unseal: CommandSpec(handles: [.object], auth: [.user], encrypt: true, TPMEngine.unseal),
        .evictControl: CommandSpec(handles: [.provision, .object], auth: [.user], TPMEngine.evictControl),
        .flushContext: CommandSpec(TPMEngine.flushContext),
        .contextSave: CommandSpec(handles: [.context], TPMEngine.contextSave),
        .contextLoad: CommandSpec(responseHandle: true, TPMEngine.contextLoad),
        .startAuthSession: CommandSpec(handles: [.objectOrNull, .entityOrNull], responseHandle: true, decrypt: true, encrypt: true, TPMEngine.startAuthSession),
        .policyPCR: CommandSpec(handles: [.policySession], decrypt: true, TPMEngine.policyPCR),
        .policyPassword: CommandSpec(handles: [.policySession], TPMEngine.policyPassword),
        .policyAuthValue: CommandSpec(handles: [.policySession], TPMEngine.policyAuthValue),
        .policyCommandCode: CommandSpec(handles: [.policySession], TPMEngine.policyCommandCode),
        .policyOR: CommandSpec(handles: [.policySession], TPMEngine.policyOR),
        .policyAuthorize: CommandSpec(handles: [.policySession], decrypt: true, TPMEngine.policyAuthorize),
        .policySecret: CommandSpec(handles: [.entity, .policySession], auth: [.user], decrypt: true, encrypt: true, TPMEngine.policySecret),
        .policySigned: CommandSpec(handles: [.object, .policySession], decrypt: true, encrypt: true, TPMEngine.policySigned),
        .policyNV: CommandSpec(handles: [.nvAuth, .nvIndex, .policySession], auth: [.user], decrypt: true, TPMEngine.policyNV),
        .policyGetDigest: CommandSpec(handles: [.policySession], encrypt: true, TPMEngine.policyGetDigest),
        .policyRestart: CommandSpec(handles: [.policySession], TPMEngine.policyRestart),
        .sign: CommandSpec(handles: [.object], auth: [.user], decrypt: true, TPMEngine.signCommand),
        .verifySignature: CommandSpec(handles: [.object], decrypt: true, TPMEngine.verifySignatureCommand),
        .quote: CommandSpec(handles: [.objectOrNull], auth: [.user], decrypt: true, encrypt: true, TPMEngine.quote),
        .certify: CommandSpec(handles: [.object, .objectOrNull], auth: [.admin, .user], decrypt: true, encrypt: true, TPMEngine.certify),
        .hash: CommandSpec(decrypt: true, encrypt: true, TPMEngine.hashCommand),
        .hmac: CommandSpec(handles: [.object], auth: [.user], decrypt: true, encrypt: true, TPMEngine.hmacCommand),
        .hashSequenceStart: CommandSpec(responseHandle: true, decrypt: true, TPMEngine.hashSequenceStart),
        .sequenceUpdate: CommandSpec(handles: [.object], auth: [.user], decrypt: true, TPMEngine.sequenceUpdate),
        .sequenceComplete: CommandSpec(handles: [.object], auth: [.user], decrypt: true, encrypt: true, TPMEngine.sequenceComplete),
        .eventSequenceComplete: CommandSpec(handles: [.pcr, .object], auth: [.user, .user], decrypt: true, TPMEngine.eventSequenceComplete),
        .nvDefineSpace: CommandSpec(handles: [.provision], auth: [.user], decrypt: true, TPMEngine.nvDefineSpace),
        .nvUndefineSpace: CommandSpec(handles: [.provision, .nvIndex], auth: [.user], TPMEngine.nvUndefineSpace),
        .nvReadPublic: CommandSpec(handles: [.nvIndex], encrypt: true, TPMEngine.nvReadPublic),
        .nvWrite: CommandSpec(handles: [.nvAuth, .nvIndex], auth: [.user], decrypt: true, TPMEngine.nvWrite),
        .nvIncrement: CommandSpec(handles: [.nvAuth, .nvIndex], auth: [.user], TPMEngine.nvIncrement),
        .nvExtend: CommandSpec(handles: [.nvAuth, .nvIndex], auth: [.user], decrypt: true, TPMEngine.nvExtend),
        .nvRead: CommandSpec(handles: [.nvAuth, .nvIndex], auth: [.user], encrypt: true, TPMEngine.nvRead),
        .nvWriteLock: CommandSpec(handles: [.nvAuth, .nvIndex], auth: [.user], TPMEngine.nvWriteLock),
        .nvReadLock: CommandSpec(handles: [.nvAuth, .nvIndex], auth: [.user], TPMEngine.nvReadLock),
        .hierarchyChangeAuth: CommandSpec(handles: [.hierarchyAuth], auth: [.user], decrypt: true, TPMEngine.hierarchyChangeAuth),
        .hierarchyControl: CommandSpec(handles: [.hierarchy], auth: [.user], TPMEngine.hierarchyControl),
        .clear: CommandSpec(handles: [.clear], auth: [.user], TPMEngine.clear),
        .clearControl: CommandSpec(handles: [.clear], auth: [.user], TPMEngine.clearControl),
        .dictionaryAttackLockReset: CommandSpec(handles: [.lockout], auth: [.user], TPMEngine.dictionaryAttackLockReset),
        .dictionaryAttackParameters: CommandSpec(handles: [.lockout], auth: [.user], TPMEngine.dictionaryAttackParameters),
        .makeCredential: CommandSpec(handles: [.object], decrypt: true, encrypt: true, TPMEngine.makeCredential),
        .activateCredential: CommandSpec(handles: [.object, .object], auth: [.admin, .user], decrypt: true, encrypt: true, TPMEngine.activateCredential),
        .rsaEncrypt: CommandSpec(handles: [.object], decrypt: true, encrypt: true, TPMEngine.rsaEncrypt),
        .rsaDecrypt: CommandSpec(handles: [.object], auth: [.user], decrypt: true, encrypt: true, TPMEngine.rsaDecrypt),
        .ecdhKeyGen: CommandSpec(handles: [.object], encrypt: true, TPMEngine.ecdhKeyGen),
        .ecdhZGen: CommandSpec(handles: [.object], auth: [.user], decrypt: true, encrypt: true, TPMEngine.ecdhZGen),
    ]
}
