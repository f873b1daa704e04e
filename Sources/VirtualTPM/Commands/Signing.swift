import TPM2

/// Signing and attestation (TPM 2.0 Part 3 §18 Quote/Certify, §20 Sign/VerifySignature) and
/// hashing (§15.4 Hash, §15.5 HMAC, §17 sequences).
extension TPMEngine {
    /// The hash a signature says it used, if this TPM computes it.
    func signatureHash(_ signature: TPMTSignature) -> TPMHashAlgorithm? {
        switch signature {
        case let .rsa(_, hash, _), let .ecc(_, hash, _, _): TPMHashAlgorithm(hash)
        case let .hmac(ha): ha.algorithm
        case .null: nil
        }
    }

    /// The scheme a key signs with: its own, or the caller's when the key leaves it open
    /// (Part 3 §20.2.1: TPM_RC_SCHEME when both or neither give one).
    func signingScheme(_ key: LoadedObject, requested: TPMTScheme, parameter: Int) throws(TPMResponseCode) -> TPMTScheme {
        guard key.attributes.contains(.signEncrypt) else { throw TPMResponseCode.key.handle(1) }
        let own: TPMTScheme
        switch key.publicArea.parameters {
        case let .rsa(p): own = p.scheme
        case let .ecc(p): own = p.scheme
        case let .keyedHash(s): own = s
        case .symCipher: throw TPMResponseCode.key.handle(1)
        }
        let scheme: TPMTScheme
        if own.scheme == .null {
            guard requested.scheme != .null else { throw TPMResponseCode.scheme.parameter(parameter) }
            scheme = requested
        } else {
            guard requested.scheme == .null || requested == own else { throw TPMResponseCode.scheme.parameter(parameter) }
            scheme = own
        }
        guard TPMHashAlgorithm(scheme.hashAlg) != nil else { throw TPMResponseCode.hash.parameter(parameter) }
        switch (key.publicArea.type, scheme.scheme) {
        case (.rsa, .rsassa), (.rsa, .rsapss), (.ecc, .ecdsa), (.keyedHash, .hmac): return scheme
        default: throw TPMResponseCode.scheme.parameter(parameter)
        }
    }

    /// Signs a digest with `key` under `scheme`.
    func sign(digest: [UInt8], with key: LoadedObject, scheme: TPMTScheme) throws(TPMResponseCode) -> TPMTSignature {
        let hash = TPMHashAlgorithm(scheme.hashAlg)!
        switch scheme.scheme {
        case .rsassa:
            return .rsa(scheme: .rsassa, hash: hash.id, signature: try key.rsa!.signPKCS1(digest: digest, hash: hash))
        case .rsapss:
            return .rsa(scheme: .rsapss, hash: hash.id, signature: try key.rsa!.signPSS(digest: digest, hash: hash))
        case .ecdsa:
            let (r, s) = try key.ecc!.sign(digest: digest)
            return .ecc(scheme: .ecdsa, hash: hash.id, r: r, s: s)
        default:
            guard let secret = key.sensitive?.sensitive else { throw TPMResponseCode.key }
            return .hmac(TPMTHA(algorithm: hash, digest: hash.hmac(key: secret, digest)))
        }
    }

    /// Checks a signature over a digest with a loaded key's public part.
    func verify(_ signature: TPMTSignature, digest: [UInt8], with key: LoadedObject) -> Bool {
        guard let hash = signatureHash(signature), digest.count == hash.digestSize else { return false }
        switch signature {
        case let .rsa(scheme, _, bytes):
            guard let rsa = key.rsa, bytes.count == rsa.byteCount else { return false }
            return scheme == .rsassa ? rsa.verifyPKCS1(digest: digest, signature: bytes, hash: hash) : rsa.verifyPSS(digest: digest, signature: bytes, hash: hash)
        case let .ecc(scheme, _, r, s):
            guard scheme == .ecdsa, let ecc = key.ecc else { return false }
            return ecc.verify(digest: digest, r: r, s: s)
        case let .hmac(ha):
            guard let secret = key.sensitive?.sensitive else { return false }
            return constantTimeEqual(ha.digest, hash.hmac(key: secret, digest))
        case .null:
            return false
        }
    }

    /// TPM2_Sign (Part 3 §20.2). A restricted key signs only digests the TPM computed from
    /// data that does not begin with TPM_GENERATED_VALUE, as its hash-check ticket proves.
    func signCommand(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let digest = try ctx.sized("digest", maximum: TPMLimits.maxDigest)
        let requested = try ctx.read(.scheme) { r throws(TPMMarshalError) in try TPMTScheme(from: &r, field: "inScheme", allowed: TPMTScheme.signatureSchemes) }
        let ticket = try ctx.read { r throws(TPMMarshalError) in try TPMTTicket(from: &r) }
        try ctx.finishParameters()
        let key = try object(ctx.handles[0], index: 0)
        let scheme = try signingScheme(key, requested: requested, parameter: 2)
        guard digest.count == TPMHashAlgorithm(scheme.hashAlg)!.digestSize else { throw TPMResponseCode.size.parameter(1) }
        if key.attributes.contains(.restricted) {
            guard checkTicket(ticket, expectedTag: .hashCheck, parts: [digest]) else { throw TPMResponseCode.ticket.parameter(3) }
        }
        ctx.out.write(try sign(digest: digest, with: key, scheme: scheme))
    }

    /// TPM2_VerifySignature (Part 3 §20.1): returns a TPMT_TK_VERIFIED over digest || keyName.
    func verifySignatureCommand(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let digest = try ctx.sized("digest", maximum: TPMLimits.maxDigest)
        let signature = try ctx.read(.scheme) { r throws(TPMMarshalError) in try TPMTSignature(from: &r) }
        try ctx.finishParameters()
        let key = try object(ctx.handles[0], index: 0)
        guard key.attributes.contains(.signEncrypt) else { throw TPMResponseCode.attributes.handle(1) }
        guard verify(signature, digest: digest, with: key) else { throw TPMResponseCode.signature.parameter(2) }
        ctx.out.write(key.hierarchy == .null ? TPMTTicket.null(.verified) : makeTicket(.verified, hierarchy: key.hierarchy, parts: [digest, key.name]))
    }

    /// Signs a TPMS_ATTEST the TPM built; a NULL sign handle gives a NULL signature.
    private func attest(_ ctx: inout CommandContext, signHandle: TPMHandle, signIndex: Int, qualifyingData: [UInt8], requested: TPMTScheme, attested: TPMUAttest, schemeParameter: Int) throws(TPMResponseCode) {
        var signer: LoadedObject?
        var scheme = TPMTScheme.null
        if signHandle != .null {
            let key = try object(signHandle, index: signIndex)
            scheme = try signingScheme(key, requested: requested, parameter: schemeParameter)
            signer = key
        }
        // The name of a NULL signer is the handle TPM_RH_NULL (Part 4 §7.2.2.1 FillInAttestInfo).
        let qualifiedSigner = signer?.qualifiedName ?? TPMHandle.null.tpmBytes
        var clock = clockInfo
        var firmwareVersion = Self.firmwareVersion
        if signer.map({ $0.hierarchy != .endorsement && $0.hierarchy != .platform }) ?? true {
            // Part 2 §10.12.12: a key outside the endorsement and platform hierarchies (or no key)
            // gets resetCount, restartCount and firmwareVersion offset by a value private to the
            // TPM and the signer, so that its attestations cannot be linked to other keys' by them.
            // The value: KDFa(SHA-256, the storage hierarchy's proof, "OBFUSCATE", qualifiedSigner,
            // 128 bits), as in FillInAttestInfo; its halves are read big-endian here.
            let offsets = TPMKDF.kdfa(.sha256, key: proof(of: .owner), label: "OBFUSCATE", contextU: qualifiedSigner, contextV: [], bits: 128)
            let word = { (range: Range<Int>) in offsets[range].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
            firmwareVersion &+= word(0..<8)
            clock.resetCount &+= UInt32(word(8..<12))
            clock.restartCount &+= UInt32(word(12..<16))
        }
        let info = TPMSAttest(qualifiedSigner: qualifiedSigner, extraData: qualifyingData, clockInfo: clock,
                              firmwareVersion: firmwareVersion, attested: attested)
        let bytes = info.tpmBytes
        ctx.out.sized(bytes)
        if let signer {
            let hash = TPMHashAlgorithm(scheme.hashAlg)!
            ctx.out.write(try sign(digest: hash.hash(bytes), with: signer, scheme: scheme))
        } else {
            ctx.out.write(TPMTSignature.null)
        }
    }

    private func readAttestInputs(_ ctx: inout CommandContext) throws(TPMResponseCode) -> ([UInt8], TPMTScheme) {
        let qualifyingData = try ctx.sized("qualifyingData", maximum: TPMLimits.maxDigest)
        let scheme = try ctx.read(.scheme) { r throws(TPMMarshalError) in try TPMTScheme(from: &r, field: "inScheme", allowed: TPMTScheme.signatureSchemes) }
        return (qualifyingData, scheme)
    }

    /// TPM2_Quote (Part 3 §18.4): pcrDigest is the signing scheme's hash over the selected PCRs.
    func quote(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let (qualifyingData, requested) = try readAttestInputs(&ctx)
        let selection = try ctx.read(.hash) { r throws(TPMMarshalError) in try TPMLPCRSelection(from: &r) }
        try ctx.finishParameters()
        var digestHash = TPMHashAlgorithm.sha256
        if ctx.handles[0] != .null {
            let key = try object(ctx.handles[0], index: 0)
            digestHash = TPMHashAlgorithm(try signingScheme(key, requested: requested, parameter: 2).hashAlg)!
        }
        let (selected, values) = readPCRs(selection)
        try attest(&ctx, signHandle: ctx.handles[0], signIndex: 0, qualifyingData: qualifyingData, requested: requested,
                   attested: .quote(pcrSelect: selected, pcrDigest: digestHash.hash(parts: values)), schemeParameter: 2)
    }

    /// TPM2_Certify (Part 3 §18.2).
    func certify(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let (qualifyingData, requested) = try readAttestInputs(&ctx)
        try ctx.finishParameters()
        let object = try object(ctx.handles[0], index: 0)
        try attest(&ctx, signHandle: ctx.handles[1], signIndex: 1, qualifyingData: qualifyingData, requested: requested,
                   attested: .certify(name: object.name, qualifiedName: object.qualifiedName), schemeParameter: 2)
    }

    // MARK: - Hashing

    /// The hash-check ticket for data the TPM hashed; none for data that begins with
    /// TPM_GENERATED_VALUE, so a restricted key cannot be made to sign a forged attestation
    /// (Part 3 §15.4).
    private func hashTicket(digest: [UInt8], firstBytes: [UInt8], hierarchy: TPMHandle) -> TPMTTicket {
        let generated = firstBytes.count >= 4 && firstBytes.prefix(4).elementsEqual([0xFF, 0x54, 0x43, 0x47])
        return hierarchy == .null || generated ? .null(.hashCheck) : makeTicket(.hashCheck, hierarchy: hierarchy, parts: [digest])
    }

    private func readHierarchy(_ ctx: inout CommandContext) throws(TPMResponseCode) -> TPMHandle {
        let hierarchy = try ctx.read { r throws(TPMMarshalError) in try TPMHandle(from: &r) }
        guard [.owner, .endorsement, .platform, .null].contains(hierarchy) else { throw ctx.parameterError(.value) }
        return hierarchy
    }

    /// TPM2_Hash (Part 3 §15.4).
    func hashCommand(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let data = try ctx.sized("data", maximum: TPMLimits.maxBuffer)
        let hash = try ctx.hashAlg()!
        let hierarchy = try readHierarchy(&ctx)
        try ctx.finishParameters()
        let digest = hash.hash(data)
        ctx.out.sized(digest)
        ctx.out.write(hashTicket(digest: digest, firstBytes: data, hierarchy: hierarchy))
    }

    /// TPM2_HMAC (Part 3 §15.5) with a keyed-hash signing key.
    func hmacCommand(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let buffer = try ctx.sized("buffer", maximum: TPMLimits.maxBuffer)
        let requested = try ctx.hashAlg(allowNull: true)
        try ctx.finishParameters()
        let key = try object(ctx.handles[0], index: 0)
        guard case let .keyedHash(scheme) = key.publicArea.parameters, key.attributes.contains(.signEncrypt), !key.attributes.contains(.restricted),
              let secret = key.sensitive?.sensitive else { throw TPMResponseCode.type.handle(1) }
        let own = TPMHashAlgorithm(scheme.hashAlg)
        guard let hash = own ?? requested, requested == nil || own == nil || requested == own else { throw TPMResponseCode.value.parameter(2) }
        ctx.out.sized(hash.hmac(key: secret, buffer))
    }

    /// TPM2_HashSequenceStart (Part 3 §17.3); TPM_ALG_NULL starts an event sequence.
    func hashSequenceStart(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let auth = try ctx.sized("auth", maximum: TPMLimits.maxDigest)
        let hash = try ctx.hashAlg(allowNull: true)
        try ctx.finishParameters()
        let state: SequenceState = hash.map { .hash(TPMHasher($0), firstBlock: []) } ?? .event(Self.banks.map { TPMHasher($0) })
        ctx.responseHandle = try startSequence(state, auth: auth)
    }

    private func startSequence(_ state: SequenceState, auth: [UInt8]) throws(TPMResponseCode) -> TPMHandle {
        guard objects.keys.filter({ $0 >> 24 == 0x80 }).count < Self.maxObjects else { throw TPMResponseCode.objectMemory }
        var raw: UInt32 = 0x8000_0000
        while objects[raw] != nil { raw += 1 }
        // A sequence object has no public area and so an empty Name (Part 1 §32.4.3).
        let publicArea = TPMTPublic(nameAlg: .null, objectAttributes: [.userWithAuth, .noDA], parameters: .keyedHash(.null), unique: .digest([]))
        objects[raw] = LoadedObject(publicArea: publicArea, sensitive: TPMTSensitive(type: .keyedHash, authValue: Self.trimmed(auth), seedValue: [], sensitive: []),
                                    name: [], qualifiedName: [], hierarchy: .null, sequence: state)
        return TPMHandle(raw)
    }

    private func updateSequence(_ handle: TPMHandle, index: Int, with data: [UInt8]) throws(TPMResponseCode) {
        guard let object = objects[handle.rawValue], let state = object.sequence else { throw TPMResponseCode.mode.handle(index + 1) }
        switch state {
        case var .event(hashers):
            for i in hashers.indices { hashers[i].update(data) }
            object.sequence = .event(hashers)
        case .hash(var h, let first):
            h.update(data)
            object.sequence = .hash(h, firstBlock: first.count >= 4 ? first : first + data.prefix(4 - first.count))
        }
    }

    /// TPM2_SequenceUpdate (Part 3 §17.4).
    func sequenceUpdate(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let buffer = try ctx.sized("buffer", maximum: TPMLimits.maxBuffer)
        try ctx.finishParameters()
        try updateSequence(ctx.handles[0], index: 0, with: buffer)
    }

    /// TPM2_SequenceComplete (Part 3 §17.5).
    func sequenceComplete(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let buffer = try ctx.sized("buffer", maximum: TPMLimits.maxBuffer)
        let hierarchy = try readHierarchy(&ctx)
        try ctx.finishParameters()
        let handle = ctx.handles[0]
        try updateSequence(handle, index: 0, with: buffer)
        guard let state = objects[handle.rawValue]?.sequence else { throw TPMResponseCode.mode.handle(1) }
        switch state {
        case let .hash(h, first):
            let digest = h.finalize()
            ctx.out.sized(digest)
            ctx.out.write(hashTicket(digest: digest, firstBytes: first, hierarchy: hierarchy))
        case .event:
            throw TPMResponseCode.mode.handle(1)
        }
        objects[handle.rawValue] = nil
    }

    /// TPM2_EventSequenceComplete (Part 3 §17.6): extends every bank's digest into the PCR.
    func eventSequenceComplete(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let buffer = try ctx.sized("buffer", maximum: TPMLimits.maxBuffer)
        try ctx.finishParameters()
        let pcr = ctx.handles[0], handle = ctx.handles[1]
        try updateSequence(handle, index: 1, with: buffer)
        guard case let .event(hashers)? = objects[handle.rawValue]?.sequence else { throw TPMResponseCode.mode.handle(2) }
        let digests = hashers.map { TPMTHA(algorithm: $0.algorithm, digest: $0.finalize()) }
        if pcr != .null {
            guard pcr.kind == .pcr, pcr.rawValue < Self.pcrCount else { throw TPMResponseCode.value.handle(1) }
            guard Self.extendAllowed(Int(pcr.rawValue), locality: ctx.locality) else { throw TPMResponseCode.locality }
            for digest in digests { extendPCR(Int(pcr.rawValue), digest) }
            pcrUpdateCounter &+= 1
        }
        objects[handle.rawValue] = nil
        ctx.out.write(TPMLDigestValues(digests))
    }
}
