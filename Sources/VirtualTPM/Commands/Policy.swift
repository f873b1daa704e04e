import TPM2

/// Enhanced authorization: the policy commands (TPM 2.0 Part 3 §23). Each updates the
/// session's policyDigest exactly as `PolicyDigest` computes it offline; in a real (non-trial)
/// session the TPM also checks the assertion now, or records it to check when the policy is
/// used (command code, PCR counter, cpHash, auth value or password).
extension TPMEngine {
    /// Runs `body` on the policy or trial session named by handle `index`.
    private func withPolicySession(_ ctx: CommandContext, handle index: Int, _ body: (inout Session) throws(TPMResponseCode) -> Void) throws(TPMResponseCode) {
        let handle = ctx.handles[index]
        guard handle.kind == .policySession, var session = sessions[handle.rawValue], !session.saved, session.kind != .hmac else {
            throw TPMResponseCode.handle.handle(index + 1)
        }
        try body(&session)
        sessions[handle.rawValue] = session
    }

    private func update(_ session: inout Session, _ change: (inout PolicyDigest) -> Void) {
        var digest = PolicyDigest(session.authHash, digest: session.policyDigest)
        change(&digest)
        session.policyDigest = digest.digest
    }

    /// TPM2_PolicyPCR (Part 3 §23.7).
    func policyPCR(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let pcrDigest = try ctx.sized("pcrDigest", maximum: TPMLimits.maxDigest)
        let selection = try ctx.read(.hash) { r throws(TPMMarshalError) in try TPMLPCRSelection(from: &r) }
        try ctx.finishParameters()
        let (_, values) = readPCRs(selection)
        try withPolicySession(ctx, handle: 0) { session throws(TPMResponseCode) in
            let current = session.authHash.hash(parts: values)
            if session.kind == .policy, !pcrDigest.isEmpty, !constantTimeEqual(pcrDigest, current) { throw TPMResponseCode.value.parameter(1) }
            let digest = pcrDigest.isEmpty ? current : pcrDigest
            guard digest.count == session.authHash.digestSize else { throw TPMResponseCode.size.parameter(1) }
            update(&session) { $0.policyPCR(selection: selection, pcrDigest: digest) }
            if session.kind == .policy { session.pcrCounter = pcrUpdateCounter }
        }
    }

    /// TPM2_PolicyAuthValue (Part 3 §23.17): the authValue will be required, through an HMAC.
    func policyAuthValue(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        try ctx.finishParameters()
        try withPolicySession(ctx, handle: 0) { session in
            update(&session) { $0.policyAuthValue() }
            session.isAuthValueNeeded = true
            session.isPasswordNeeded = false
        }
    }

    /// TPM2_PolicyPassword (Part 3 §23.18): the authValue will be required, in clear.
    func policyPassword(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        try ctx.finishParameters()
        try withPolicySession(ctx, handle: 0) { session in
            update(&session) { $0.policyAuthValue() }
            session.isPasswordNeeded = true
            session.isAuthValueNeeded = false
        }
    }

    /// TPM2_PolicyCommandCode (Part 3 §23.11).
    func policyCommandCode(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let code = TPMCommandCode(try ctx.u32("code"))
        try ctx.finishParameters()
        guard Self.commandTable[code] != nil else { throw TPMResponseCode.policyCC.parameter(1) }
        try withPolicySession(ctx, handle: 0) { session throws(TPMResponseCode) in
            if let existing = session.commandCode, existing != code { throw TPMResponseCode.value.parameter(1) }
            update(&session) { $0.policyCommandCode(code) }
            session.commandCode = code
        }
    }

    /// TPM2_PolicyOR (Part 3 §23.6): the current digest must be one of the branches.
    func policyOR(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let branches = try ctx.read { r throws(TPMMarshalError) in try TPMLDigest(from: &r) }.digests
        try ctx.finishParameters()
        guard branches.count >= 2 else { throw TPMResponseCode.size.parameter(1) }
        try withPolicySession(ctx, handle: 0) { session throws(TPMResponseCode) in
            if session.kind == .policy, !branches.contains(where: { constantTimeEqual($0, session.policyDigest) }) {
                throw TPMResponseCode.value.parameter(1)
            }
            update(&session) { $0.policyOR(branches) }
        }
    }

    /// TPM2_PolicyAuthorize (Part 3 §23.16): the current digest was approved by keySign,
    /// proven by a TPMT_TK_VERIFIED over H(approvedPolicy || policyRef).
    func policyAuthorize(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let approved = try ctx.sized("approvedPolicy", maximum: TPMLimits.maxDigest)
        let policyRef = try ctx.sized("policyRef", maximum: TPMLimits.maxDigest)
        let keySign = try ctx.sized("keySign", maximum: TPMLimits.maxName)
        let ticket = try ctx.read { r throws(TPMMarshalError) in try TPMTTicket(from: &r) }
        try ctx.finishParameters()
        try withPolicySession(ctx, handle: 0) { session throws(TPMResponseCode) in
            if session.kind == .policy {
                guard constantTimeEqual(approved, session.policyDigest) else { throw TPMResponseCode.value.parameter(1) }
                guard keySign.count > 2, let signHash = TPMHashAlgorithm(TPMAlgorithmID(UInt16(keySign[0]) << 8 | UInt16(keySign[1]))) else {
                    throw TPMResponseCode.hash.parameter(3)
                }
                let aHash = PolicyDigest.authorizationDigest(approvedPolicy: approved, policyRef: policyRef, signingHash: signHash)
                guard checkTicket(ticket, expectedTag: .verified, parts: [aHash, keySign]) else { throw TPMResponseCode.ticket.parameter(4) }
            }
            update(&session) { $0.policyAuthorize(keyName: keySign, policyRef: policyRef) }
        }
    }

    /// Shared tail of PolicySecret and PolicySigned (Part 3 §23.3-23.4): nonce, expiration and
    /// cpHash checks, the digest update and the (empty) timeout and ticket.
    private func finishAuthorizationPolicy(_ ctx: inout CommandContext, sessionIndex: Int, authName: [UInt8], nonceTPM: [UInt8], cpHashA: [UInt8], policyRef: [UInt8], expiration: Int32, signed: Bool) throws(TPMResponseCode) {
        try withPolicySession(ctx, handle: sessionIndex) { session throws(TPMResponseCode) in
            if session.kind == .policy {
                if !nonceTPM.isEmpty, !constantTimeEqual(nonceTPM, session.nonceTPM) { throw TPMResponseCode.nonce.parameter(1) }
                if expiration < 0, nonceTPM.isEmpty { throw TPMResponseCode.expired.parameter(4) }
            }
            if !cpHashA.isEmpty {
                guard cpHashA.count == session.authHash.digestSize else { throw TPMResponseCode.size.parameter(2) }
                if let existing = session.cpHash, existing != cpHashA { throw TPMResponseCode.cpHash.parameter(2) }
                session.cpHash = cpHashA
            }
            update(&session) { signed ? $0.policySigned(keyName: authName, policyRef: policyRef) : $0.policySecret(authName: authName, policyRef: policyRef) }
        }
        ctx.out.sized([UInt8]())
        ctx.out.write(TPMTTicket.null(signed ? .authSigned : .authSecret))
    }

    /// TPM2_PolicySecret (Part 3 §23.4): the caller proved knowledge of authHandle's secret in
    /// this command's authorization area.
    func policySecret(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let nonceTPM = try ctx.sized("nonceTPM", maximum: TPMLimits.maxDigest)
        let cpHashA = try ctx.sized("cpHashA", maximum: TPMLimits.maxDigest)
        let policyRef = try ctx.sized("policyRef", maximum: TPMLimits.maxDigest)
        let expiration = Int32(bitPattern: try ctx.u32("expiration"))
        try ctx.finishParameters()
        let authName = try name(of: ctx.handles[0], index: 0)
        try finishAuthorizationPolicy(&ctx, sessionIndex: 1, authName: authName, nonceTPM: nonceTPM, cpHashA: cpHashA, policyRef: policyRef, expiration: expiration, signed: false)
    }

    /// TPM2_PolicySigned (Part 3 §23.3): a signature by authObject over
    /// aHash = H(nonceTPM || expiration || cpHashA || policyRef).
    func policySigned(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let nonceTPM = try ctx.sized("nonceTPM", maximum: TPMLimits.maxDigest)
        let cpHashA = try ctx.sized("cpHashA", maximum: TPMLimits.maxDigest)
        let policyRef = try ctx.sized("policyRef", maximum: TPMLimits.maxDigest)
        let expiration = try ctx.u32("expiration")
        let signature = try ctx.read(.scheme) { r throws(TPMMarshalError) in try TPMTSignature(from: &r) }
        try ctx.finishParameters()
        let key = try object(ctx.handles[0], index: 0)
        guard key.attributes.contains(.signEncrypt) else { throw TPMResponseCode.attributes.handle(1) }
        if sessions[ctx.handles[1].rawValue]?.kind == .policy {
            var expirationBytes = TPMWriter()
            expirationBytes.u32(expiration)
            guard let hash = signatureHash(signature) else { throw TPMResponseCode.scheme.parameter(5) }
            let aHash = hash.hash(nonceTPM, expirationBytes.bytes, cpHashA, policyRef)
            guard verify(signature, digest: aHash, with: key) else { throw TPMResponseCode.signature.parameter(5) }
        }
        try finishAuthorizationPolicy(&ctx, sessionIndex: 1, authName: key.name, nonceTPM: nonceTPM, cpHashA: cpHashA, policyRef: policyRef,
                                      expiration: Int32(bitPattern: expiration), signed: true)
    }

    /// TPM2_PolicyNV (Part 3 §23.9): compares NV data with operandB.
    func policyNV(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let operandB = try ctx.sized("operandB", maximum: TPMLimits.maxDigest)
        let offset = try ctx.u16("offset")
        let operation = try ctx.u16("operation")
        try ctx.finishParameters()
        guard operation <= 11 else { throw TPMResponseCode.value.parameter(3) }
        let indexHandle = ctx.handles[1]
        guard let index = nv.nvIndices[indexHandle.rawValue] else { throw TPMResponseCode.handle.handle(2) }
        let pub = index.nvPublic
        try checkNVRead(index: index, authHandle: ctx.handles[0], indexHandle: indexHandle)
        guard Int(offset) + operandB.count <= Int(pub.dataSize) else { throw TPMResponseCode.nvRange }
        try withPolicySession(ctx, handle: 2) { session throws(TPMResponseCode) in
            if session.kind == .policy {
                let operandA = Array(index.data[Int(offset)..<Int(offset) + operandB.count])
                guard Self.compare(operandA, operandB, operation: operation) else { throw TPMResponseCode.policy }
            }
            update(&session) { $0.policyNV(operandB: operandB, offset: offset, operation: operation, indexName: pub.name!) }
        }
    }

    /// TPM_EO comparisons (Part 2 §6.8) of two equal-length big-endian operands.
    static func compare(_ a: [UInt8], _ b: [UInt8], operation: UInt16) -> Bool {
        let unsignedOrder = a.lexicographicallyPrecedes(b) ? -1 : (a == b ? 0 : 1)
        let signedOrder: Int
        let aNegative = (a.first ?? 0) & 0x80 != 0, bNegative = (b.first ?? 0) & 0x80 != 0
        signedOrder = aNegative == bNegative ? unsignedOrder : (aNegative ? -1 : 1)
        switch operation {
        case 0: return a == b
        case 1: return a != b
        case 2: return signedOrder > 0
        case 3: return unsignedOrder > 0
        case 4: return signedOrder < 0
        case 5: return unsignedOrder < 0
        case 6: return signedOrder >= 0
        case 7: return unsignedOrder >= 0
        case 8: return signedOrder <= 0
        case 9: return unsignedOrder <= 0
        case 10: return zip(a, b).allSatisfy { $0 & $1 == $1 }
        default: return zip(a, b).allSatisfy { $0 & $1 == 0 }
        }
    }

    /// TPM2_PolicyGetDigest (Part 3 §23.19).
    func policyGetDigest(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        try ctx.finishParameters()
        var digest: [UInt8] = []
        try withPolicySession(ctx, handle: 0) { session in digest = session.policyDigest }
        ctx.out.sized(digest)
    }

    /// TPM2_PolicyRestart (Part 3 §23.20).
    func policyRestart(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        try ctx.finishParameters()
        try withPolicySession(ctx, handle: 0) { session in session.resetPolicy() }
    }
}
