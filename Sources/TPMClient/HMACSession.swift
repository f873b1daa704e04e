import TPM2

/// A session whose command authorizations carry an HMAC (TPM 2.0 Part 1 §19.6): a policy
/// session whose policy includes TPM2_PolicyAuthValue (§19.7.1: the HMAC then proves knowledge
/// of the entity's authValue without sending it), or an HMAC session. The caller keeps it between
/// commands, because every response replaces the TPM's nonce.
///
/// Sessions are started unbound and unsalted (tpmKey and bind TPM_RH_NULL), so sessionKey is the
/// Empty Buffer (§19.6.8: KDFa over an empty bind authValue and salt is not run) and the HMAC key
/// is the entity's authValue alone.
public struct TPMHMACSession: Sendable {
    public let handle: TPMHandle
    /// The session's authHash: the HMAC, cpHash and rpHash algorithm.
    public let hash: TPMHashAlgorithm
    public let sessionKey: [UInt8]
    /// The TPM's latest nonce (nonceTPM of TPM2_StartAuthSession, then of each response).
    public private(set) var nonceTPM: [UInt8]

    /// The session `started` by TPM2_StartAuthSession with `hash`, unbound and unsalted.
    public init(_ started: TPMStartedSession, hash: TPMHashAlgorithm = .sha256) {
        handle = started.handle
        self.hash = hash
        sessionKey = []
        nonceTPM = started.nonceTPM
    }

    /// An authValue as it enters HMACs: without trailing zero octets (Part 1 §19.6.5, as the TPM
    /// trims it before use).
    static func trimmed(_ authValue: [UInt8]) -> [UInt8] {
        var trimmed = authValue
        while trimmed.last == 0 { trimmed.removeLast() }
        return trimmed
    }

    /// The command's TPMS_AUTH_COMMAND (Part 1 §19.6.5): hmac = HMAC(sessionKey ‖ authValue,
    /// cpHash ‖ nonceCaller ‖ nonceTPM ‖ sessionAttributes), with cpHash = H(commandCode ‖
    /// Name of each handle ‖ parameters) (§18.7). No decrypt or encrypt session takes part.
    func authorization(_ code: TPMCommandCode, names: [[UInt8]], parameters: [UInt8], authValue: [UInt8], nonceCaller: [UInt8]) -> TPMSessionAuth {
        let cpHash = hash.hash(parts: [code.tpmBytes] + names + [parameters])
        let attributes = TPMASession.continueSession
        let hmac = hash.hmac(key: sessionKey + Self.trimmed(authValue), cpHash, nonceCaller, nonceTPM, [attributes.rawValue])
        return TPMSessionAuth(handle: handle, nonce: nonceCaller, attributes: attributes, hmac: hmac)
    }

    /// Checks the response's TPMS_AUTH_RESPONSE (Part 2 §10.13.4): hmac = HMAC(sessionKey ‖
    /// authValue, rpHash ‖ nonceTPM ‖ nonceCaller ‖ sessionAttributes) with rpHash =
    /// H(TPM_RC_SUCCESS ‖ commandCode ‖ parameters) (Part 1 §18.8), compared in constant time;
    /// then keeps the response's nonceTPM for the next command.
    mutating func accept(_ response: TPM2Client.Response, _ code: TPMCommandCode, _ name: String, authValue: [UInt8], nonceCaller: [UInt8]) throws(TPMClientError) {
        var reader = TPMReader(response.authorizations)
        let nonce: [UInt8], attributes: UInt8, hmac: [UInt8]
        do {
            nonce = try reader.sized("nonceTPM", maximum: TPMLimits.maxDigest)
            attributes = try reader.u8("sessionAttributes")
            hmac = try reader.sized("hmac", maximum: TPMLimits.maxDigest)
            try reader.expectEnd()
        } catch {
            throw .malformedResponse(command: name, reason: "authorization area: \(error)")
        }
        let rpHash = hash.hash([0, 0, 0, 0], code.tpmBytes, response.parameterBytes)
        let expected = hash.hmac(key: sessionKey + Self.trimmed(authValue), rpHash, nonce, nonceCaller, [attributes])
        guard constantTimeEqual(expected, hmac) else {
            throw .malformedResponse(command: name, reason: "the response HMAC does not verify (Part 1 §19.6): not from the TPM holding the authValue, or altered")
        }
        nonceTPM = nonce
    }
}

extension TPM2Client {
    /// Sends a command whose first handle is authorized by `session` with `authValue`, the
    /// authValue of the entity named `names[0]`; `names` are the Names of all the command's
    /// handles (Part 1 §16). The response must carry a valid HMAC.
    func run(
        _ code: TPMCommandCode, _ name: String, handles: [TPMHandle], names: [[UInt8]], session: inout TPMHMACSession,
        authValue: [UInt8], returnsHandle: Bool = false, parameters: (inout TPMWriter) -> Void = { _ in }
    ) throws(TPMClientError) -> Response {
        var writer = TPMWriter()
        parameters(&writer)
        let nonceCaller = (0..<session.hash.digestSize).map { _ in UInt8.random(in: 0...255) }
        let auth = session.authorization(code, names: names, parameters: writer.bytes, authValue: authValue, nonceCaller: nonceCaller)
        let response = try send(code, name, handles: handles, auths: [auth], returnsHandle: returnsHandle, parameters: writer.bytes)
        try session.accept(response, code, name, authValue: authValue, nonceCaller: nonceCaller)
        return response
    }

    /// TPM2_PolicyAuthValue (Part 3 §23.17): the object's authValue must then be proven by the
    /// session's HMAC on the command the policy authorizes.
    public func policyAuthValue(session: TPMHandle) throws(TPMClientError) {
        _ = try run(.policyAuthValue, "TPM2_PolicyAuthValue", handles: [session])
    }

    /// TPM2_Unseal (Part 3 §12.7) of `item`, authorized by `session` (a policy session whose
    /// policy includes TPM2_PolicyAuthValue, or an HMAC session) and the item's `authValue`.
    public func unseal(_ item: TPMLoadedObject, session: inout TPMHMACSession, authValue: [UInt8]) throws(TPMClientError) -> [UInt8] {
        let name = "TPM2_Unseal"
        let response = try run(.unseal, name, handles: [item.handle], names: [item.name], session: &session, authValue: authValue)
        return try decode(response, name) { r throws(TPMMarshalError) in try r.sized("outData", maximum: TPMLimits.maxSymData) }
    }
}
