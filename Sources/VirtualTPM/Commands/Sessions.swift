import TPM2

/// TPM2_StartAuthSession (TPM 2.0 Part 3 §11.1) and the salt decryption of Part 1 §19.6.13:
/// RSA-OAEP with label "SECRET", or ECDH with KDFe(Z, "SECRET", QeU.x, QsV.x).
extension TPMEngine {
    func startAuthSession(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let tpmKey = ctx.handles[0], bind = ctx.handles[1]
        let nonceCaller = try ctx.sized("nonceCaller", maximum: TPMLimits.maxDigest)
        let encryptedSalt = try ctx.sized("encryptedSalt", maximum: TPMLimits.maxEncryptedSecret)
        let rawType = try ctx.u8("sessionType")
        let symmetric = try ctx.read(.symmetric) { r throws(TPMMarshalError) in try TPMTSymDef(from: &r, field: "symmetric", allowXOR: true) }
        let authHash = try ctx.hashAlg()!
        try ctx.finishParameters()

        guard nonceCaller.count >= 16, nonceCaller.count <= authHash.digestSize else { throw TPMResponseCode.size.parameter(1) }
        let kind: Session.Kind
        switch rawType {
        case 0: kind = .hmac
        case 1: kind = .policy
        case 3: kind = .trial
        default: throw TPMResponseCode.value.parameter(3)
        }
        switch symmetric.algorithm {
        case .null: break
        case .xor: guard TPMHashAlgorithm(TPMAlgorithmID(symmetric.keyBits)) != nil else { throw TPMResponseCode.hash.parameter(4) }
        case .aes:
            guard [128, 192, 256].contains(symmetric.keyBits) else { throw TPMResponseCode.keySize.parameter(4) }
            guard symmetric.mode == .cfb else { throw TPMResponseCode.mode.parameter(4) }
        default: throw TPMResponseCode.symmetric.parameter(4)
        }

        var salt: [UInt8] = []
        if tpmKey == .null {
            guard encryptedSalt.isEmpty else { throw TPMResponseCode.value.parameter(2) }
        } else {
            let key = try object(tpmKey, index: 0)
            salt = try decryptSecret(encryptedSalt, key: key, label: "SECRET", parameter: 2)
        }
        var bindAuth: [UInt8] = []
        var boundEntity: [UInt8]?
        if bind != .null {
            let name = try name(of: bind, index: 1)
            guard let entity = entityAuth(bind) else { throw TPMResponseCode.handle.handle(2) }
            bindAuth = Self.trimmed(entity.authValue)
            boundEntity = Self.boundEntityValue(name: name, authValue: entity.authValue)
        }
        let nonceTPM = SystemRandom.bytes(authHash.digestSize)
        var sessionKey: [UInt8] = []
        if tpmKey != .null || bind != .null {
            sessionKey = TPMKDF.kdfa(authHash, key: bindAuth + salt, label: "ATH", contextU: nonceTPM, contextV: nonceCaller, bits: authHash.digestSize * 8)
        }
        guard sessions.count < Self.maxSessions else { throw TPMResponseCode.sessionHandles }
        var raw: UInt32 = (kind == .hmac ? 0x0200_0000 : 0x0300_0000)
        while sessions[raw] != nil || sessions[raw ^ 0x0100_0000] != nil { raw += 1 }
        sessions[raw] = Session(kind: kind, authHash: authHash, nonceTPM: nonceTPM, sessionKey: sessionKey, symmetric: symmetric,
                                boundEntity: kind == .hmac ? boundEntity : nil)
        ctx.responseHandle = TPMHandle(raw)
        ctx.out.sized(nonceTPM)
    }

    /// Recovers a seed or salt that the caller encrypted to `key` (Part 1 §24, §19.6.13):
    /// RSA-OAEP with the label, or ECDH with the caller's ephemeral point and KDFe.
    func decryptSecret(_ secret: [UInt8], key: LoadedObject, label: String, parameter: Int) throws(TPMResponseCode) -> [UInt8] {
        guard key.attributes.contains(.decrypt), key.sensitive != nil else { throw TPMResponseCode.key.handle(1) }
        guard let nameHash = TPMHashAlgorithm(key.publicArea.nameAlg) else { throw TPMResponseCode.hash.handle(1) }
        if let rsa = key.rsa {
            do {
                return try rsa.decryptOAEP(secret, hash: nameHash, label: Array(label.utf8) + [0])
            } catch {
                throw TPMResponseCode.value.parameter(parameter)
            }
        }
        guard let ecc = key.ecc else { throw TPMResponseCode.key.handle(1) }
        guard let point = try? TPMSECCPoint(tpmBytes: secret) else { throw TPMResponseCode.insufficient.parameter(parameter) }
        let ephemeral: ECCKey
        do { ephemeral = try ECCKey(curve: ecc.curve, x: point.x, y: point.y) } catch { throw TPMResponseCode.eccPoint.parameter(parameter) }
        let z = try ecc.multiply(ephemeral)
        return TPMKDF.kdfe(nameHash, z: z.x, label: label, partyU: Self.padded(point.x, ecc.coordinateSize), partyV: ecc.x, bits: nameHash.digestSize * 8)
    }
}
