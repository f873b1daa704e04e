import TPM2

/// TPM_SU: the startup type of TPM2_Startup and TPM2_Shutdown (TPM 2.0 Part 2 §6.8; Part 3
/// §9.3, §9.4).
public enum TPMStartupType: UInt16, Sendable {
    case clear = 0
    case state = 1
}

/// TPM_SE: the kind of session TPM2_StartAuthSession starts (Part 2 §6.11; Part 3 §11.1).
public enum TPMSessionType: UInt8, Sendable {
    case hmac = 0
    case policy = 1
    case trial = 3
}

/// A loaded object as TPM2_CreatePrimary, TPM2_Load and TPM2_ReadPublic describe it (Part 3
/// §24.1, §12.2, §12.4): its handle, public area and Name.
public struct TPMLoadedObject: Sendable, Hashable {
    public var handle: TPMHandle
    public var publicArea: TPMTPublic
    public var name: [UInt8]
}

/// The outPrivate and outPublic of TPM2_Create (Part 3 §12.1): the object's wrapped sensitive
/// area (a TPM2B_PRIVATE, only loadable under the same parent) and its public area.
public struct TPMCreatedObject: Sendable, Hashable {
    public var privateBlob: [UInt8]
    public var publicArea: TPMTPublic

    public init(privateBlob: [UInt8], publicArea: TPMTPublic) {
        self.privateBlob = privateBlob
        self.publicArea = publicArea
    }
}

/// The PCR values TPM2_PCR_Read returns (Part 3 §22.4): the update counter, the selection
/// actually read, and one digest per selected PCR in selection order.
public struct TPMPCRReadResult: Sendable, Hashable {
    public var updateCounter: UInt32
    public var selection: TPMLPCRSelection
    public var digests: [[UInt8]]
}

/// A started session (Part 3 §11.1): its handle and the TPM's first nonce.
public struct TPMStartedSession: Sendable, Hashable {
    public var handle: TPMHandle
    public var nonceTPM: [UInt8]
}

/// A TPM2_Quote result (Part 3 §18.4): the marshaled TPMS_ATTEST that was signed, and the
/// signature over it.
public struct TPMQuoteResult: Sendable, Hashable {
    public var attest: [UInt8]
    public var signature: TPMTSignature
}

extension TPM2Client {
    /// TPM2_Startup (Part 3 §9.3).
    public func startup(_ type: TPMStartupType = .clear) throws(TPMClientError) {
        _ = try run(.startup, "TPM2_Startup") { $0.u16(type.rawValue) }
    }

    /// TPM2_Shutdown (Part 3 §9.4).
    public func shutdown(_ type: TPMStartupType = .clear) throws(TPMClientError) {
        _ = try run(.shutdown, "TPM2_Shutdown") { $0.u16(type.rawValue) }
    }

    /// TPM2_GetRandom (Part 3 §16.1): up to `count` random bytes (the TPM may return fewer).
    public func getRandom(_ count: UInt16) throws(TPMClientError) -> [UInt8] {
        let name = "TPM2_GetRandom"
        let response = try run(.getRandom, name) { $0.u16(count) }
        return try decode(response, name) { r throws(TPMMarshalError) in try r.sized("randomBytes", maximum: TPMLimits.maxDigest) }
    }

    /// TPM2_PCR_Extend (Part 3 §22.2) of `pcr` with one digest per bank, authorized by the
    /// PCR's authValue (empty by default).
    public func pcrExtend(pcr: Int, digests: TPMLDigestValues, auth: TPMSessionAuth = .password()) throws(TPMClientError) {
        _ = try run(.pcrExtend, "TPM2_PCR_Extend", handles: [.pcr(pcr)], auths: [auth]) { $0.write(digests) }
    }

    /// TPM2_PCR_Read (Part 3 §22.4).
    public func pcrRead(_ selection: TPMLPCRSelection) throws(TPMClientError) -> TPMPCRReadResult {
        let name = "TPM2_PCR_Read"
        let response = try run(.pcrRead, name) { $0.write(selection) }
        return try decode(response, name) { r throws(TPMMarshalError) in
            TPMPCRReadResult(updateCounter: try r.u32("pcrUpdateCounter"), selection: try TPMLPCRSelection(from: &r), digests: try TPMLDigest(from: &r).digests)
        }
    }

    /// TPM2_CreatePrimary (Part 3 §24.1) under `hierarchy` (owner, endorsement, platform or
    /// null) with the hierarchy's authorization. The same template in the same hierarchy gives
    /// the same key for as long as the hierarchy's primary seed is unchanged.
    public func createPrimary(
        hierarchy: TPMHandle, template: TPMTPublic, sensitive: TPMSSensitiveCreate = TPMSSensitiveCreate(),
        auth: TPMSessionAuth = .password()
    ) throws(TPMClientError) -> TPMLoadedObject {
        let name = "TPM2_CreatePrimary"
        let response = try run(.createPrimary, name, handles: [hierarchy], auths: [auth], returnsHandle: true) { w in
            w.sizedStructure { sensitive.marshal(into: &$0) }
            template.marshalSized(into: &w)
            w.sized([UInt8]())
            w.write(TPMLPCRSelection([]))
        }
        guard let handle = response.handle else { throw .malformedResponse(command: name, reason: "no object handle") }
        return try decode(response, name) { r throws(TPMMarshalError) in
            let area = try TPMTPublic.sized(from: &r)
            _ = try r.sized("creationData", maximum: 0xFFFF)
            _ = try r.sized("creationHash", maximum: TPMLimits.maxDigest)
            _ = try TPMTTicket(from: &r)
            return TPMLoadedObject(handle: handle, publicArea: area, name: try r.sized("name", maximum: TPMLimits.maxName))
        }
    }

    /// TPM2_Create (Part 3 §12.1): a new ordinary object (key or sealed data object) under the
    /// loaded storage parent `parent`.
    public func create(
        parent: TPMHandle, template: TPMTPublic, sensitive: TPMSSensitiveCreate = TPMSSensitiveCreate(),
        auth: TPMSessionAuth = .password()
    ) throws(TPMClientError) -> TPMCreatedObject {
        let name = "TPM2_Create"
        let response = try run(.create, name, handles: [parent], auths: [auth]) { w in
            w.sizedStructure { sensitive.marshal(into: &$0) }
            template.marshalSized(into: &w)
            w.sized([UInt8]())
            w.write(TPMLPCRSelection([]))
        }
        return try decode(response, name) { r throws(TPMMarshalError) in
            let blob = try r.sized("outPrivate", maximum: TPMLimits.maxPrivate)
            let area = try TPMTPublic.sized(from: &r)
            _ = try r.sized("creationData", maximum: 0xFFFF)
            _ = try r.sized("creationHash", maximum: TPMLimits.maxDigest)
            _ = try TPMTTicket(from: &r)
            return TPMCreatedObject(privateBlob: blob, publicArea: area)
        }
    }

    /// TPM2_Load (Part 3 §12.2): loads a TPM2_Create result under the parent it was made for.
    public func load(parent: TPMHandle, _ object: TPMCreatedObject, auth: TPMSessionAuth = .password()) throws(TPMClientError) -> TPMLoadedObject {
        let name = "TPM2_Load"
        let response = try run(.load, name, handles: [parent], auths: [auth], returnsHandle: true) { w in
            w.sized(object.privateBlob)
            object.publicArea.marshalSized(into: &w)
        }
        guard let handle = response.handle else { throw .malformedResponse(command: name, reason: "no object handle") }
        let objectName = try decode(response, name) { r throws(TPMMarshalError) in try r.sized("name", maximum: TPMLimits.maxName) }
        return TPMLoadedObject(handle: handle, publicArea: object.publicArea, name: objectName)
    }

    /// TPM2_ReadPublic (Part 3 §12.4): the public area and Name of a loaded object.
    public func readPublic(_ handle: TPMHandle) throws(TPMClientError) -> TPMLoadedObject {
        let name = "TPM2_ReadPublic"
        let response = try run(.readPublic, name, handles: [handle])
        return try decode(response, name) { r throws(TPMMarshalError) in
            let area = try TPMTPublic.sized(from: &r)
            let objectName = try r.sized("name", maximum: TPMLimits.maxName)
            _ = try r.sized("qualifiedName", maximum: TPMLimits.maxName)
            return TPMLoadedObject(handle: handle, publicArea: area, name: objectName)
        }
    }

    /// TPM2_FlushContext (Part 3 §28.4): unloads a transient object or ends a session.
    public func flushContext(_ handle: TPMHandle) throws(TPMClientError) {
        _ = try run(.flushContext, "TPM2_FlushContext") { $0.write(handle) }
    }

    /// TPM2_EvictControl (Part 3 §28.5): makes the loaded object `object` persistent at
    /// `persistentHandle`, or removes the persistent object when `object` is that handle.
    public func evictControl(authHandle: TPMHandle = .owner, object: TPMHandle, persistentHandle: TPMHandle, auth: TPMSessionAuth = .password()) throws(TPMClientError) {
        _ = try run(.evictControl, "TPM2_EvictControl", handles: [authHandle, object], auths: [auth]) { $0.write(persistentHandle) }
    }

    /// TPM2_NV_DefineSpace (Part 3 §31.3) authorized by `authHandle` (owner or platform).
    public func nvDefineSpace(
        authHandle: TPMHandle = .owner, indexAuth: [UInt8] = [], publicInfo: TPMSNVPublic, auth: TPMSessionAuth = .password()
    ) throws(TPMClientError) {
        _ = try run(.nvDefineSpace, "TPM2_NV_DefineSpace", handles: [authHandle], auths: [auth]) { w in
            w.sized(indexAuth)
            w.sizedStructure { publicInfo.marshal(into: &$0) }
        }
    }

    /// TPM2_NV_UndefineSpace (Part 3 §31.4).
    public func nvUndefineSpace(authHandle: TPMHandle = .owner, index: TPMHandle, auth: TPMSessionAuth = .password()) throws(TPMClientError) {
        _ = try run(.nvUndefineSpace, "TPM2_NV_UndefineSpace", handles: [authHandle, index], auths: [auth])
    }

    /// TPM2_NV_ReadPublic (Part 3 §31.6): the public area of an NV index, which needs no
    /// authorization.
    public func nvReadPublic(_ index: TPMHandle) throws(TPMClientError) -> TPMSNVPublic {
        let name = "TPM2_NV_ReadPublic"
        let response = try run(.nvReadPublic, name, handles: [index])
        return try decode(response, name) { r throws(TPMMarshalError) in
            let area = try r.sizedStructure("nvPublic") { r2 throws(TPMMarshalError) in try TPMSNVPublic(from: &r2) }!
            _ = try r.sized("nvName", maximum: TPMLimits.maxName)
            return area
        }
    }

    /// TPM2_NV_Write (Part 3 §31.7) of `data` at `offset`; `authHandle` defaults to the index
    /// itself (authWrite).
    public func nvWrite(index: TPMHandle, data: [UInt8], offset: UInt16 = 0, authHandle: TPMHandle? = nil, auth: TPMSessionAuth = .password()) throws(TPMClientError) {
        _ = try run(.nvWrite, "TPM2_NV_Write", handles: [authHandle ?? index, index], auths: [auth]) { w in
            w.sized(data)
            w.u16(offset)
        }
    }

    /// TPM2_NV_Read (Part 3 §31.13) of `size` bytes at `offset`; `authHandle` defaults to the
    /// index itself (authRead).
    public func nvRead(index: TPMHandle, size: UInt16, offset: UInt16 = 0, authHandle: TPMHandle? = nil, auth: TPMSessionAuth = .password()) throws(TPMClientError) -> [UInt8] {
        let name = "TPM2_NV_Read"
        let response = try run(.nvRead, name, handles: [authHandle ?? index, index], auths: [auth]) { w in
            w.u16(size)
            w.u16(offset)
        }
        return try decode(response, name) { r throws(TPMMarshalError) in try r.sized("data", maximum: TPMLimits.maxNVBuffer) }
    }

    /// TPM2_Quote (Part 3 §18.4): `key` signs the selected PCRs' digest and `qualifyingData`.
    /// A null `scheme` uses the key's own scheme.
    public func quote(
        key: TPMHandle, qualifyingData: [UInt8], selection: TPMLPCRSelection, scheme: TPMTScheme = .null,
        auth: TPMSessionAuth = .password()
    ) throws(TPMClientError) -> TPMQuoteResult {
        let name = "TPM2_Quote"
        let response = try run(.quote, name, handles: [key], auths: [auth]) { w in
            w.sized(qualifyingData)
            scheme.marshal(into: &w)
            w.write(selection)
        }
        return try decode(response, name) { r throws(TPMMarshalError) in
            TPMQuoteResult(attest: try r.sized("quoted", maximum: 0xFFFF), signature: try TPMTSignature(from: &r))
        }
    }

    /// TPM2_ReadClock (Part 3 §29.1): the time since the last _TPM_Init, in milliseconds, and
    /// the clock, reset and restart counts in plain text.
    public func readClock() throws(TPMClientError) -> (time: UInt64, clockInfo: TPMSClockInfo) {
        let name = "TPM2_ReadClock"
        let response = try run(.readClock, name, handles: [], auths: [])
        return try decode(response, name) { r throws(TPMMarshalError) in (try r.u64("time"), try TPMSClockInfo(from: &r)) }
    }

    /// TPM2_GetCapability (Part 3 §30.2) of one TPM_CAP_TPM_PROPERTIES value (Part 2 §6.13,
    /// returned as a TPML_TAGGED_TPM_PROPERTY, §10.9.8), such as TPM_PT_NV_BUFFER_MAX.
    public func tpmProperty(_ tag: TPMPropertyTag) throws(TPMClientError) -> UInt32 {
        let name = "TPM2_GetCapability"
        let response = try run(.getCapability, name) { w in
            w.u32(TPMCapability.tpmProperties.rawValue)
            w.u32(tag.rawValue)
            w.u32(1)
        }
        let properties = try decode(response, name) { r throws(TPMMarshalError) in
            _ = try r.u8("moreData")
            let capability = try r.u32("capability")
            guard capability == TPMCapability.tpmProperties.rawValue else {
                throw .invalidValue(field: "capability", offset: 1, value: UInt64(capability))
            }
            return try r.list("TPML_TAGGED_TPM_PROPERTY", maximum: 127) { r2 throws(TPMMarshalError) in
                (property: try r2.u32("TPMS_TAGGED_PROPERTY.property"), value: try r2.u32("TPMS_TAGGED_PROPERTY.value"))
            }
        }
        guard let first = properties.first, first.property == tag.rawValue else {
            throw .malformedResponse(command: name, reason: "TPM_PT 0x\(String(tag.rawValue, radix: 16)) is not among the properties returned")
        }
        return first.value
    }

    /// TPM2_StartAuthSession (Part 3 §11.1) of an unsalted, unbound session with no symmetric
    /// algorithm: tpmKey and bind are TPM_RH_NULL and encryptedSalt is empty. Without
    /// `nonceCaller` a fresh random nonce of the hash's digest size is used.
    public func startAuthSession(
        type: TPMSessionType, hash: TPMHashAlgorithm = .sha256, nonceCaller: [UInt8]? = nil
    ) throws(TPMClientError) -> TPMStartedSession {
        let name = "TPM2_StartAuthSession"
        let nonce = nonceCaller ?? (0..<hash.digestSize).map { _ in UInt8.random(in: 0...255) }
        let response = try run(.startAuthSession, name, handles: [.null, .null], returnsHandle: true) { w in
            w.sized(nonce)
            w.sized([UInt8]())
            w.u8(type.rawValue)
            TPMTSymDef.null.marshal(into: &w)
            w.write(hash.id)
        }
        guard let handle = response.handle else { throw .malformedResponse(command: name, reason: "no session handle") }
        let nonceTPM = try decode(response, name) { r throws(TPMMarshalError) in try r.sized("nonceTPM", maximum: TPMLimits.maxDigest) }
        return TPMStartedSession(handle: handle, nonceTPM: nonceTPM)
    }

    /// TPM2_PolicyPCR (Part 3 §23.7): binds the policy session to the current values of the
    /// selected PCRs (`pcrDigest` empty: the TPM uses the current values).
    public func policyPCR(session: TPMHandle, selection: TPMLPCRSelection, pcrDigest: [UInt8] = []) throws(TPMClientError) {
        _ = try run(.policyPCR, "TPM2_PolicyPCR", handles: [session]) { w in
            w.sized(pcrDigest)
            w.write(selection)
        }
    }

    /// TPM2_PolicyGetDigest (Part 3 §23.19): the session's current policyDigest.
    public func policyGetDigest(session: TPMHandle) throws(TPMClientError) -> [UInt8] {
        let name = "TPM2_PolicyGetDigest"
        let response = try run(.policyGetDigest, name, handles: [session])
        return try decode(response, name) { r throws(TPMMarshalError) in try r.sized("policyDigest", maximum: TPMLimits.maxDigest) }
    }

    /// TPM2_Unseal (Part 3 §12.7) of a loaded sealed data object, authorized by `auth`
    /// (a policy session for a policy-sealed object).
    public func unseal(_ item: TPMHandle, auth: TPMSessionAuth) throws(TPMClientError) -> [UInt8] {
        let name = "TPM2_Unseal"
        let response = try run(.unseal, name, handles: [item], auths: [auth])
        return try decode(response, name) { r throws(TPMMarshalError) in try r.sized("outData", maximum: TPMLimits.maxSymData) }
    }

    /// TPM2_GetCapability (Part 3 §30.2) of TPM_CAP_TPM_PROPERTIES: up to `count` properties
    /// from `first` (TPML_TAGGED_TPM_PROPERTY, Part 2 §10.9.8), by tag. The TPM may return fewer.
    public func tpmProperties(from first: TPMPropertyTag, count: UInt32) throws(TPMClientError) -> [UInt32: UInt32] {
        let name = "TPM2_GetCapability"
        let response = try run(.getCapability, name) { w in
            w.u32(TPMCapability.tpmProperties.rawValue)
            w.u32(first.rawValue)
            w.u32(count)
        }
        return try decode(response, name) { r throws(TPMMarshalError) in
            _ = try r.u8("moreData")
            let capability = try r.u32("capability")
            guard capability == TPMCapability.tpmProperties.rawValue else {
                throw .unknownSelector(field: "capability", offset: r.offset - 4, value: capability)
            }
            var properties: [UInt32: UInt32] = [:]
            for _ in 0..<(try r.u32("count")) {
                properties[try r.u32("property")] = try r.u32("value")
            }
            return properties
        }
    }

    /// TPM2_LoadExternal (Part 3 §12.3) of a public area alone (an empty TPM2B_SENSITIVE) into
    /// `hierarchy`, e.g. a key whose signatures TPM2_VerifySignature is to check.
    public func loadExternal(_ publicArea: TPMTPublic, hierarchy: TPMHandle = .owner) throws(TPMClientError) -> TPMLoadedObject {
        let name = "TPM2_LoadExternal"
        let response = try run(.loadExternal, name, returnsHandle: true) { w in
            w.sized([UInt8]())
            publicArea.marshalSized(into: &w)
            w.write(hierarchy)
        }
        guard let handle = response.handle else { throw .malformedResponse(command: name, reason: "no object handle") }
        let objectName = try decode(response, name) { r throws(TPMMarshalError) in try r.sized("name", maximum: TPMLimits.maxName) }
        return TPMLoadedObject(handle: handle, publicArea: publicArea, name: objectName)
    }

    /// TPM2_VerifySignature (Part 3 §20.1): the TPM checks `signature` over `digest` with the
    /// loaded key and returns a TPMT_TK_VERIFIED ticket for TPM2_PolicyAuthorize.
    public func verifySignature(key: TPMHandle, digest: [UInt8], signature: TPMTSignature) throws(TPMClientError) -> TPMTTicket {
        let name = "TPM2_VerifySignature"
        let response = try run(.verifySignature, name, handles: [key]) { w in
            w.sized(digest)
            signature.marshal(into: &w)
        }
        return try decode(response, name) { r throws(TPMMarshalError) in try TPMTTicket(from: &r) }
    }

    /// TPM2_PolicyAuthorize (Part 3 §23.16): when the session's digest is `approvedPolicy` and the
    /// ticket proves the key named `keySign` signed H(approvedPolicy ‖ policyRef), the digest
    /// becomes PolicyAuthorize(keySign, policyRef).
    public func policyAuthorize(
        session: TPMHandle, approvedPolicy: [UInt8], policyRef: [UInt8] = [], keySign: [UInt8], checkTicket: TPMTTicket
    ) throws(TPMClientError) {
        _ = try run(.policyAuthorize, "TPM2_PolicyAuthorize", handles: [session]) { w in
            w.sized(approvedPolicy)
            w.sized(policyRef)
            w.sized(keySign)
            checkTicket.marshal(into: &w)
        }
    }
}
