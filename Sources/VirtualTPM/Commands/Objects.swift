import Crypto
import Foundation
import TPM2

/// Object commands (TPM 2.0 Part 3 §12, §24.1, §28): CreatePrimary, Create, Load,
/// LoadExternal, ReadPublic, ObjectChangeAuth, Unseal, EvictControl, FlushContext,
/// ContextSave and ContextLoad.
extension TPMEngine {
    private struct CreationInputs {
        var sensitive: TPMSSensitiveCreate
        var template: TPMTPublic
        var outsideInfo: [UInt8]
        var creationPCR: TPMLPCRSelection
    }

    private func readCreationInputs(_ ctx: inout CommandContext) throws(TPMResponseCode) -> CreationInputs {
        let sensitive = try ctx.read { r throws(TPMMarshalError) in
            try r.sizedStructure("TPM2B_SENSITIVE_CREATE") { r2 throws(TPMMarshalError) in try TPMSSensitiveCreate(from: &r2) }!
        }
        let template = try ctx.read(.type) { r throws(TPMMarshalError) in try TPMTPublic.sized(from: &r) }
        let outsideInfo = try ctx.sized("outsideInfo", maximum: TPMLimits.maxDigest)
        let creationPCR = try ctx.read(.hash) { r throws(TPMMarshalError) in try TPMLPCRSelection(from: &r) }
        try ctx.finishParameters()
        return CreationInputs(sensitive: sensitive, template: template, outsideInfo: outsideInfo, creationPCR: creationPCR)
    }

    /// Writes outPublic, creationData, creationHash and creationTicket (Part 3 §12.1.2).
    private func writeCreationOutputs(_ ctx: inout CommandContext, object: LoadedObject, inputs: CreationInputs, parentName: [UInt8], parentQN: [UInt8], parentNameAlg: TPMAlgorithmID) {
        let hash = TPMHashAlgorithm(object.publicArea.nameAlg)!
        let (selection, values) = readPCRs(inputs.creationPCR)
        let creationData = TPMSCreationData(pcrSelect: selection, pcrDigest: hash.hash(parts: values), locality: 1 << min(ctx.locality, 4),
                                            parentNameAlg: parentNameAlg, parentName: parentName, parentQualifiedName: parentQN,
                                            outsideInfo: inputs.outsideInfo)
        let creationHash = hash.hash(creationData.tpmBytes)
        let ticket = makeTicket(.creation, hierarchy: object.hierarchy, parts: [object.name, creationHash])
        object.publicArea.marshalSized(into: &ctx.out)
        ctx.out.sizedStructure { creationData.marshal(into: &$0) }
        ctx.out.sized(creationHash)
        ctx.out.write(ticket)
    }

    /// A ticket: HMAC(proof, tag || parts...) under the hierarchy's proof (Part 2 §10.7).
    /// Objects in the NULL hierarchy get tickets under the null proof, which a Reset invalidates.
    func makeTicket(_ tag: TPMStructureTag, hierarchy: TPMHandle, parts: [[UInt8]]) -> TPMTTicket {
        var mac = TPMHMAC(.sha256, key: proof(of: hierarchy))
        var tagBytes = TPMWriter()
        tagBytes.u16(tag.rawValue)
        mac.update(tagBytes.bytes)
        for part in parts { mac.update(part) }
        return TPMTTicket(tag: tag, hierarchy: hierarchy, digest: mac.finalize())
    }

    func checkTicket(_ ticket: TPMTTicket, expectedTag: TPMStructureTag, parts: [[UInt8]]) -> Bool {
        guard ticket.tag == expectedTag.rawValue, ticket.hierarchy != .null else { return false }
        return constantTimeEqual(makeTicket(expectedTag, hierarchy: ticket.hierarchy, parts: parts).digest, ticket.digest)
    }

    private func storeTransient(_ object: LoadedObject) throws(TPMResponseCode) -> TPMHandle {
        guard objects.keys.filter({ $0 >> 24 == 0x80 }).count < Self.maxObjects else { throw TPMResponseCode.objectMemory }
        var raw: UInt32 = 0x8000_0000
        while objects[raw] != nil { raw += 1 }
        objects[raw] = object
        return TPMHandle(raw)
    }

    /// A primary object: its key derives from the hierarchy's primary seed and the template,
    /// so the same template gives the same key until the seed changes (Part 1 §26.3).
    private func makePrimary(hierarchy: TPMHandle, template: TPMTPublic, sensitive: TPMSSensitiveCreate) throws(TPMResponseCode) -> LoadedObject {
        guard [.owner, .endorsement, .platform, .null].contains(hierarchy) else { throw TPMResponseCode.value.handle(1) }
        try checkTemplate(template, sensitiveData: sensitive.data, parent: nil)
        let nameHash = TPMHashAlgorithm(template.nameAlg)!
        let label = template.type.description.uppercased(), context = nameHash.hash(template.tpmBytes, sensitive.data)
        var random = SeededRandom(hash: nameHash, seed: seed(of: hierarchy), label: label, context: context)
        let cacheKey = TPMHashAlgorithm.sha256.hash(seed(of: hierarchy), Array(label.utf8), context)
        let (publicArea, sensitiveArea, rsa, ecc) = try generate(template, sensitiveCreate: sensitive, random: &random, rsaCacheKey: cacheKey)
        let name = publicArea.name!
        return LoadedObject(publicArea: publicArea, sensitive: sensitiveArea, name: name,
                            qualifiedName: Self.qualifiedName(parent: hierarchy.tpmBytes, child: name, nameAlg: publicArea.nameAlg),
                            hierarchy: hierarchy, rsa: rsa, ecc: ecc)
    }

    /// An ordinary object under a storage parent, with its wrapped private area.
    private func makeChild(parent: LoadedObject, template: TPMTPublic, sensitive: TPMSSensitiveCreate) throws(TPMResponseCode) -> (LoadedObject, [UInt8]) {
        guard parent.isStorageParent, parent.sensitive != nil else { throw TPMResponseCode.type.handle(1) }
        try checkTemplate(template, sensitiveData: sensitive.data, parent: parent)
        var random = SystemRandom()
        let (publicArea, sensitiveArea, rsa, ecc) = try generate(template, sensitiveCreate: sensitive, random: &random)
        let name = publicArea.name!
        let object = LoadedObject(publicArea: publicArea, sensitive: sensitiveArea, name: name,
                                  qualifiedName: Self.qualifiedName(parent: parent.qualifiedName, child: name, nameAlg: publicArea.nameAlg),
                                  hierarchy: parent.hierarchy, rsa: rsa, ecc: ecc)
        return (object, try wrap(sensitiveArea, name: name, parent: parent))
    }

    /// TPM2_CreatePrimary (Part 3 §24.1).
    func createPrimary(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let hierarchy = ctx.handles[0]
        let inputs = try readCreationInputs(&ctx)
        let object = try makePrimary(hierarchy: hierarchy, template: inputs.template, sensitive: inputs.sensitive)
        ctx.responseHandle = try storeTransient(object)
        writeCreationOutputs(&ctx, object: object, inputs: inputs, parentName: hierarchy.tpmBytes, parentQN: hierarchy.tpmBytes, parentNameAlg: .null)
        ctx.out.sized(object.name)
    }

    /// TPM2_Create (Part 3 §12.1).
    func create(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let parent = try object(ctx.handles[0], index: 0)
        let inputs = try readCreationInputs(&ctx)
        let (object, privateBlob) = try makeChild(parent: parent, template: inputs.template, sensitive: inputs.sensitive)
        ctx.out.sized(privateBlob)
        writeCreationOutputs(&ctx, object: object, inputs: inputs, parentName: parent.name, parentQN: parent.qualifiedName, parentNameAlg: parent.publicArea.nameAlg)
    }

    /// TPM2_CreateLoaded (Part 3 §12.9): Create and Load in one, or a primary when the parent
    /// is a hierarchy (then the private area is empty).
    func createLoaded(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let sensitive = try ctx.read { r throws(TPMMarshalError) in
            try r.sizedStructure("TPM2B_SENSITIVE_CREATE") { r2 throws(TPMMarshalError) in try TPMSSensitiveCreate(from: &r2) }!
        }
        let template = try ctx.read(.type) { r throws(TPMMarshalError) in try TPMTPublic.sized(from: &r) }
        try ctx.finishParameters()
        let parentHandle = ctx.handles[0]
        let object: LoadedObject
        var privateBlob: [UInt8] = []
        if parentHandle.kind == .permanent {
            object = try makePrimary(hierarchy: parentHandle, template: template, sensitive: sensitive)
        } else {
            (object, privateBlob) = try makeChild(parent: try self.object(parentHandle, index: 0), template: template, sensitive: sensitive)
        }
        ctx.responseHandle = try storeTransient(object)
        ctx.out.sized(privateBlob)
        object.publicArea.marshalSized(into: &ctx.out)
        ctx.out.sized(object.name)
    }

    /// TPM2_Load (Part 3 §12.2).
    func load(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let parent = try object(ctx.handles[0], index: 0)
        guard parent.isStorageParent else { throw TPMResponseCode.type.handle(1) }
        let privateBlob = try ctx.sized("inPrivate", maximum: TPMLimits.maxPrivate)
        let publicArea = try ctx.read(.type) { r throws(TPMMarshalError) in try TPMTPublic.sized(from: &r) }
        try ctx.finishParameters()
        guard let name = publicArea.name else { throw TPMResponseCode.hash.parameter(2) }
        if publicArea.objectAttributes.contains(.fixedTPM), !parent.attributes.contains(.fixedTPM) { throw TPMResponseCode.attributes.parameter(2) }
        let sensitive = try unwrap(privateBlob, name: name, parent: parent)
        let object = try makeLoaded(public: publicArea, sensitive: sensitive, hierarchy: parent.hierarchy,
                                    qualifiedName: Self.qualifiedName(parent: parent.qualifiedName, child: name, nameAlg: publicArea.nameAlg))
        ctx.responseHandle = try storeTransient(object)
        ctx.out.sized(name)
    }

    /// TPM2_LoadExternal (Part 3 §12.3): a public key, or a key pair outside any hierarchy.
    func loadExternal(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let sensitive = try ctx.read(.type) { r throws(TPMMarshalError) in
            try r.sizedStructure("TPM2B_SENSITIVE", allowEmpty: true) { r2 throws(TPMMarshalError) in try TPMTSensitive(from: &r2) }
        }
        let publicArea = try ctx.read(.type) { r throws(TPMMarshalError) in try TPMTPublic.sized(from: &r) }
        let hierarchy = try ctx.read { r throws(TPMMarshalError) in try TPMHandle(from: &r) }
        try ctx.finishParameters()
        guard [.owner, .endorsement, .platform, .null].contains(hierarchy) else { throw TPMResponseCode.value.parameter(3) }
        if sensitive != nil {
            guard hierarchy == .null else { throw TPMResponseCode.hierarchy.parameter(3) }
            guard !publicArea.objectAttributes.contains(.fixedTPM), !publicArea.objectAttributes.contains(.fixedParent) else { throw TPMResponseCode.attributes.parameter(2) }
        }
        let object = try makeLoaded(public: publicArea, sensitive: sensitive, hierarchy: hierarchy,
                                    qualifiedName: Self.qualifiedName(parent: hierarchy.tpmBytes, child: publicArea.name ?? [], nameAlg: publicArea.nameAlg))
        ctx.responseHandle = try storeTransient(object)
        ctx.out.sized(object.name)
    }

    /// TPM2_ReadPublic (Part 3 §12.4).
    func readPublic(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        try ctx.finishParameters()
        let object = try object(ctx.handles[0], index: 0)
        guard object.sequence == nil else { throw TPMResponseCode.sequence.handle(1) }
        object.publicArea.marshalSized(into: &ctx.out)
        ctx.out.sized(object.name)
        ctx.out.sized(object.qualifiedName)
    }

    /// TPM2_ObjectChangeAuth (Part 3 §12.8): returns the sensitive area wrapped again with the
    /// new auth value; the loaded object keeps the old one.
    func objectChangeAuth(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let newAuth = try ctx.sized("newAuth", maximum: TPMLimits.maxDigest)
        try ctx.finishParameters()
        let object = try object(ctx.handles[0], index: 0)
        let parent = try self.object(ctx.handles[1], index: 1)
        guard var sensitive = object.sensitive, object.persistentHandle == nil else { throw TPMResponseCode.type.handle(1) }
        guard Self.qualifiedName(parent: parent.qualifiedName, child: object.name, nameAlg: object.publicArea.nameAlg) == object.qualifiedName else {
            throw TPMResponseCode.type.handle(2)
        }
        guard newAuth.count <= TPMHashAlgorithm(object.publicArea.nameAlg)!.digestSize else { throw TPMResponseCode.size.parameter(1) }
        sensitive.authValue = Self.trimmed(newAuth)
        ctx.out.sized(try wrap(sensitive, name: object.name, parent: parent))
    }

    /// TPM2_Unseal (Part 3 §12.7): the data of a keyed-hash object that is neither a signing
    /// nor a decryption key.
    func unseal(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        try ctx.finishParameters()
        let object = try object(ctx.handles[0], index: 0)
        guard object.publicArea.type == .keyedHash, let sensitive = object.sensitive else { throw TPMResponseCode.type.handle(1) }
        guard !object.attributes.contains(.decrypt), !object.attributes.contains(.signEncrypt), !object.attributes.contains(.restricted) else {
            throw TPMResponseCode.attributes.handle(1)
        }
        ctx.out.sized(sensitive.sensitive)
    }

    /// TPM2_EvictControl (Part 3 §28.5): makes a transient object persistent, or removes a
    /// persistent one.
    func evictControl(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let persistent = try ctx.read { r throws(TPMMarshalError) in try TPMHandle(from: &r) }
        try ctx.finishParameters()
        let auth = ctx.handles[0]
        guard auth == .owner || auth == .platform else { throw TPMResponseCode.hierarchy.handle(1) }
        let handle = ctx.handles[1]
        let object = try object(handle, index: 1)
        if handle.kind == .persistent {
            guard persistent == handle else { throw TPMResponseCode.handle.parameter(1) }
            guard auth == .platform || object.hierarchy != .platform else { throw TPMResponseCode.hierarchy.handle(2) }
            nv.persistentObjects[handle.rawValue] = nil
            objects[handle.rawValue] = nil
            try commitNV()
            return
        }
        guard persistent.kind == .persistent else { throw TPMResponseCode.range.parameter(1) }
        let platformRange = persistent.rawValue >= 0x8180_0000
        guard platformRange == (auth == .platform) else { throw TPMResponseCode.range.parameter(1) }
        guard object.sequence == nil, object.hierarchy != .null, !object.attributes.contains(.stClear),
              let sensitive = object.sensitive else { throw TPMResponseCode.attributes.handle(2) }
        guard auth == .platform || object.hierarchy != .platform else { throw TPMResponseCode.hierarchy.handle(2) }
        guard nv.persistentObjects[persistent.rawValue] == nil else { throw TPMResponseCode.nvDefined }
        nv.persistentObjects[persistent.rawValue] = StoredObject(publicArea: object.publicArea.tpmBytes, sensitive: sensitive.tpmBytes,
                                                                 hierarchy: object.hierarchy.rawValue, qualifiedName: object.qualifiedName)
        try commitNV()
    }

    /// TPM2_FlushContext (Part 3 §28.4); the handle is a parameter, not in the handle area.
    func flushContext(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let handle = try ctx.read { r throws(TPMMarshalError) in try TPMHandle(from: &r) }
        try ctx.finishParameters()
        switch handle.kind {
        case .transient:
            guard objects.removeValue(forKey: handle.rawValue) != nil else { throw TPMResponseCode.handle.parameter(1) }
        case .hmacSession, .policySession:
            guard sessions.removeValue(forKey: handle.rawValue) != nil else { throw TPMResponseCode.handle.parameter(1) }
        default:
            // TPMI_DH_CONTEXT (Part 2 §9.11) admits only transient objects and sessions.
            throw TPMResponseCode.value.parameter(1)
        }
    }

    // MARK: - Contexts (Part 3 §28.2-28.3)

    /// A saved object context: the object's areas sealed with AES-GCM under a key that a TPM
    /// Reset replaces, so contexts do not outlive the reset (Part 1 §30.2).
    func contextSave(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        try ctx.finishParameters()
        let handle = ctx.handles[0]
        contextSequence += 1
        var plain = TPMWriter()
        plain.write(handle)
        plain.u64(contextSequence)
        let hierarchy: TPMHandle
        switch handle.kind {
        case .transient:
            guard let object = objects[handle.rawValue] else { throw TPMResponseCode.handle.handle(1) }
            guard object.sequence == nil else { throw TPMResponseCode.type.handle(1) }
            object.publicArea.marshalSized(into: &plain)
            plain.sizedStructure { w in if let s = object.sensitive { s.marshal(into: &w) } }
            plain.write(object.hierarchy)
            plain.sized(object.qualifiedName)
            hierarchy = object.hierarchy
        case .hmacSession, .policySession:
            guard var session = sessions[handle.rawValue], !session.saved else { throw TPMResponseCode.handle.handle(1) }
            session.saved = true
            sessions[handle.rawValue] = session
            hierarchy = .null
        default:
            throw TPMResponseCode.handle.handle(1)
        }
        guard let sealed = try? AES.GCM.seal(plain.bytes, using: SymmetricKey(data: contextKey)).combined else { throw TPMResponseCode.failure }
        let context = TPMSContext(sequence: contextSequence, savedHandle: handle.kind == .transient ? TPMHandle(0x8000_0000) : handle,
                                  hierarchy: hierarchy, blob: Array(sealed))
        ctx.out.write(context)
    }

    func contextLoad(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let context = try ctx.read { r throws(TPMMarshalError) in try TPMSContext(from: &r) }
        try ctx.finishParameters()
        guard let box = try? AES.GCM.SealedBox(combined: context.blob),
              let plain = try? AES.GCM.open(box, using: SymmetricKey(data: contextKey)) else { throw TPMResponseCode.integrity.parameter(1) }
        var reader = TPMReader(Array(plain))
        guard let handle = try? TPMHandle(from: &reader), let sequence = try? reader.u64("sequence"), sequence == context.sequence else {
            throw TPMResponseCode.integrity.parameter(1)
        }
        switch handle.kind {
        case .transient:
            let publicArea: TPMTPublic, sensitive: TPMTSensitive?, hierarchy: TPMHandle, qualifiedName: [UInt8]
            do {
                publicArea = try TPMTPublic.sized(from: &reader)
                sensitive = try reader.sizedStructure("sensitive", allowEmpty: true) { r throws(TPMMarshalError) in try TPMTSensitive(from: &r) }
                hierarchy = try TPMHandle(from: &reader)
                qualifiedName = try reader.sized("qualifiedName", maximum: TPMLimits.maxName)
            } catch {
                throw TPMResponseCode.integrity.parameter(1)
            }
            let object = try makeLoaded(public: publicArea, sensitive: sensitive, hierarchy: hierarchy, qualifiedName: qualifiedName)
            ctx.responseHandle = try storeTransient(object)
        case .hmacSession, .policySession:
            guard var session = sessions[handle.rawValue], session.saved else { throw TPMResponseCode.handle.parameter(1) }
            session.saved = false
            sessions[handle.rawValue] = session
            ctx.responseHandle = handle
        default:
            throw TPMResponseCode.handle.parameter(1)
        }
    }
}
