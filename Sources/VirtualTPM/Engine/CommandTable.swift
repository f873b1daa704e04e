import TPM2

/// What the dispatcher needs to know about a command (TPM 2.0 Part 3 §4 command tables): how
/// many handles it takes, which of them need authorization and in which role, whether it
/// returns a handle, and whether its first command / response parameter is a TPM2B that a
/// session may encrypt (Part 1 §21.1).
struct CommandSpec: Sendable {
    typealias Handler = @Sendable (TPMEngine) -> (inout CommandContext) throws(TPMResponseCode) -> Void

    let handles: Int
    let authRoles: [AuthRole?]
    let responseHandle: Bool
    let decryptsCommand: Bool
    let encryptsResponse: Bool
    let run: Handler

    init(handles: Int = 0, auth: [AuthRole?] = [], responseHandle: Bool = false, decrypt: Bool = false, encrypt: Bool = false, _ run: @escaping Handler) {
        self.handles = handles
        self.authRoles = auth
        self.responseHandle = responseHandle
        self.decryptsCommand = decrypt
        self.encryptsResponse = encrypt
        self.run = run
    }
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
        .pcrExtend: CommandSpec(handles: 1, auth: [.user], TPMEngine.pcrExtend),
        .pcrEvent: CommandSpec(handles: 1, auth: [.user], decrypt: true, TPMEngine.pcrEvent),
        .pcrRead: CommandSpec(TPMEngine.pcrRead),
        .pcrReset: CommandSpec(handles: 1, auth: [.user], TPMEngine.pcrReset),
        .createPrimary: CommandSpec(handles: 1, auth: [.user], responseHandle: true, decrypt: true, encrypt: true, TPMEngine.createPrimary),
        .create: CommandSpec(handles: 1, auth: [.user], decrypt: true, encrypt: true, TPMEngine.create),
        .createLoaded: CommandSpec(handles: 1, auth: [.user], responseHandle: true, decrypt: true, encrypt: true, TPMEngine.createLoaded),
        .load: CommandSpec(handles: 1, auth: [.user], responseHandle: true, decrypt: true, encrypt: true, TPMEngine.load),
        .loadExternal: CommandSpec(responseHandle: true, decrypt: true, encrypt: true, TPMEngine.loadExternal),
        .readPublic: CommandSpec(handles: 1, encrypt: true, TPMEngine.readPublic),
        .objectChangeAuth: CommandSpec(handles: 2, auth: [.admin], decrypt: true, encrypt: true, TPMEngine.objectChangeAuth),
        .unseal: CommandSpec(handles: 1, auth: [.user], encrypt: true, TPMEngine.unseal),
        .evictControl: CommandSpec(handles: 2, auth: [.user], TPMEngine.evictControl),
        .flushContext: CommandSpec(TPMEngine.flushContext),
        .contextSave: CommandSpec(handles: 1, TPMEngine.contextSave),
        .contextLoad: CommandSpec(responseHandle: true, TPMEngine.contextLoad),
        .startAuthSession: CommandSpec(handles: 2, responseHandle: true, decrypt: true, encrypt: true, TPMEngine.startAuthSession),
        .policyPCR: CommandSpec(handles: 1, decrypt: true, TPMEngine.policyPCR),
        .policyPassword: CommandSpec(handles: 1, TPMEngine.policyPassword),
        .policyAuthValue: CommandSpec(handles: 1, TPMEngine.policyAuthValue),
        .policyCommandCode: CommandSpec(handles: 1, TPMEngine.policyCommandCode),
        .policyOR: CommandSpec(handles: 1, TPMEngine.policyOR),
        .policyAuthorize: CommandSpec(handles: 1, decrypt: true, TPMEngine.policyAuthorize),
        .policySecret: CommandSpec(handles: 2, auth: [.user], decrypt: true, encrypt: true, TPMEngine.policySecret),
        .policySigned: CommandSpec(handles: 2, decrypt: true, encrypt: true, TPMEngine.policySigned),
        .policyNV: CommandSpec(handles: 3, auth: [.user], decrypt: true, TPMEngine.policyNV),
        .policyGetDigest: CommandSpec(handles: 1, encrypt: true, TPMEngine.policyGetDigest),
        .policyRestart: CommandSpec(handles: 1, TPMEngine.policyRestart),
        .sign: CommandSpec(handles: 1, auth: [.user], decrypt: true, TPMEngine.signCommand),
        .verifySignature: CommandSpec(handles: 1, decrypt: true, TPMEngine.verifySignatureCommand),
        .quote: CommandSpec(handles: 1, auth: [.user], decrypt: true, encrypt: true, TPMEngine.quote),
        .certify: CommandSpec(handles: 2, auth: [.admin, .user], decrypt: true, encrypt: true, TPMEngine.certify),
        .hash: CommandSpec(decrypt: true, encrypt: true, TPMEngine.hashCommand),
        .hmac: CommandSpec(handles: 1, auth: [.user], decrypt: true, encrypt: true, TPMEngine.hmacCommand),
        .hashSequenceStart: CommandSpec(responseHandle: true, decrypt: true, TPMEngine.hashSequenceStart),
        .sequenceUpdate: CommandSpec(handles: 1, auth: [.user], decrypt: true, TPMEngine.sequenceUpdate),
        .sequenceComplete: CommandSpec(handles: 1, auth: [.user], decrypt: true, encrypt: true, TPMEngine.sequenceComplete),
        .eventSequenceComplete: CommandSpec(handles: 2, auth: [.user, .user], decrypt: true, TPMEngine.eventSequenceComplete),
        .nvDefineSpace: CommandSpec(handles: 1, auth: [.user], decrypt: true, TPMEngine.nvDefineSpace),
        .nvUndefineSpace: CommandSpec(handles: 2, auth: [.user], TPMEngine.nvUndefineSpace),
        .nvReadPublic: CommandSpec(handles: 1, encrypt: true, TPMEngine.nvReadPublic),
        .nvWrite: CommandSpec(handles: 2, auth: [.user], decrypt: true, TPMEngine.nvWrite),
        .nvIncrement: CommandSpec(handles: 2, auth: [.user], TPMEngine.nvIncrement),
        .nvExtend: CommandSpec(handles: 2, auth: [.user], decrypt: true, TPMEngine.nvExtend),
        .nvRead: CommandSpec(handles: 2, auth: [.user], encrypt: true, TPMEngine.nvRead),
        .nvWriteLock: CommandSpec(handles: 2, auth: [.user], TPMEngine.nvWriteLock),
        .nvReadLock: CommandSpec(handles: 2, auth: [.user], TPMEngine.nvReadLock),
        .hierarchyChangeAuth: CommandSpec(handles: 1, auth: [.user], decrypt: true, TPMEngine.hierarchyChangeAuth),
        .hierarchyControl: CommandSpec(handles: 1, auth: [.user], TPMEngine.hierarchyControl),
        .clear: CommandSpec(handles: 1, auth: [.user], TPMEngine.clear),
        .clearControl: CommandSpec(handles: 1, auth: [.user], TPMEngine.clearControl),
        .dictionaryAttackLockReset: CommandSpec(handles: 1, auth: [.user], TPMEngine.dictionaryAttackLockReset),
        .dictionaryAttackParameters: CommandSpec(handles: 1, auth: [.user], TPMEngine.dictionaryAttackParameters),
        .makeCredential: CommandSpec(handles: 1, decrypt: true, encrypt: true, TPMEngine.makeCredential),
        .activateCredential: CommandSpec(handles: 2, auth: [.admin, .user], decrypt: true, encrypt: true, TPMEngine.activateCredential),
        .rsaEncrypt: CommandSpec(handles: 1, decrypt: true, encrypt: true, TPMEngine.rsaEncrypt),
        .rsaDecrypt: CommandSpec(handles: 1, auth: [.user], decrypt: true, encrypt: true, TPMEngine.rsaDecrypt),
        .ecdhKeyGen: CommandSpec(handles: 1, encrypt: true, TPMEngine.ecdhKeyGen),
        .ecdhZGen: CommandSpec(handles: 1, auth: [.user], decrypt: true, encrypt: true, TPMEngine.ecdhZGen),
    ]
}
