import _CryptoExtras
import Crypto
import TPM2

/// Credential protection (TPM 2.0 Part 1 §24; Part 3 §12.5 ActivateCredential, §12.6
/// MakeCredential) and asymmetric encryption (Part 3 §14: RSA_Encrypt, RSA_Decrypt,
/// ECDH_KeyGen, ECDH_ZGen).
extension TPMEngine {
    /// Encrypts a fresh seed to `key` with the given label: RSA-OAEP, or an ephemeral ECDH
    /// point with KDFe (Part 1 §24.4 and Annex B.10 / C.6).
    func encryptSecret(to key: LoadedObject, label: String) throws(TPMResponseCode) -> (seed: [UInt8], secret: [UInt8]) {
        guard let hash = TPMHashAlgorithm(key.publicArea.nameAlg) else { throw TPMResponseCode.hash.handle(1) }
        if let rsa = key.rsa {
            let seed = SystemRandom.bytes(hash.digestSize)
            return (seed, try rsa.encryptOAEP(seed, hash: hash, label: Array(label.utf8) + [0]))
        }
        guard let ecc = key.ecc else { throw TPMResponseCode.key.handle(1) }
        var random = SystemRandom()
        let ephemeral = try ECCKey.generate(curve: ecc.curve, random: &random)
        let z = try ephemeral.multiply(ecc)
        let seed = TPMKDF.kdfe(hash, z: z.x, label: label, partyU: ephemeral.x, partyV: ecc.x, bits: hash.digestSize * 8)
        return (seed, TPMSECCPoint(x: ephemeral.x, y: ephemeral.y).tpmBytes)
    }

    private func credentialKeys(_ key: LoadedObject, seed: [UInt8], objectName: [UInt8]) throws(TPMResponseCode) -> (SymmetricKey, [UInt8], TPMHashAlgorithm) {
        guard let hash = TPMHashAlgorithm(key.publicArea.nameAlg), let sym = key.publicArea.parameters.symmetric, sym.algorithm == .aes else {
            throw TPMResponseCode.type.handle(1)
        }
        let symKey = TPMKDF.kdfa(hash, key: seed, label: "STORAGE", contextU: objectName, contextV: [], bits: Int(sym.keyBits))
        let hmacKey = TPMKDF.kdfa(hash, key: seed, label: "INTEGRITY", contextU: [], contextV: [], bits: hash.digestSize * 8)
        return (SymmetricKey(data: symKey), hmacKey, hash)
    }

    /// TPM2_MakeCredential (Part 3 §12.6).
    func makeCredential(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let credential = try ctx.sized("credential", maximum: TPMLimits.maxDigest)
        let objectName = try ctx.sized("objectName", maximum: TPMLimits.maxName)
        try ctx.finishParameters()
        let key = try object(ctx.handles[0], index: 0)
        guard key.attributes.contains([.restricted, .decrypt]), !key.attributes.contains(.signEncrypt) else { throw TPMResponseCode.type.handle(1) }
        let (seed, secret) = try encryptSecret(to: key, label: "IDENTITY")
        let (symKey, hmacKey, hash) = try credentialKeys(key, seed: seed, objectName: objectName)
        var plain = TPMWriter()
        plain.sized(credential)
        guard let encrypted = try? AES._CFB.encrypt(plain.bytes, using: symKey, iv: Self.zeroIV) else { throw TPMResponseCode.failure }
        var blob = TPMWriter()
        blob.sized(hash.hmac(key: hmacKey, Array(encrypted), objectName))
        blob.bytes(encrypted)
        ctx.out.sized(blob.bytes)
        ctx.out.sized(secret)
    }

    /// TPM2_ActivateCredential (Part 3 §12.5).
    func activateCredential(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let blob = try ctx.sized("credentialBlob", maximum: TPMLimits.maxIDObject)
        let secret = try ctx.sized("secret", maximum: TPMLimits.maxEncryptedSecret)
        try ctx.finishParameters()
        let activated = try object(ctx.handles[0], index: 0)
        let key = try object(ctx.handles[1], index: 1)
        guard key.attributes.contains([.restricted, .decrypt]), !key.attributes.contains(.signEncrypt) else { throw TPMResponseCode.type.handle(2) }
        let seed = try decryptSecret(secret, key: key, label: "IDENTITY", parameter: 2)
        let (symKey, hmacKey, hash) = try credentialKeys(key, seed: seed, objectName: activated.name)
        var reader = TPMReader(blob)
        guard let integrity = try? reader.sized("integrityHMAC", maximum: TPMLimits.maxDigest) else { throw TPMResponseCode.insufficient.parameter(1) }
        let encrypted = Array(blob[reader.offset...])
        guard constantTimeEqual(integrity, hash.hmac(key: hmacKey, encrypted, activated.name)) else { throw TPMResponseCode.integrity.parameter(1) }
        guard let plain = try? AES._CFB.decrypt(encrypted, using: symKey, iv: Self.zeroIV),
              let credential = try? TPMReader.sizedBuffer(Array(plain), maximum: TPMLimits.maxDigest) else { throw TPMResponseCode.size.parameter(1) }
        ctx.out.sized(credential)
    }

    /// The decryption scheme of an RSA operation: the key's own, or the caller's when open.
    private func rsaScheme(_ key: LoadedObject, requested: TPMTScheme) throws(TPMResponseCode) -> TPMTScheme {
        guard case let .rsa(parms) = key.publicArea.parameters, key.rsa != nil else { throw TPMResponseCode.key.handle(1) }
        guard key.attributes.contains(.decrypt), !key.attributes.contains(.restricted) else { throw TPMResponseCode.attributes.handle(1) }
        let own = parms.scheme
        if own.scheme == .null { return requested }
        guard requested.scheme == .null || requested == own else { throw TPMResponseCode.scheme.parameter(2) }
        return own
    }

    /// The OAEP label as the TPM uses it: zero-terminated when given (Part 3 §14.2.1).
    private static func oaepLabel(_ label: [UInt8]) -> [UInt8] {
        label.isEmpty || label.last == 0 ? label : label + [0]
    }

    private func readRSAInputs(_ ctx: inout CommandContext, field: String) throws(TPMResponseCode) -> ([UInt8], TPMTScheme, [UInt8]) {
        let data = try ctx.sized(field, maximum: TPMLimits.maxRSAKeyBytes)
        let scheme = try ctx.read(.scheme) { r throws(TPMMarshalError) in try TPMTScheme(from: &r, field: "inScheme", allowed: TPMTScheme.rsaDecryptSchemes) }
        let label = try ctx.sized("label", maximum: TPMLimits.maxDigest)
        try ctx.finishParameters()
        return (data, scheme, Self.oaepLabel(label))
    }

    /// TPM2_RSA_Encrypt (Part 3 §14.2).
    func rsaEncrypt(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let (message, requested, label) = try readRSAInputs(&ctx, field: "message")
        let key = try object(ctx.handles[0], index: 0)
        let scheme = try rsaScheme(key, requested: requested)
        let rsa = key.rsa!
        let out: [UInt8]
        switch scheme.scheme {
        case .oaep:
            guard let hash = TPMHashAlgorithm(scheme.hashAlg) else { throw TPMResponseCode.hash.parameter(2) }
            do { out = try rsa.encryptOAEP(message, hash: hash, label: label) } catch { throw TPMResponseCode.value.parameter(1) }
        case .rsaes:
            do { out = try rsa.encryptPKCS1(message) } catch { throw TPMResponseCode.value.parameter(1) }
        default:
            guard message.count <= rsa.byteCount else { throw TPMResponseCode.value.parameter(1) }
            do { out = try rsa.rawPublic(Self.padded(message, rsa.byteCount)) } catch { throw TPMResponseCode.value.parameter(1) }
        }
        ctx.out.sized(out)
    }

    /// TPM2_RSA_Decrypt (Part 3 §14.3).
    func rsaDecrypt(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let (cipherText, requested, label) = try readRSAInputs(&ctx, field: "cipherText")
        let key = try object(ctx.handles[0], index: 0)
        let scheme = try rsaScheme(key, requested: requested)
        let rsa = key.rsa!
        guard cipherText.count == rsa.byteCount else { throw TPMResponseCode.size.parameter(1) }
        let out: [UInt8]
        switch scheme.scheme {
        case .oaep:
            guard let hash = TPMHashAlgorithm(scheme.hashAlg) else { throw TPMResponseCode.hash.parameter(2) }
            out = try rsa.decryptOAEP(cipherText, hash: hash, label: label)
        case .rsaes:
            do { out = try rsa.decryptPKCS1(cipherText) } catch { throw TPMResponseCode.value.parameter(1) }
        default:
            do { out = try rsa.rawPrivate(cipherText) } catch { throw TPMResponseCode.value.parameter(1) }
        }
        ctx.out.sized(out)
    }

    /// TPM2_ECDH_KeyGen (Part 3 §14.4): an ephemeral key pair and the shared point with the
    /// given public key.
    func ecdhKeyGen(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        try ctx.finishParameters()
        let key = try object(ctx.handles[0], index: 0)
        guard let ecc = key.ecc, key.attributes.contains(.decrypt) else { throw TPMResponseCode.key.handle(1) }
        var random = SystemRandom()
        let ephemeral = try ECCKey.generate(curve: ecc.curve, random: &random)
        let z = try ephemeral.multiply(ecc)
        ctx.out.sizedStructure { TPMSECCPoint(x: z.x, y: z.y).marshal(into: &$0) }
        ctx.out.sizedStructure { TPMSECCPoint(x: ephemeral.x, y: ephemeral.y).marshal(into: &$0) }
    }

    /// TPM2_ECDH_ZGen (Part 3 §14.5).
    func ecdhZGen(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let point = try ctx.read { r throws(TPMMarshalError) in
            try r.sizedStructure("TPM2B_ECC_POINT") { r2 throws(TPMMarshalError) in try TPMSECCPoint(from: &r2) }!
        }
        try ctx.finishParameters()
        let key = try object(ctx.handles[0], index: 0)
        guard let ecc = key.ecc, key.sensitive != nil, key.attributes.contains(.decrypt), !key.attributes.contains(.restricted) else {
            throw TPMResponseCode.key.handle(1)
        }
        let peer: ECCKey
        do { peer = try ECCKey(curve: ecc.curve, x: point.x, y: point.y) } catch { throw TPMResponseCode.eccPoint.parameter(1) }
        let z = try ecc.multiply(peer)
        ctx.out.sizedStructure { TPMSECCPoint(x: z.x, y: z.y).marshal(into: &$0) }
    }
}
