import _CryptoExtras
import Crypto
import TPM2

/// Object creation and protection (TPM 2.0 Part 1 §22-§27): template checks, key generation
/// (seeded for primaries), the unique field, and the wrapping of a child's sensitive area
/// under its storage parent (§22.4 symmetric protection with KDFa("STORAGE") and the outer
/// integrity HMAC with KDFa("INTEGRITY")).
extension TPMEngine {
    /// The primary seed of a hierarchy (Part 1 §14.3).
    func seed(of hierarchy: TPMHandle) -> [UInt8] {
        switch hierarchy {
        case .owner: nv.storageSeed
        case .endorsement: nv.endorsementSeed
        case .platform: nv.platformSeed
        default: nullSeed
        }
    }

    /// The hierarchy proof value used to sign tickets (Part 1 §14.4), derived from its seed.
    func proof(of hierarchy: TPMHandle) -> [UInt8] {
        TPMKDF.kdfa(.sha256, key: seed(of: hierarchy), label: "PROOF", contextU: [], contextV: [], bits: 256)
    }

    /// Checks a creation template against the rules of Part 1 §27.2 and Part 3 §12.1.
    func checkTemplate(_ template: TPMTPublic, sensitiveData: [UInt8], parent: LoadedObject?) throws(TPMResponseCode) {
        let a = template.objectAttributes
        guard a.intersection(.reserved).isEmpty else { throw TPMResponseCode.reservedBits.parameter(2) }
        guard TPMHashAlgorithm(template.nameAlg) != nil else { throw TPMResponseCode.hash.parameter(2) }
        let digestSize = TPMHashAlgorithm(template.nameAlg)!.digestSize
        guard template.authPolicy.isEmpty || template.authPolicy.count == digestSize else { throw TPMResponseCode.size.parameter(2) }
        guard a.contains(.fixedTPM) == a.contains(.fixedParent) || (parent != nil && !a.contains(.fixedTPM)) else {
            throw TPMResponseCode.attributes.parameter(2)
        }
        if let parent, a.contains(.fixedTPM), !parent.attributes.contains(.fixedTPM) { throw TPMResponseCode.attributes.parameter(2) }
        do { try checkSupported(template.parameters) } catch { throw error.parameter(2) }
        switch template.parameters {
        case let .keyedHash(scheme):
            if !sensitiveData.isEmpty, a.contains(.sensitiveDataOrigin) { throw TPMResponseCode.attributes.parameter(2) }
            if a.contains(.restricted), a.contains(.decrypt) { throw TPMResponseCode.attributes.parameter(2) }
            if a.contains(.signEncrypt) || a.contains(.decrypt) {
                if sensitiveData.isEmpty, !a.contains(.sensitiveDataOrigin) { throw TPMResponseCode.attributes.parameter(2) }
                if a.contains(.signEncrypt), a.contains(.decrypt), scheme.scheme != .null { throw TPMResponseCode.scheme.parameter(2) }
            } else if sensitiveData.isEmpty == false, a.contains(.restricted) {
                throw TPMResponseCode.attributes.parameter(2)
            }
        case .rsa, .ecc:
            guard sensitiveData.isEmpty else { throw TPMResponseCode.value.parameter(1) }
            guard a.contains(.signEncrypt) || a.contains(.decrypt) else { throw TPMResponseCode.attributes.parameter(2) }
            if a.contains(.restricted) {
                guard a.contains(.signEncrypt) != a.contains(.decrypt) else { throw TPMResponseCode.attributes.parameter(2) }
                let sym = template.parameters.symmetric ?? .null
                if a.contains(.decrypt), sym.algorithm == .null { throw TPMResponseCode.symmetric.parameter(2) }
                if a.contains(.signEncrypt), sym.algorithm != .null { throw TPMResponseCode.symmetric.parameter(2) }
            } else if let sym = template.parameters.symmetric, sym.algorithm != .null {
                throw TPMResponseCode.symmetric.parameter(2)
            }
        case let .symCipher(sym):
            guard sym.algorithm != .null else { throw TPMResponseCode.symmetric.parameter(2) }
        }
    }

    /// Generates a new object from its template: the key (or sealed data), the seed value and
    /// the unique field. `random` is the system RNG for ordinary objects and a seeded stream
    /// for primaries.
    /// `rsaCacheKey`, given for primaries, names the seeded derivation so that an RSA key
    /// already derived from the same seed and template is reused instead of searched again.
    func generate(_ template: TPMTPublic, sensitiveCreate: TPMSSensitiveCreate, random: inout some RandomBytes, rsaCacheKey: [UInt8]? = nil) throws(TPMResponseCode) -> (TPMTPublic, TPMTSensitive, RSAKey?, ECCKey?) {
        var publicArea = template
        let nameHash = TPMHashAlgorithm(template.nameAlg)!
        let isStorage = template.objectAttributes.contains([.restricted, .decrypt])
        var seedValue: [UInt8] = isStorage ? random.next(nameHash.digestSize) : []
        var sensitive: [UInt8]
        var rsa: RSAKey?, ecc: ECCKey?
        switch template.parameters {
        case let .rsa(parms):
            let generated: (key: RSAKey, prime: [UInt8])
            if let rsaCacheKey, let cached = primaryRSACache.value(for: rsaCacheKey) {
                generated = cached
            } else {
                generated = try RSAKey.generate(bits: Int(parms.keyBits), exponent: parms.exponent, random: &random)
                if let rsaCacheKey { primaryRSACache.insert(generated, for: rsaCacheKey) }
            }
            rsa = generated.key
            sensitive = generated.prime
            publicArea.unique = .rsa(generated.key.modulus)
        case let .ecc(parms):
            let key = try ECCKey.generate(curve: parms.curve, random: &random)
            ecc = key
            sensitive = key.privateScalar
            publicArea.unique = .ecc(TPMSECCPoint(x: key.x, y: key.y))
        case .keyedHash:
            sensitive = sensitiveCreate.data.isEmpty ? random.next(nameHash.digestSize) : sensitiveCreate.data
            seedValue = random.next(nameHash.digestSize)
            publicArea.unique = .digest(nameHash.hash(seedValue, sensitive))
        case let .symCipher(sym):
            sensitive = sensitiveCreate.data.isEmpty ? random.next(Int(sym.keyBits) / 8) : sensitiveCreate.data
            guard sensitive.count == Int(sym.keyBits) / 8 else { throw TPMResponseCode.keySize.parameter(1) }
            seedValue = random.next(nameHash.digestSize)
            publicArea.unique = .digest(nameHash.hash(seedValue, sensitive))
        }
        let sensitiveArea = TPMTSensitive(type: template.type, authValue: Self.trimmed(sensitiveCreate.userAuth), seedValue: seedValue, sensitive: sensitive)
        return (publicArea, sensitiveArea, rsa, ecc)
    }

    /// Rebuilds a loaded object from its public and sensitive areas, checking that they
    /// belong together (Part 3 §12.2.1: TPM_RC_BINDING).
    func makeLoaded(public publicArea: TPMTPublic, sensitive: TPMTSensitive?, hierarchy: TPMHandle, qualifiedName: [UInt8]) throws(TPMResponseCode) -> LoadedObject {
        guard let name = publicArea.name else { throw TPMResponseCode.hash }
        let object = LoadedObject(publicArea: publicArea, sensitive: sensitive, name: name, qualifiedName: qualifiedName, hierarchy: hierarchy)
        switch (publicArea.parameters, publicArea.unique) {
        case let (.rsa(parms), .rsa(modulus)):
            guard modulus.count * 8 == Int(parms.keyBits) else { throw TPMResponseCode.key }
            if let sensitive {
                guard sensitive.type == .rsa else { throw TPMResponseCode.type }
                object.rsa = try RSAKey(modulus: modulus, exponent: parms.exponent, prime: sensitive.sensitive)
            } else {
                object.rsa = try RSAKey(modulus: modulus, exponent: parms.exponent)
            }
        case let (.ecc(parms), .ecc(point)):
            if let sensitive {
                guard sensitive.type == .ecc else { throw TPMResponseCode.type }
                let key = try ECCKey(curve: parms.curve, privateScalar: sensitive.sensitive)
                guard key.x == Self.padded(point.x, key.coordinateSize), key.y == Self.padded(point.y, key.coordinateSize) else { throw TPMResponseCode.binding }
                object.ecc = key
            } else {
                object.ecc = try ECCKey(curve: parms.curve, x: point.x, y: point.y)
            }
        case (.keyedHash, .digest(let unique)), (.symCipher, .digest(let unique)):
            if let sensitive {
                guard sensitive.type == publicArea.type else { throw TPMResponseCode.type }
                let hash = TPMHashAlgorithm(publicArea.nameAlg)!
                guard constantTimeEqual(unique, hash.hash(sensitive.seedValue, sensitive.sensitive)) else { throw TPMResponseCode.binding }
            }
        default:
            throw TPMResponseCode.type
        }
        return object
    }

    static func padded(_ bytes: [UInt8], _ size: Int) -> [UInt8] {
        bytes.count >= size ? Array(bytes.suffix(size)) : [UInt8](repeating: 0, count: size - bytes.count) + bytes
    }

    /// QN(child) = nameAlg || H_nameAlg(QN(parent) || Name(child)) (Part 1 §16.6).
    static func qualifiedName(parent: [UInt8], child name: [UInt8], nameAlg: TPMAlgorithmID) -> [UInt8] {
        guard let hash = TPMHashAlgorithm(nameAlg) else { return name }
        return nameAlg.tpmBytes + hash.hash(parent, name)
    }

    // MARK: - Protection of a child's sensitive area (Part 1 §22.4, §23)

    /// Storage and credential protection use CFB with an all-zero IV, since every key is used
    /// once (Part 1 §22.4.3, §24.4).
    static let zeroIV = try! AES._CFB.IV(ivBytes: [UInt8](repeating: 0, count: 16))

    private func protectionKeys(parent: LoadedObject, name: [UInt8]) throws(TPMResponseCode) -> (SymmetricKey, [UInt8], TPMHashAlgorithm) {
        guard parent.isStorageParent, let sensitive = parent.sensitive, let sym = parent.publicArea.parameters.symmetric,
              let hash = TPMHashAlgorithm(parent.publicArea.nameAlg) else { throw TPMResponseCode.type.handle(1) }
        let key = TPMKDF.kdfa(hash, key: sensitive.seedValue, label: "STORAGE", contextU: name, contextV: [], bits: Int(sym.keyBits))
        let hmacKey = TPMKDF.kdfa(hash, key: sensitive.seedValue, label: "INTEGRITY", contextU: [], contextV: [], bits: hash.digestSize * 8)
        return (SymmetricKey(data: key), hmacKey, hash)
    }

    /// TPM2B_PRIVATE for a child: integrityHMAC || CFB(TPM2B_SENSITIVE).
    func wrap(_ sensitive: TPMTSensitive, name: [UInt8], parent: LoadedObject) throws(TPMResponseCode) -> [UInt8] {
        let (key, hmacKey, hash) = try protectionKeys(parent: parent, name: name)
        var plain = TPMWriter()
        plain.sizedStructure { sensitive.marshal(into: &$0) }
        let encrypted: [UInt8]
        do { encrypted = Array(try AES._CFB.encrypt(plain.bytes, using: key, iv: Self.zeroIV)) } catch {
            throw TPMResponseCode.failure
        }
        var out = TPMWriter()
        out.sized(hash.hmac(key: hmacKey, encrypted, name))
        out.bytes(encrypted)
        return out.bytes
    }

    /// Checks the integrity of a TPM2B_PRIVATE and decrypts its sensitive area.
    func unwrap(_ privateBlob: [UInt8], name: [UInt8], parent: LoadedObject) throws(TPMResponseCode) -> TPMTSensitive {
        let (key, hmacKey, hash) = try protectionKeys(parent: parent, name: name)
        var reader = TPMReader(privateBlob)
        guard let integrity = try? reader.sized("integrityOuter", maximum: TPMLimits.maxDigest) else { throw TPMResponseCode.insufficient.parameter(1) }
        let encrypted = Array(privateBlob[reader.offset...])
        guard constantTimeEqual(integrity, hash.hmac(key: hmacKey, encrypted, name)) else { throw TPMResponseCode.integrity.parameter(1) }
        guard let plain = try? AES._CFB.decrypt(encrypted, using: key, iv: Self.zeroIV),
              let sensitive = try? TPMReader.sizedValue(Array(plain), TPMTSensitive.init(from:)) else {
            throw TPMResponseCode.sensitive
        }
        return sensitive
    }

    /// Builds a loaded object from its stored (persistent) form.
    func materialize(_ stored: StoredObject) throws(TPMResponseCode) -> LoadedObject {
        guard let publicArea = try? TPMTPublic(tpmBytes: stored.publicArea),
              let sensitive = try? TPMTSensitive(tpmBytes: stored.sensitive) else { throw TPMResponseCode.failure }
        return try makeLoaded(public: publicArea, sensitive: sensitive, hierarchy: TPMHandle(stored.hierarchy), qualifiedName: stored.qualifiedName)
    }
}

/// Recently derived primary RSA keys. Deriving a primary RSA key means a prime search that is
/// the same every time for the same seed and template (an EK or SRK is re-created at every
/// boot and by every tool that needs it), so the result is kept in memory: a few entries,
/// least recently used evicted. The key includes the seed, so a new seed never hits.
struct PrimaryKeyCache {
    private var entries: [(key: [UInt8], value: (key: RSAKey, prime: [UInt8]))] = []
    static let capacity = 8

    mutating func value(for key: [UInt8]) -> (key: RSAKey, prime: [UInt8])? {
        guard let index = entries.firstIndex(where: { $0.key == key }) else { return nil }
        let entry = entries.remove(at: index)
        entries.append(entry)
        return entry.value
    }

    mutating func insert(_ value: (key: RSAKey, prime: [UInt8]), for key: [UInt8]) {
        if entries.count == Self.capacity { entries.removeFirst() }
        entries.append((key, value))
    }
}
