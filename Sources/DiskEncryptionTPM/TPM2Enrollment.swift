import Crypto
import DiskEncryption
import Foundation
import TPM2
import TPMClient

/// A secret sealed to PCR values and the token describing it, before a keyslot holds it.
struct SealedSecret {
    var secret: [UInt8]
    var token: SystemdTPM2Token
}

extension TPM2Client {
    /// The SHA-256 bank values of `pcrs`, read one PCR per TPM2_PCR_Read (Part 3 §22.4).
    public func sha256Values(of pcrs: [Int]) throws(TPM2TokenError) -> [Int: [UInt8]] {
        var values: [Int: [UInt8]] = [:]
        for pcr in pcrs {
            let result: TPMPCRReadResult
            do {
                result = try pcrRead(SystemdTPM2Token.selection([pcr]))
            } catch {
                throw .tpm(error)
            }
            guard result.digests.count == 1 else { throw .invalidArgument("the TPM has no SHA-256 PCR \(pcr)") }
            values[pcr] = result.digests[0]
        }
        return values
    }

    /// The storage root key: TPM2_CreatePrimary (Part 3 §24.1) in the owner hierarchy with the ECC
    /// P-256 SRK template of the TCG TPM v2.0 Provisioning Guidance §7.5.1 (EK Credential Profile
    /// template L-2 with userWithAuth and noDA, no authPolicy); with `legacy`, the same template
    /// without noDA, the transient primary systemd < 255 seals under (tokens without `tpm2_srk`).
    /// The primary seed makes it the same key every time, so it is created for each operation and
    /// flushed after.
    func withStorageRootKey<T>(legacy: Bool = false, _ body: (TPMLoadedObject) throws(TPM2TokenError) -> T) throws(TPM2TokenError) -> T {
        var template = TPMTPublic.eccStorageParent
        if legacy { template.objectAttributes.remove(.noDA) }
        let srk: TPMLoadedObject
        do {
            srk = try createPrimary(hierarchy: .owner, template: template)
        } catch {
            throw .tpm(error)
        }
        defer { try? flushContext(srk.handle) }
        return try body(srk)
    }

    /// systemd's shared SRK handle, `TPM2_SRK_HANDLE` (TCG TPM v2.0 Provisioning Guidance §7.8).
    static let sharedSRKHandle = TPMHandle(0x8100_0001)

    /// Makes `srk` persistent at 0x81000001 (TPM2_EvictControl, Part 3 §28.5) unless that handle
    /// already holds it, as systemd-cryptenroll ≥ 255 does, and returns the token's `tpm2_srk`:
    /// the `Esys_TR_Serialize` record of an ESYS key resource, TPM_HANDLE ‖ TPM2B_NAME ‖
    /// UINT32 1 (IESYSC_KEY_RSRC) ‖ TPM2B_PUBLIC.
    func persist(_ srk: TPMLoadedObject) throws(TPM2TokenError) -> [UInt8] {
        if let existing = try? readPublic(Self.sharedSRKHandle) {
            guard constantTimeEqual(existing.name, srk.name) else {
                throw .invalidArgument("persistent handle 0x81000001 holds a key other than the ECC P-256 SRK")
            }
        } else {
            do {
                try evictControl(object: srk.handle, persistentHandle: Self.sharedSRKHandle)
            } catch {
                throw .tpm(error)
            }
        }
        var record = TPMWriter()
        record.write(Self.sharedSRKHandle)
        record.sized(srk.name)
        record.u32(1)
        srk.publicArea.marshalSized(into: &record)
        return record.bytes
    }

    /// Seals 32 random bytes to `values` of `pcrs`, by default the PCRs' current values, and to
    /// `pin` when one is given: the policy is computed offline (``SystemdTPM2Token/policy(pcrs:values:pin:)``),
    /// so the values need not be those the TPM holds now, and becomes the authPolicy of a sealed
    /// data object (Part 2 §12.2.3.3, no userWithAuth) created under the SRK (Part 3 §12.1), which
    /// is then made persistent for systemd. With a PIN the object's authValue is derived from it
    /// (with a fresh 32-byte salt when `saltPIN`) and the object is subject to dictionary-attack
    /// protection, as systemd-cryptenroll --tpm2-with-pin makes it.
    ///
    /// With a `publicKey`, the policy starts with PolicyAuthorize of that key (systemd
    /// `--tpm2-public-key`): unsealing then also needs the key's signature over the PolicyPCR of
    /// `publicKeyPCRs` holding their values at that time.
    func seal(
        pcrs requested: [Int], values given: [Int: [UInt8]]? = nil, pin: [UInt8]? = nil, saltPIN: Bool = true,
        publicKey: PCRPolicyKey? = nil, publicKeyPCRs requestedSigned: [Int] = [], keyslot: Int
    ) throws(TPM2TokenError) -> SealedSecret {
        let pcrs = Array(Set(requested)).sorted()
        let publicKeyPCRs = publicKey == nil ? [] : Array(Set(requestedSigned)).sorted()
        guard (pcrs + publicKeyPCRs).allSatisfy({ (0..<24).contains($0) }) else {
            throw .invalidArgument("PCRs must be 0...23: \(requested) \(requestedSigned)")
        }
        guard publicKey == nil || !publicKeyPCRs.isEmpty else { throw .invalidArgument("a PCR policy key needs the PCRs its signatures cover") }
        guard !pcrs.isEmpty || pin != nil || publicKey != nil else { throw .invalidArgument("a token needs PCRs, a PIN or a PCR policy key") }
        let values = if let given { given } else { try sha256Values(of: pcrs) }
        let policy = try SystemdTPM2Token.policy(pcrs: pcrs, values: values, pin: pin != nil, publicKey: publicKey)
        let pinSalt = pin != nil && saltPIN ? SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) } : nil
        var authValue = try pin.map { pin throws(TPM2TokenError) in try SystemdTPM2Token.authValue(pin: pin, salt: pinSalt) } ?? []
        defer { authValue.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
        let secret = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        let (sealed, srkRecord) = try withStorageRootKey { srk throws(TPM2TokenError) in
            let sealed: TPMCreatedObject
            do throws(TPMClientError) {
                sealed = try create(
                    parent: srk.handle, template: .sealedData(policy: policy, dictionaryAttackProtected: pin != nil),
                    sensitive: TPMSSensitiveCreate(userAuth: authValue, data: secret))
            } catch {
                throw .tpm(error)
            }
            return (sealed, try persist(srk))
        }
        let token = SystemdTPM2Token(
            keyslot: keyslot, pcrs: pcrs, sealed: sealed, policyHash: policy, srk: srkRecord, pcrValues: pcrs.isEmpty ? nil : values,
            pin: pin != nil, pinSalt: pinSalt, publicKey: publicKey, publicKeyPCRs: publicKeyPCRs)
        return SealedSecret(secret: secret, token: token)
    }

    /// Unseals the token's secret: TPM2_Load under the SRK (Part 3 §12.2), a policy session
    /// (§11.1) satisfied in the order the policy was built, and TPM2_Unseal (§12.7). For a signed
    /// PCR policy: TPM2_PolicyPCR over the signed PCRs, TPM2_PolicyGetDigest (§23.19), the entry of
    /// `signature` for that digest and the token's key, TPM2_LoadExternal of the key (§12.3),
    /// TPM2_VerifySignature (§20.1) and TPM2_PolicyAuthorize (§23.16). Then TPM2_PolicyPCR over the
    /// token's PCRs (§23.7) and, for a PIN token, TPM2_PolicyAuthValue (§23.17), the unseal's HMAC
    /// then proving the PIN's authValue (Part 1 §19.6). PCRs whose values differ from those
    /// recorded in the token are named before the TPM is asked, so a PIN is never tried (and
    /// counted by dictionary-attack protection) in vain.
    public func unseal(_ token: SystemdTPM2Token, pin: [UInt8]? = nil, signature: SignedPCRPolicy? = nil) throws(TPM2TokenError) -> [UInt8] {
        var authValue: [UInt8] = []
        if token.pin {
            guard let pin else { throw .pinRequired }
            authValue = try SystemdTPM2Token.authValue(pin: pin, salt: token.pinSalt)
        }
        defer { authValue.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
        if token.pcrValues != nil {
            let changed = try token.changedPCRs(current: try sha256Values(of: token.pcrs))
            guard changed.isEmpty else { throw .pcrMismatch(changed) }
        }
        let signed = try token.publicKey.map { key throws(TPM2TokenError) in
            let approved = try SystemdTPM2Token.policy(pcrs: token.publicKeyPCRs, values: try sha256Values(of: token.publicKeyPCRs))
            guard let entry = signature?.entry(pcrs: token.publicKeyPCRs, fingerprint: key.fingerprint, policy: approved) else {
                throw TPM2TokenError.noSignature(pcrs: token.publicKeyPCRs, policy: approved)
            }
            return (key: key, entry: entry)
        }
        return try withStorageRootKey(legacy: token.srk == nil) { srk throws(TPM2TokenError) in
            do throws(TPMClientError) {
                let item = try load(parent: srk.handle, token.sealed)
                defer { try? flushContext(item.handle) }
                let started = try startAuthSession(type: .policy)
                defer { try? flushContext(started.handle) }
                if let signed { try authorize(session: started.handle, key: signed.key, entry: signed.entry) }
                if !token.pcrs.isEmpty { try policyPCR(session: started.handle, selection: SystemdTPM2Token.selection(token.pcrs)) }
                guard token.pin else { return try unseal(item.handle, auth: .policy(started.handle)) }
                try policyAuthValue(session: started.handle)
                var session = TPMHMACSession(started)
                return try unseal(item, session: &session, authValue: authValue)
            } catch where error.responseCode?.base == .policyFail {
                if token.pcrValues != nil, let changed = try? token.changedPCRs(current: try sha256Values(of: token.pcrs)), !changed.isEmpty {
                    throw .pcrMismatch(changed)
                }
                throw .policyRefused(pcrs: token.pcrs + token.publicKeyPCRs)
            } catch where error.responseCode?.base == .authFail || error.responseCode?.base == .badAuth {
                throw .wrongPIN(triesLeft: dictionaryAttackState()?.triesLeft)
            } catch where error.responseCode?.base == .lockout {
                throw .dictionaryAttackLockout(recoverySeconds: dictionaryAttackState()?.recoverySeconds)
            } catch where error.responseCode?.base == .signature && signed != nil {
                throw .signatureRefused(pcrs: token.publicKeyPCRs)
            } catch {
                throw .tpm(error)
            }
        }
    }

    /// Satisfies PolicyAuthorize(`key`) in `session` with the signed PolicyPCR of `entry`: the
    /// session's digest becomes the signed one when the PCRs hold the values signed for.
    private func authorize(session: TPMHandle, key: PCRPolicyKey, entry: SignedPCRPolicy.Entry) throws(TPMClientError) {
        try policyPCR(session: session, selection: SystemdTPM2Token.selection(entry.pcrs))
        let loaded = try loadExternal(key.publicArea)
        defer { try? flushContext(loaded.handle) }
        let ticket = try verifySignature(
            key: loaded.handle, digest: TPMHashAlgorithm.sha256.hash(entry.policy),
            signature: .rsa(scheme: .rsassa, hash: .sha256, signature: entry.signature))
        try policyAuthorize(session: session, approvedPolicy: entry.policy, keySign: loaded.name, checkTicket: ticket)
    }

    /// The TPM's dictionary-attack state (Part 1 §19.8, TPM_PT_LOCKOUT_COUNTER through
    /// TPM_PT_LOCKOUT_INTERVAL): authorization failures left before lockout, and the seconds after
    /// which one failure is forgotten; nil when the TPM does not report them.
    func dictionaryAttackState() -> (triesLeft: Int, recoverySeconds: Int)? {
        guard let properties = try? tpmProperties(from: .lockoutCounter, count: 3),
            let counter = properties[TPMPropertyTag.lockoutCounter.rawValue], let maximum = properties[TPMPropertyTag.maxAuthFail.rawValue],
            let interval = properties[TPMPropertyTag.lockoutInterval.rawValue]
        else { return nil }
        return (Int(maximum) - min(Int(counter), Int(maximum)), Int(interval))
    }
}

extension LUKS2Volume {
    /// The keyslot passphrase of a TPM2 token: the base64 text of the unsealed secret, as
    /// systemd-cryptenroll and systemd-cryptsetup use it (so either can open the other's keyslot).
    static func tpm2Passphrase(_ secret: [UInt8]) -> [UInt8] {
        Array(Data(secret).base64EncodedString().utf8)
    }

    /// The KDF of a TPM2 keyslot: the passphrase has 256 bits of entropy, so systemd-cryptenroll
    /// sets cryptsetup's minimal PBKDF (PBKDF2-SHA512, 1000 iterations) and so does this.
    static let tpm2KeyslotKDF = LUKS2KDFParameters.pbkdf2(iterations: 1000, hash: "sha512")

    /// Seals a random secret in `client`'s TPM to the current values of `pcrs`, to `pin` (salted
    /// as systemd ≥ 254 does unless `saltPIN` is false, for systemd < 254) and to signatures of
    /// `publicKey` over `publicKeyPCRs` (systemd `--tpm2-public-key`), adds a keyslot for it
    /// holding `volumeKey`, and stores a `systemd-tpm2` token naming that keyslot. Returns both ids.
    @discardableResult
    public mutating func enrollTPM2(
        client: TPM2Client, pcrs: [Int], pin: [UInt8]? = nil, saltPIN: Bool = true, publicKey: PCRPolicyKey? = nil,
        publicKeyPCRs: [Int] = [], volumeKey: SymmetricKey
    ) throws(TPM2TokenError) -> (keyslot: Int, token: Int) {
        try addTPM2Keyslot(volumeKey: volumeKey) { keyslot throws(TPM2TokenError) in
            try client.seal(pcrs: pcrs, pin: pin, saltPIN: saltPIN, publicKey: publicKey, publicKeyPCRs: publicKeyPCRs, keyslot: keyslot)
        }
    }

    /// Adds a keyslot holding `volumeKey` whose passphrase is the secret `seal` seals for that
    /// keyslot, then the token `seal` describes. Returns both ids.
    mutating func addTPM2Keyslot(
        volumeKey: SymmetricKey, seal: (Int) throws(TPM2TokenError) -> SealedSecret
    ) throws(TPM2TokenError) -> (keyslot: Int, token: Int) {
        guard let keyslot = (0..<LUKS2Metadata.maximumKeyslots).first(where: { header.metadata.keyslots[String($0)] == nil }) else {
            throw .luks(.noFreeKeyslot)
        }
        var sealed = try seal(keyslot)
        var passphrase = Self.tpm2Passphrase(sealed.secret)
        defer {
            sealed.secret.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            passphrase.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        }
        do {
            try addKeyslot(passphrase: passphrase, volumeKey: volumeKey, kdf: Self.tpm2KeyslotKDF, id: keyslot)
            return (keyslot, try addToken(sealed.token.luks2Token))
        } catch {
            throw .luks(error)
        }
    }

    /// Formats `path` with a random volume key whose only keyslot is sealed to `pcrs` in
    /// `client`'s TPM: without that TPM in that PCR state the data is unrecoverable.
    public static func formatTPM2(
        path: String, client: TPM2Client, pcrs: [Int], options: FormatOptions = FormatOptions()
    ) throws(TPM2TokenError) -> (volume: LUKS2Volume, volumeKey: SymmetricKey) {
        var sealed = try client.seal(pcrs: pcrs, keyslot: 0)
        var passphrase = tpm2Passphrase(sealed.secret)
        defer {
            sealed.secret.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            passphrase.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        }
        var formatOptions = options
        formatOptions.kdf = tpm2KeyslotKDF
        do {
            var (volume, volumeKey) = try format(path: path, passphrase: passphrase, options: formatOptions)
            try volume.addToken(sealed.token.luks2Token)
            return (volume, volumeKey)
        } catch {
            throw .luks(error)
        }
    }

    /// The `systemd-tpm2` tokens of the volume, by token id.
    public func tpm2Tokens() throws(TPM2TokenError) -> [(id: Int, token: SystemdTPM2Token)] {
        try tpm2TokenEntries().map { entry throws(TPM2TokenError) in (entry.id, try entry.token.get()) }
    }

    /// Each `systemd-tpm2` token in id order, parsed or with the reason it could not be.
    func tpm2TokenEntries() -> [(id: Int, token: Result<SystemdTPM2Token, TPM2TokenError>)] {
        header.metadata.tokens
            .filter { $0.value.type == SystemdTPM2Token.type }
            .map { entry in (id: Int(entry.key) ?? 0, token: Result { () throws(TPM2TokenError) in try SystemdTPM2Token(entry.value) }) }
            .sorted { $0.id < $1.id }
    }

    /// Recovers the volume key through token `id`, or else through the first `systemd-tpm2` token
    /// that works, in id order (after a reseal, the token of the boot chain that is running opens
    /// the volume, whichever of the two it is): unseals the token's secret in `client`'s TPM and
    /// opens the keyslot the token names with it. When several tokens fail, the error gives each
    /// one's reason.
    /// `pin` is used for tokens that need one (a wrong PIN stops the search, as every further try
    /// would count toward the TPM's dictionary-attack lockout), `signature` for signed PCR policies.
    public func unlockTPM2(client: TPM2Client, token id: Int? = nil, pin: [UInt8]? = nil, signature: SignedPCRPolicy? = nil) throws(TPM2TokenError) -> Unlocked {
        let entries = tpm2TokenEntries().filter { id == nil || $0.id == id }
        guard !entries.isEmpty else { throw .noToken }
        var failures: [Int: TPM2TokenError] = [:]
        for entry in entries {
            do throws(TPM2TokenError) {
                return try unlockTPM2(client: client, try entry.token.get(), pin: pin, signature: signature)
            } catch {
                if case .wrongPIN = error { throw error }
                if case .dictionaryAttackLockout = error { throw error }
                failures[entry.id] = error
            }
        }
        if failures.count == 1, let only = failures.values.first { throw only }
        throw .tokensRefused(failures)
    }

    func unlockTPM2(client: TPM2Client, _ token: SystemdTPM2Token, pin: [UInt8]?, signature: SignedPCRPolicy?) throws(TPM2TokenError) -> Unlocked {
        var secret = try client.unseal(token, pin: pin, signature: signature)
        var passphrase = Self.tpm2Passphrase(secret)
        defer {
            secret.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            passphrase.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        }
        do {
            return try unlock(passphrase: passphrase, keyslot: token.keyslot)
        } catch {
            throw .luks(error)
        }
    }
}
