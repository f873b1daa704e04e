import TPM2

/// One TPMS_AUTH_COMMAND of a command's authorization area (TPM 2.0 Part 1 §19.4, Part 2
/// §10.13.2): a password session (TPM_RS_PW, the password in the hmac field, Part 1 §19.8.4)
/// or a policy session whose policy needs no authValue (empty hmac, Part 1 §19.7.1).
public struct TPMSessionAuth: Sendable, Hashable {
    public var handle: TPMHandle
    public var nonce: [UInt8]
    public var attributes: TPMASession
    public var hmac: [UInt8]

    public init(handle: TPMHandle, nonce: [UInt8] = [], attributes: TPMASession = .continueSession, hmac: [UInt8] = []) {
        self.handle = handle
        self.nonce = nonce
        self.attributes = attributes
        self.hmac = hmac
    }

    /// The password session TPM_RS_PW with `password` as the authValue.
    public static func password(_ password: [UInt8] = []) -> Self { Self(handle: .password, hmac: password) }

    /// A policy session kept open after the command (continueSession).
    public static func policy(_ session: TPMHandle) -> Self { Self(handle: session) }

    func marshal(into writer: inout TPMWriter) {
        writer.write(handle)
        writer.sized(nonce)
        writer.u8(attributes.rawValue)
        writer.sized(hmac)
    }
}

/// A client for a TPM 2.0 reached through any `TPMTransport`: each method builds the command
/// frame of one TPM 2.0 Part 3 command with `TPMWriter`, sends it, checks the response code and
/// unmarshals the response parameters. Authorization uses password sessions, policy sessions,
/// and unbound unsalted sessions with command and response HMACs (`TPMHMACSession`); there are
/// no salted or parameter-encryption sessions.
public struct TPM2Client: Sendable {
    public let transport: any TPMTransport

    public init(transport: any TPMTransport) {
        self.transport = transport
    }

    /// The parts of a successful response (Part 3 §5.2): the response handle, when the command
    /// returns one, a reader over the response parameters, their bytes (for rpHash), and the
    /// authorization area (one TPMS_AUTH_RESPONSE per session, Part 2 §10.13.4).
    struct Response {
        var handle: TPMHandle?
        var parameters: TPMReader
        var parameterBytes: [UInt8]
        var authorizations: [UInt8]
    }

    /// Sends one command and returns its response parts, or throws the TPM's response code.
    func run(
        _ code: TPMCommandCode, _ name: String, handles: [TPMHandle] = [], auths: [TPMSessionAuth] = [],
        returnsHandle: Bool = false, parameters: (inout TPMWriter) -> Void = { _ in }
    ) throws(TPMClientError) -> Response {
        var writer = TPMWriter()
        parameters(&writer)
        return try send(code, name, handles: handles, auths: auths, returnsHandle: returnsHandle, parameters: writer.bytes)
    }

    /// Frames handles, authorization area and `parameters` (Part 1 §18.2), sends the command,
    /// sending it again after the warnings that ask for that.
    func send(
        _ code: TPMCommandCode, _ name: String, handles: [TPMHandle], auths: [TPMSessionAuth], returnsHandle: Bool, parameters: [UInt8]
    ) throws(TPMClientError) -> Response {
        var body = TPMWriter()
        for handle in handles { body.write(handle) }
        if !auths.isEmpty {
            var area = TPMWriter()
            for auth in auths { auth.marshal(into: &area) }
            body.u32(UInt32(area.bytes.count))
            body.bytes(area.bytes)
        }
        body.bytes(parameters)
        var frame = TPMWriter()
        frame.u16((auths.isEmpty ? TPMStructureTag.noSessions : .sessions).rawValue)
        frame.u32(UInt32(10 + body.bytes.count))
        frame.write(code)
        frame.bytes(body.bytes)
        var attempts = 0
        while true {
            do {
                return try Self.parseResponse(try transport.send(frame.bytes), name, sessions: !auths.isEmpty, returnsHandle: returnsHandle)
            } catch let error where Self.resubmit.contains(error.responseCode?.base ?? .success) && attempts < Self.maximumResubmissions {
                attempts += 1
            }
        }
    }

    /// Warnings after which a command is simply sent again (Part 3 §5.5: TPM_RC_RETRY,
    /// TPM_RC_YIELDED, TPM_RC_TESTING), as TSS stacks do.
    static let resubmit: Set<TPMResponseCode> = [.retry, .yielded, .testing]
    static let maximumResubmissions = 5

    static func parseResponse(_ bytes: [UInt8], _ name: String, sessions: Bool, returnsHandle: Bool) throws(TPMClientError) -> Response {
        var reader = TPMReader(bytes)
        do {
            let tag = try reader.u16("tag")
            let size = try reader.u32("responseSize")
            let code = TPMResponseCode(try reader.u32("responseCode"))
            guard size == bytes.count else { throw TPMClientError.malformedResponse(command: name, reason: "responseSize \(size) but \(bytes.count) bytes") }
            guard code == .success else { throw TPMClientError.tpm(command: name, code: code) }
            guard tag == (sessions ? TPMStructureTag.sessions : .noSessions).rawValue else {
                throw TPMClientError.malformedResponse(command: name, reason: "tag 0x\(String(tag, radix: 16))")
            }
            let handle = returnsHandle ? try TPMHandle(from: &reader) : nil
            guard sessions else {
                let parameters = try reader.bytes(reader.remaining, "parameters")
                return Response(handle: handle, parameters: TPMReader(parameters), parameterBytes: parameters, authorizations: [])
            }
            let parameters = try reader.bytes(Int(try reader.u32("parameterSize")), "parameters")
            return Response(handle: handle, parameters: TPMReader(parameters), parameterBytes: parameters,
                            authorizations: try reader.bytes(reader.remaining, "authorizations"))
        } catch let error as TPMMarshalError {
            throw .malformedResponse(command: name, reason: "\(error)")
        } catch let error as TPMClientError {
            throw error
        } catch {
            throw .malformedResponse(command: name, reason: "\(error)")
        }
    }

    /// Unmarshals response parameters with `body`, requiring it to consume them all.
    func decode<T>(_ response: Response, _ name: String, _ body: (inout TPMReader) throws(TPMMarshalError) -> T) throws(TPMClientError) -> T {
        var reader = response.parameters
        do {
            let value = try body(&reader)
            try reader.expectEnd()
            return value
        } catch {
            throw .malformedResponse(command: name, reason: "\(error)")
        }
    }

    /// Sends a raw command frame and returns the raw response (for tests and tools that build
    /// their own frames).
    public func sendRaw(_ frame: [UInt8]) throws(TPMClientError) -> [UInt8] {
        try transport.send(frame)
    }
}
