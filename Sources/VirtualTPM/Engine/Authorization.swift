import _CryptoExtras
import Crypto
import Foundation
import TPM2

/// What the authorization phase learned about a command's sessions, kept for the response.
struct SessionProcessing {
    var code: TPMCommandCode
    var sessions: [TPMEngine.SessionInput]
    /// The handle each session authorizes, or nil for encrypt/decrypt/audit-only sessions.
    var associated: [TPMHandle?]
    /// Whether the entity's authValue takes part in the session's HMACs (Part 1 §19.6.5).
    var includeAuth: [Bool]
    var decryptSession: Int?
    var encryptSession: Int?
}

/// Caches rpHash per hash algorithm: H(TPM_RC_SUCCESS || commandCode || parameters)
/// (Part 1 §18.8).
struct RPHashCache {
    let code: TPMCommandCode
    let parameters: [UInt8]

    func rpHash(_ hash: TPMHashAlgorithm) -> [UInt8] {
        hash.hash([0, 0, 0, 0], code.tpmBytes, parameters)
    }
}

/// One TPMS_AUTH_RESPONSE of a response's authorization area (Part 2 §10.13.4).
struct AuthResponse {
    var nonce: [UInt8]
    var attributes: TPMASession
    var hmac: [UInt8]
}

/// An entity's authorization data: authValue and authPolicy (Part 1 §19.2).
struct EntityAuth {
    var authValue: [UInt8]
    var policy: PolicyValue?
    var daProtected: Bool
    var isLockout = false
}

extension TPMEngine {
    /// The auth value with trailing zero bytes removed, as the TPM uses it in HMACs and
    /// password comparisons (Part 1 §19.6.4.3).
    static func trimmed(_ auth: [UInt8]) -> [UInt8] {
        var auth = auth
        while auth.last == 0 { auth.removeLast() }
        return auth
    }

    // MARK: - Names and entities

    /// The Name of the entity a handle refers to (Part 1 §16), failing with the handle error
    /// the command should return when it does not exist.
    func name(of handle: TPMHandle, index: Int) throws(TPMResponseCode) -> [UInt8] {
        switch handle.kind {
        case .pcr:
            guard handle.rawValue < UInt32(Self.pcrCount) else { throw TPMResponseCode.value.handle(index + 1) }
            return handle.tpmBytes
        case .permanent:
            try checkHierarchyEnabled(handle, index: index)
            return handle.tpmBytes
        case .hmacSession, .policySession:
            guard sessions[handle.rawValue] != nil else { throw TPMResponseCode.referenceH(index) }
            return handle.tpmBytes
        case .nvIndex:
            guard let index = nv.nvIndices[handle.rawValue], let name = index.nvPublic.name else {
                throw TPMResponseCode.handle.handle(index + 1)
            }
            return name
        case .transient:
            guard let loaded = objects[handle.rawValue] else { throw TPMResponseCode.referenceH(index) }
            return loaded.name
        case .persistent:
            return try object(handle, index: index).name
        default:
            throw TPMResponseCode.handle.handle(index + 1)
        }
    }

    func checkHierarchyEnabled(_ handle: TPMHandle, index: Int) throws(TPMResponseCode) {
        switch handle {
        case .owner: guard shEnable else { throw TPMResponseCode.hierarchy.handle(index + 1) }
        case .endorsement: guard ehEnable else { throw TPMResponseCode.hierarchy.handle(index + 1) }
        case .platform: guard phEnable else { throw TPMResponseCode.hierarchy.handle(index + 1) }
        case .lockout, .null, .platformNV, .password: break
        default: throw TPMResponseCode.value.handle(index + 1)
        }
    }

    /// A loaded object by handle; persistent objects are brought in from NV on first use.
    func object(_ handle: TPMHandle, index: Int = 0) throws(TPMResponseCode) -> LoadedObject {
        if let loaded = objects[handle.rawValue] { return loaded }
        guard handle.kind == .persistent, let stored = nv.persistentObjects[handle.rawValue] else {
            throw TPMResponseCode.handle.handle(index + 1)
        }
        let loaded = try materialize(stored)
        loaded.persistentHandle = handle
        objects[handle.rawValue] = loaded
        return loaded
    }

    func entityAuth(_ handle: TPMHandle) -> EntityAuth? {
        switch handle.kind {
        case .pcr:
            return EntityAuth(authValue: [], policy: nil, daProtected: false)
        case .permanent:
            switch handle {
            case .owner: return EntityAuth(authValue: nv.ownerAuth, policy: nv.ownerPolicy, daProtected: false)
            case .endorsement: return EntityAuth(authValue: nv.endorsementAuth, policy: nv.endorsementPolicy, daProtected: false)
            case .platform: return EntityAuth(authValue: platformAuth, policy: platformPolicy, daProtected: false)
            case .lockout: return EntityAuth(authValue: nv.lockoutAuth, policy: nv.lockoutPolicy, daProtected: true, isLockout: true)
            case .null: return EntityAuth(authValue: [], policy: nil, daProtected: false)
            default: return nil
            }
        case .nvIndex:
            guard let index = nv.nvIndices[handle.rawValue] else { return nil }
            let pub = index.nvPublic
            return EntityAuth(authValue: index.authValue, policy: PolicyValue(hashAlg: pub.nameAlg.rawValue, digest: pub.authPolicy),
                              daProtected: !pub.attributes.contains(.noDA))
        case .transient, .persistent:
            guard let object = try? object(handle) else { return nil }
            return EntityAuth(authValue: object.authValue,
                              policy: PolicyValue(hashAlg: object.publicArea.nameAlg.rawValue, digest: object.publicArea.authPolicy),
                              daProtected: !object.attributes.contains(.noDA))
        default:
            return nil
        }
    }

    // MARK: - Command authorization (Part 1 §19.6, Part 3 §5.6)

    func authorize(code: TPMCommandCode, spec: CommandSpec, handles: [TPMHandle], names: [[UInt8]], sessions: [SessionInput], parameters: [UInt8]) throws(TPMResponseCode) -> SessionProcessing {
        var processing = SessionProcessing(code: code, sessions: sessions, associated: Array(repeating: nil, count: sessions.count),
                                           includeAuth: Array(repeating: false, count: sessions.count))
        for (i, role) in spec.authRoles.enumerated() where role != nil {
            processing.associated[i] = handles[i]
        }
        var cpHashes: [TPMAlgorithmID: [UInt8]] = [:]
        func cpHash(_ hash: TPMHashAlgorithm) -> [UInt8] {
            if let cached = cpHashes[hash.id] { return cached }
            let digest = hash.hash(parts: [code.tpmBytes] + names + [parameters])
            cpHashes[hash.id] = digest
            return digest
        }

        // Consistency checks first (Part 3 §5.6.2).
        for (i, input) in sessions.enumerated() {
            let number = i + 1
            if input.handle == .password {
                guard processing.associated[i] != nil else { throw TPMResponseCode.handle.session(number) }
                guard input.attributes.isDisjoint(with: [.audit, .encrypt, .decrypt]) else { throw TPMResponseCode.attributes.session(number) }
                guard input.nonceCaller.isEmpty else { throw TPMResponseCode.nonce.session(number) }
                continue
            }
            guard let session = self.sessions[input.handle.rawValue], !session.saved else { throw TPMResponseCode.referenceS(i) }
            guard (session.kind == .hmac) == (input.handle.kind == .hmacSession) else { throw TPMResponseCode.handle.session(number) }
            guard !sessions[..<i].contains(where: { $0.handle == input.handle }) else { throw TPMResponseCode.handle.session(number) }
            guard session.kind != .trial else { throw TPMResponseCode.attributes.session(number) }
            if input.attributes.contains(.decrypt) {
                guard spec.decryptsCommand, processing.decryptSession == nil else { throw TPMResponseCode.attributes.session(number) }
                guard session.symmetric.algorithm != .null else { throw TPMResponseCode.symmetric.session(number) }
                processing.decryptSession = i
            }
            if input.attributes.contains(.encrypt) {
                guard spec.encryptsResponse, processing.encryptSession == nil else { throw TPMResponseCode.attributes.session(number) }
                guard session.symmetric.algorithm != .null else { throw TPMResponseCode.symmetric.session(number) }
                processing.encryptSession = i
            }
            if processing.associated[i] == nil, input.attributes.isDisjoint(with: [.audit, .encrypt, .decrypt]) {
                throw TPMResponseCode.attributes.session(number)
            }
        }

        for (i, input) in sessions.enumerated() {
            let number = i + 1
            guard let handle = processing.associated[i] else {
                // Encrypt/decrypt/audit-only session: HMAC with the session key alone.
                try checkHMAC(input, index: i, processing: processing, authValue: nil, cpHash: cpHash)
                continue
            }
            guard let entity = entityAuth(handle) else { throw TPMResponseCode.handle.handle(i + 1) }
            let role = spec.authRoles[i]!
            do {
                processing.includeAuth[i] = try checkAuthorization(input, index: i, handle: handle, entity: entity, role: role, code: code, processing: processing, cpHash: cpHash)
            } catch {
                logger.debug("authorization refused", metadata: ["command": "\(code)", "session": "\(input.handle)", "entity": "\(handle)", "rc": "\(error)"])
                throw error.isFormatOne && error.rawValue & 0xF00 == 0 ? error.session(number) : error
            }
        }
        return processing
    }

    /// Checks one authorization; returns whether the authValue is included in the session's HMACs.
    private func checkAuthorization(
        _ input: SessionInput, index i: Int, handle: TPMHandle, entity: EntityAuth, role: AuthRole, code: TPMCommandCode,
        processing: SessionProcessing, cpHash: (TPMHashAlgorithm) -> [UInt8]
    ) throws(TPMResponseCode) -> Bool {
        let isPolicy = input.handle.kind == .policySession
        let object = (handle.kind == .transient || handle.kind == .persistent) ? try? object(handle) : nil
        // A public-only object has neither an authValue nor a usable policy (Part 1 §19.5).
        if let object, object.sensitive == nil { throw TPMResponseCode.authUnavailable }
        var includeAuth: Bool
        if isPolicy {
            let session = sessions[input.handle.rawValue]!
            includeAuth = session.isAuthValueNeeded || session.isPasswordNeeded
        } else if input.handle == .password {
            includeAuth = true
        } else {
            let session = sessions[input.handle.rawValue]!
            includeAuth = !isBound(session, to: handle, entity: entity)
        }
        if includeAuth, entity.daProtected { try checkLockout(entity.isLockout) }

        if !isPolicy {
            // A policy is required for DUP, for ADMIN on adminWithPolicy objects, and for
            // USER on objects without userWithAuth.
            if role == .dup { throw TPMResponseCode.authType }
            if let object {
                if role == .admin, object.attributes.contains(.adminWithPolicy) { throw TPMResponseCode.authType }
                if role == .user, !object.attributes.contains(.userWithAuth) { throw TPMResponseCode.authUnavailable }
            }
            if handle.kind == .nvIndex, let index = nv.nvIndices[handle.rawValue], index.nvPublic.attributes.indexType == .pinFail || index.nvPublic.attributes.indexType == .pinPass {
                throw TPMResponseCode.authUnavailable
            }
        } else {
            let session = sessions[input.handle.rawValue]!
            guard let policy = entity.policy, policy.hashAlg != TPMAlgorithmID.null.rawValue, !policy.digest.isEmpty else {
                throw TPMResponseCode.authUnavailable
            }
            guard policy.hashAlg == session.authHash.id.rawValue, constantTimeEqual(policy.digest, session.policyDigest) else {
                throw TPMResponseCode.policyFail
            }
            if let required = session.commandCode, required != code { throw TPMResponseCode.policyCC }
            if role == .admin || role == .dup, session.commandCode == nil { throw TPMResponseCode.policyCC }
            if let counter = session.pcrCounter, counter != pcrUpdateCounter { throw TPMResponseCode.pcrChanged }
            if let expected = session.cpHash, !constantTimeEqual(expected, cpHash(session.authHash)) { throw TPMResponseCode.policyFail }
        }

        let passwordCheck = input.handle == .password || (isPolicy && sessions[input.handle.rawValue]!.isPasswordNeeded)
        let ok: Bool
        if passwordCheck {
            ok = constantTimeEqual(Self.trimmed(input.hmac), Self.trimmed(entity.authValue))
        } else {
            ok = hmacMatches(input, index: i, processing: processing, authValue: includeAuth ? entity.authValue : nil, cpHash: cpHash)
        }
        if !ok {
            if includeAuth, entity.daProtected {
                registerAuthFailure(lockout: entity.isLockout)
                throw TPMResponseCode.authFail
            }
            throw TPMResponseCode.badAuth
        }
        return includeAuth
    }

    /// A session bound to the entity it authorizes does not add the authValue again
    /// (Part 1 §19.6.11).
    private func isBound(_ session: Session, to handle: TPMHandle, entity: EntityAuth) -> Bool {
        guard let bound = session.boundEntity, let name = try? name(of: handle, index: 0) else { return false }
        return bound == Self.boundEntityValue(name: name, authValue: entity.authValue)
    }

    static func boundEntityValue(name: [UInt8], authValue: [UInt8]) -> [UInt8] {
        TPMHashAlgorithm.sha256.hash(name, trimmed(authValue))
    }

    private func checkHMAC(_ input: SessionInput, index: Int, processing: SessionProcessing, authValue: [UInt8]?, cpHash: (TPMHashAlgorithm) -> [UInt8]) throws(TPMResponseCode) {
        guard hmacMatches(input, index: index, processing: processing, authValue: authValue, cpHash: cpHash) else {
            throw TPMResponseCode.badAuth.session(index + 1)
        }
    }

    /// The command HMAC (Part 1 §19.6.5): HMAC(sessionKey || authValue, cpHash || nonceCaller ||
    /// nonceTPM || nonceDecrypt || nonceEncrypt || sessionAttributes); the decrypt and encrypt
    /// nonces are added to the first session's HMAC when those are other sessions.
    private func hmacMatches(_ input: SessionInput, index: Int, processing: SessionProcessing, authValue: [UInt8]?, cpHash: (TPMHashAlgorithm) -> [UInt8]) -> Bool {
        guard let session = sessions[input.handle.rawValue] else { return false }
        let key = session.sessionKey + Self.trimmed(authValue ?? [])
        if key.isEmpty, input.hmac.isEmpty { return true }
        var extra: [UInt8] = []
        if index == 0 {
            for other in [processing.decryptSession, processing.encryptSession] {
                if let other, other != 0, let s = sessions[processing.sessions[other].handle.rawValue] { extra += s.nonceTPM }
            }
        }
        let expected = session.authHash.hmac(key: key, cpHash(session.authHash), input.nonceCaller, session.nonceTPM, extra, [input.attributes.rawValue])
        return constantTimeEqual(expected, input.hmac)
    }

    // MARK: - Dictionary attack protection (Part 1 §19.8)

    func checkLockout(_ isLockout: Bool) throws(TPMResponseCode) {
        if isLockout {
            if !nv.lockoutAuthEnabled, nv.lockoutRecovery != 0, UInt64(Date().timeIntervalSince1970) >= nv.lockoutAuthRecoverAt {
                nv.lockoutAuthEnabled = true
            }
            guard nv.lockoutAuthEnabled else { throw TPMResponseCode.lockout }
        } else {
            recoverFailedTries()
            guard nv.failedTries < nv.maxTries else { throw TPMResponseCode.lockout }
        }
    }

    /// failedTries decreases by one for every recoveryTime seconds that pass (Part 1 §19.8.3).
    func recoverFailedTries() {
        guard nv.recoveryTime > 0, nv.failedTries > 0 else { return }
        let now = UInt64(Date().timeIntervalSince1970)
        let stamp = lastFailureTime ?? now
        let recovered = (now - min(stamp, now)) / UInt64(nv.recoveryTime)
        if recovered > 0 {
            nv.failedTries -= UInt32(min(UInt64(nv.failedTries), recovered))
            lastFailureTime = now
        }
    }

    private func registerAuthFailure(lockout: Bool) {
        if lockout {
            nv.lockoutAuthEnabled = false
            nv.lockoutAuthRecoverAt = UInt64(Date().timeIntervalSince1970) + UInt64(nv.lockoutRecovery)
        } else {
            nv.failedTries += 1
            lastFailureTime = UInt64(Date().timeIntervalSince1970)
        }
        persistNV()
    }

    // MARK: - Parameter encryption (Part 1 §21)

    private func parameterKey(session index: Int, processing: SessionProcessing) -> [UInt8] {
        let session = sessions[processing.sessions[index].handle.rawValue]!
        var key = session.sessionKey
        if let handle = processing.associated[index], let entity = entityAuth(handle) { key += Self.trimmed(entity.authValue) }
        return key
    }

    /// Applies CFB or XOR to the data of the first TPM2B in `buffer`.
    private func transformFirstParameter(_ buffer: [UInt8], session: Session, key: [UInt8], nonceNewer: [UInt8], nonceOlder: [UInt8], encrypt: Bool) throws(TPMResponseCode) -> [UInt8] {
        guard buffer.count >= 2 else { throw TPMResponseCode.size }
        let size = Int(buffer[0]) << 8 | Int(buffer[1])
        guard size + 2 <= buffer.count else { throw TPMResponseCode.size }
        let data = Array(buffer[2..<2 + size])
        let transformed: [UInt8]
        if session.symmetric.algorithm == .xor {
            let mask = TPMKDF.kdfa(session.authHash, key: key, label: "XOR", contextU: nonceNewer, contextV: nonceOlder, bits: size * 8)
            transformed = zip(data, mask).map { $0 ^ $1 }
        } else {
            let keyBytes = Int(session.symmetric.keyBits) / 8
            let material = TPMKDF.kdfa(session.authHash, key: key, label: "CFB", contextU: nonceNewer, contextV: nonceOlder, bits: (keyBytes + 16) * 8)
            let symmetricKey = SymmetricKey(data: material.prefix(keyBytes))
            do {
                let iv = try AES._CFB.IV(ivBytes: material.suffix(16))
                transformed = encrypt ? Array(try AES._CFB.encrypt(data, using: symmetricKey, iv: iv)) : Array(try AES._CFB.decrypt(data, using: symmetricKey, iv: iv))
            } catch {
                throw TPMResponseCode.symmetric
            }
        }
        return Array(buffer[..<2]) + transformed + Array(buffer[(2 + size)...])
    }

    func decryptParameter(_ parameters: [UInt8], session index: Int, processing: SessionProcessing) throws(TPMResponseCode) -> [UInt8] {
        let input = processing.sessions[index]
        let session = sessions[input.handle.rawValue]!
        do {
            return try transformFirstParameter(parameters, session: session, key: parameterKey(session: index, processing: processing),
                                               nonceNewer: input.nonceCaller, nonceOlder: session.nonceTPM, encrypt: false)
        } catch {
            throw error.parameter(1)
        }
    }

    /// Rolls nonceTPM of every session, then encrypts the first response parameter with the
    /// new nonce (Part 1 §21.2: nonceNewer is the TPM's new nonce in a response).
    func encryptResponseParameter(_ parameters: [UInt8], session index: Int, processing: inout SessionProcessing) -> [UInt8] {
        rollNonces(processing)
        let input = processing.sessions[index]
        guard let session = sessions[input.handle.rawValue],
              let encrypted = try? transformFirstParameter(parameters, session: session, key: parameterKey(session: index, processing: processing),
                                                           nonceNewer: session.nonceTPM, nonceOlder: input.nonceCaller, encrypt: true) else { return parameters }
        noncesRolled = true
        return encrypted
    }

    private func rollNonces(_ processing: SessionProcessing) {
        guard !noncesRolled else { return }
        for input in processing.sessions where input.handle != .password {
            guard let size = sessions[input.handle.rawValue]?.nonceTPM.count else { continue }
            sessions[input.handle.rawValue]?.nonceTPM = SystemRandom.bytes(size)
        }
        noncesRolled = true
    }

    /// TPMS_AUTH_RESPONSE entries (Part 2 §10.13.4), with the response HMACs of Part 1 §19.6.6.
    func responseAuthorizations(processing: SessionProcessing, rpHashes: RPHashCache) -> [AuthResponse] {
        rollNonces(processing)
        defer { noncesRolled = false }
        var result: [AuthResponse] = []
        result.reserveCapacity(processing.sessions.count)
        for (i, input) in processing.sessions.enumerated() {
            if input.handle == .password {
                result.append(AuthResponse(nonce: [], attributes: input.attributes.intersection(.continueSession), hmac: []))
                continue
            }
            guard let session = sessions[input.handle.rawValue] else {
                result.append(AuthResponse(nonce: [], attributes: input.attributes, hmac: []))
                continue
            }
            var hmac: [UInt8] = []
            if !(session.kind == .policy && session.isPasswordNeeded) {
                var key = session.sessionKey
                if processing.includeAuth[i], let handle = processing.associated[i], let entity = entityAuth(handle) {
                    key += Self.trimmed(entity.authValue)
                }
                if !(key.isEmpty && input.hmac.isEmpty) {
                    hmac = session.authHash.hmac(key: key, rpHashes.rpHash(session.authHash), session.nonceTPM, input.nonceCaller, [input.attributes.rawValue])
                }
            }
            result.append(AuthResponse(nonce: session.nonceTPM, attributes: input.attributes, hmac: hmac))
            if !input.attributes.contains(.continueSession) {
                sessions[input.handle.rawValue] = nil
            } else if session.kind == .policy {
                sessions[input.handle.rawValue]?.resetPolicy()
            }
        }
        return result
    }
}
