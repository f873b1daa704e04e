import TPM2

/// A loaded object (TPM 2.0 Part 1 §26-27): its public area and, when the TPM holds it, its
/// sensitive area, with the key material prepared for use. Sequence objects (hash, HMAC and
/// event sequences, Part 3 §17) are objects too. A class, so that the several lookups one
/// command makes share it instead of copying its fields.
final class LoadedObject {
    let publicArea: TPMTPublic
    let sensitive: TPMTSensitive?
    let name: [UInt8]
    let qualifiedName: [UInt8]
    let hierarchy: TPMHandle
    var rsa: RSAKey?
    var ecc: ECCKey?
    var sequence: SequenceState?
    /// The persistent handle this object was evicted to, for loaded persistent objects.
    var persistentHandle: TPMHandle?

    init(publicArea: TPMTPublic, sensitive: TPMTSensitive?, name: [UInt8], qualifiedName: [UInt8], hierarchy: TPMHandle,
         rsa: RSAKey? = nil, ecc: ECCKey? = nil, sequence: SequenceState? = nil) {
        self.publicArea = publicArea
        self.sensitive = sensitive
        self.name = name
        self.qualifiedName = qualifiedName
        self.hierarchy = hierarchy
        self.rsa = rsa
        self.ecc = ecc
        self.sequence = sequence
    }

    var authValue: [UInt8] { sensitive?.authValue ?? [] }
    var attributes: TPMAObject { publicArea.objectAttributes }

    /// A storage parent: restricted decryption key with a symmetric algorithm (Part 1 §25.1).
    var isStorageParent: Bool {
        attributes.contains([.restricted, .decrypt]) && !attributes.contains(.signEncrypt)
            && (publicArea.type == .rsa || publicArea.type == .ecc || publicArea.type == .symCipher)
    }
}

/// The running state of a hash or event sequence (Part 3 §17).
enum SequenceState {
    /// A hash sequence; it keeps the first four bytes it hashed, because no hash-check ticket
    /// is issued for data that begins with TPM_GENERATED_VALUE (Part 3 §17.5).
    case hash(TPMHasher, firstBlock: [UInt8])
    /// An event sequence hashes with every active bank (Part 3 §17.6).
    case event([TPMHasher])
}

/// A loaded authorization session (Part 1 §19).
struct Session {
    enum Kind { case hmac, policy, trial }

    var kind: Kind
    var authHash: TPMHashAlgorithm
    var nonceTPM: [UInt8]
    var sessionKey: [UInt8]
    var symmetric: TPMTSymDef
    /// Name of the entity the session is bound to, with its auth value folded in, or nil.
    var boundEntity: [UInt8]?
    var policyDigest: [UInt8]
    var commandCode: TPMCommandCode?
    var isAuthValueNeeded = false
    var isPasswordNeeded = false
    /// pcrUpdateCounter when PolicyPCR ran; a later PCR change makes the policy fail.
    var pcrCounter: UInt32?
    var cpHash: [UInt8]?
    var nameHash: [UInt8]?
    var saved = false

    init(kind: Kind, authHash: TPMHashAlgorithm, nonceTPM: [UInt8], sessionKey: [UInt8], symmetric: TPMTSymDef, boundEntity: [UInt8]?) {
        self.kind = kind
        self.authHash = authHash
        self.nonceTPM = nonceTPM
        self.sessionKey = sessionKey
        self.symmetric = symmetric
        self.boundEntity = boundEntity
        self.policyDigest = authHash.zeroDigest
    }

    /// Resets the policy state (Part 3 §23.19 PolicyRestart, and after each use).
    mutating func resetPolicy() {
        policyDigest = authHash.zeroDigest
        commandCode = nil
        isAuthValueNeeded = false
        isPasswordNeeded = false
        pcrCounter = nil
        cpHash = nil
        nameHash = nil
    }
}
