import Foundation
import Logging
import TPM2

/// A TPM 2.0 engine (TPM 2.0 Library specification Part 3 commands over Part 2 structures).
///
/// Commands come in as the byte frames a TPM driver sends (`execute(_:)`) and answers go out
/// the same way, so any transport — the Microsoft simulator protocol, the swtpm socket
/// protocol, or a direct call — can drive it. The engine is **persistent** when it has a
/// state store (seeds, NV, persistent objects and clock survive restarts) or **ephemeral**
/// (nothing is written anywhere and every power-on draws new primary seeds).
///
/// Marshaling and session cryptography follow Part 1 §19-§23; asymmetric operations use
/// OpenSSL's libcrypto (see `RSAKey` and `ECCKey`). The engine is serialized by an internal
/// lock: one command at a time, as on a real TPM.
public final class TPMEngine: @unchecked Sendable {
    /// Where the non-volatile state lives.
    public enum Mode: Sendable {
        case ephemeral
        case persistent(VTPMStateStore)
    }

    public let mode: Mode
    let lock = NSLock()
    let logger: Logger

    var nv: PersistentState
    var powered = false
    var started = false
    var pcrs: [TPMAlgorithmID: [[UInt8]]] = [:]
    var pcrUpdateCounter: UInt32 = 0
    var objects: [UInt32: LoadedObject] = [:]
    var sessions: [UInt32: Session] = [:]
    var phEnable = true, shEnable = true, ehEnable = true, phEnableNV = true
    var platformAuth: [UInt8] = []
    var platformPolicy = PolicyValue()
    var nullSeed: [UInt8] = []
    var contextKey: [UInt8] = []
    var contextSequence: UInt64 = 0
    var powerOnInstant = ContinuousClock.now
    var clockAtPowerOn: UInt64 = 0
    var timeAtPowerOn: UInt64 = 0
    /// The TPM_ACCESS tpmEstablished bit the swtpm control channel reports (set by H-CRTM).
    var tpmEstablished = false

    /// The TPM_ACCESS tpmEstablished bit (set by an H-CRTM sequence).
    public var isEstablished: Bool { lock.withLock { tpmEstablished } }
    var hcrtmHashers: [TPMHasher]?
    var hcrtmDone = false
    var lastFailureTime: UInt64?
    var noncesRolled = false
    var primaryRSACache = PrimaryKeyCache()

    /// The PCR banks this TPM allocates, each with 24 PCRs (PC Client PTP §4.6.2).
    static let banks: [TPMHashAlgorithm] = [.sha1, .sha256, .sha384]
    static let pcrCount = 24

    public init(mode: Mode, logger: Logger = Logger(label: "cvmkit.vtpm")) throws(VTPMStateError) {
        self.mode = mode
        self.logger = logger
        switch mode {
        case .ephemeral:
            nv = .fresh()
        case let .persistent(store):
            if let saved = try store.load() {
                nv = saved
            } else {
                nv = .fresh()
                try store.save(nv)
            }
        }
    }

    // MARK: - Platform signals

    /// _TPM_Init after power is applied (Part 1 §12.2). An ephemeral TPM forgets everything
    /// at every power-on: new seeds, empty NV.
    public func powerOn() {
        lock.withLock {
            if case .ephemeral = mode, powered == false { nv = .fresh() }
            powered = true
            started = false
            powerOnInstant = .now
            clockAtPowerOn = nv.clock
            timeAtPowerOn = 0
            hcrtmDone = false
        }
    }

    /// Power removed: volatile state is lost; a persistent TPM keeps its NV.
    public func powerOff() {
        lock.withLock {
            nv.clock = currentClock
            persistNV()
            powered = false
            started = false
            objects.removeAll()
            sessions.removeAll()
        }
    }

    /// Whether a command can be processed (powered on).
    public var isPoweredOn: Bool { lock.withLock { powered } }

    /// Clears the tpmEstablished flag (swtpm CMD_RESET_TPMESTABLISHED, locality 3 or 4).
    public func resetEstablished() { lock.withLock { tpmEstablished = false } }

    /// Clock: milliseconds of powered time, continued across power cycles (Part 1 §36.4).
    var currentClock: UInt64 {
        clockAtPowerOn + milliseconds(since: powerOnInstant)
    }

    /// Time: milliseconds since the last _TPM_Init.
    var currentTime: UInt64 { milliseconds(since: powerOnInstant) }

    private func milliseconds(since instant: ContinuousClock.Instant) -> UInt64 {
        let elapsed = ContinuousClock.now - instant
        return UInt64(elapsed.components.seconds) * 1000 + UInt64(elapsed.components.attoseconds / 1_000_000_000_000_000)
    }

    /// Writes NV to the state store of a persistent TPM. After a failed write the change is not
    /// acknowledged: the command answers TPM_RC_NV_UNAVAILABLE and NV is rolled back.
    @discardableResult
    func persistNV() -> Bool {
        guard case let .persistent(store) = mode else { return true }
        nv.clock = currentClock
        do {
            try store.save(nv)
            return true
        } catch {
            logger.error("vTPM state write failed", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Commits NV after a command changed it.
    func commitNV() throws(TPMResponseCode) {
        guard persistNV() else { throw TPMResponseCode.nvUnavailable }
    }

    // MARK: - Command execution

    /// Executes one command frame (Part 3 §5) and returns the response frame. Never traps on
    /// malformed input: every failure is a response code.
    public func execute(_ command: [UInt8], locality: UInt8 = 0) -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        do {
            return try process(command, locality: locality)
        } catch {
            return Self.errorResponse(error)
        }
    }

    static func errorResponse(_ code: TPMResponseCode) -> [UInt8] {
        var writer = TPMWriter()
        writer.u16(TPMStructureTag.noSessions.rawValue)
        writer.u32(10)
        writer.u32(code.rawValue)
        return writer.bytes
    }

    /// TPM_RC_BAD_TAG (Part 2 §6.6.2): the one format-zero code below RC_VER1.
    static let badTag = TPMResponseCode(0x01E)

    private func process(_ frame: [UInt8], locality: UInt8) throws(TPMResponseCode) -> [UInt8] {
        guard powered else { throw TPMResponseCode.failure }
        // Header fields in the reference implementation's order (Part 3 §5.3): the tag, then
        // commandSize against the bytes received, then the command code.
        var header = TPMReader(frame)
        guard let rawTag = try? header.u16("tag") else { throw TPMResponseCode.insufficient }
        guard let tag = TPMStructureTag(rawValue: rawTag), tag == .noSessions || tag == .sessions else { throw Self.badTag }
        guard let size = try? header.u32("commandSize") else { throw TPMResponseCode.insufficient }
        guard size == frame.count else { throw TPMResponseCode.commandSize }
        guard let rawCode = try? header.u32("commandCode") else { throw TPMResponseCode.insufficient }
        let code = TPMCommandCode(rawCode)
        guard let spec = Self.commandTable[code] else { throw TPMResponseCode.commandCode }
        guard started || code == .startup else { throw TPMResponseCode.initialize }
        guard !started || code != .startup else { throw TPMResponseCode.initialize }

        var handles: [TPMHandle] = []
        for index in 0..<spec.handles {
            guard let raw = try? header.u32("handle") else { throw TPMResponseCode.insufficient.handle(index + 1) }
            guard spec.handleTypes[index].admits(TPMHandle(raw)) else { throw TPMResponseCode.value.handle(index + 1) }
            handles.append(TPMHandle(raw))
        }
        let handleNames = try handles.enumerated().map { (i, handle) throws(TPMResponseCode) in try name(of: handle, index: i) }

        var sessionsIn: [SessionInput] = []
        if tag == .sessions {
            sessionsIn = try parseSessions(&header)
            guard !sessionsIn.isEmpty else { throw TPMResponseCode.authSize }
        }
        guard sessionsIn.count >= spec.authRoles.count else { throw TPMResponseCode.authMissing }
        let parameterBytes = Array(frame[header.offset...])

        var context = CommandContext(code: code, handles: handles, params: TPMReader(parameterBytes), locality: locality)
        var processing = try authorize(code: code, spec: spec, handles: handles, names: handleNames, sessions: sessionsIn, parameters: parameterBytes)
        if let index = processing.decryptSession {
            context.params = TPMReader(try decryptParameter(parameterBytes, session: index, processing: processing))
        }
        context.authSessionHandles = sessionsIn.prefix(spec.authRoles.count).map(\.handle)
        // A command whose change to NV cannot be written answers TPM_RC_NV_UNAVAILABLE (Part 2
        // §6.6.3) and leaves NV as it was, so memory never holds what the state file does not.
        let nvBefore: PersistentState? = if case .persistent = mode { nv } else { nil }
        do {
            try spec.run(self, &context)
        } catch {
            if error == .nvUnavailable, let nvBefore { nv = nvBefore }
            throw error
        }
        var response = context.out.bytes
        if let index = processing.encryptSession, spec.encryptsResponse {
            response = encryptResponseParameter(response, session: index, processing: &processing)
        }
        return buildResponse(code: code, tag: tag, responseHandle: context.responseHandle, parameters: response, processing: processing)
    }

    /// The response frame (Part 3 §5.2), written once into a buffer of its final size.
    private func buildResponse(code: TPMCommandCode, tag: TPMStructureTag, responseHandle: TPMHandle?, parameters: [UInt8], processing: SessionProcessing) -> [UInt8] {
        let auths = tag == .sessions ? responseAuthorizations(processing: processing, rpHashes: RPHashCache(code: code, parameters: parameters)) : []
        var size = 10 + (responseHandle == nil ? 0 : 4) + parameters.count
        if tag == .sessions {
            // parameterSize, then each TPMS_AUTH_RESPONSE: two TPM2Bs and the attributes byte.
            size += 4
            for auth in auths { size += 5 + auth.nonce.count + auth.hmac.count }
        }
        var writer = TPMWriter(capacity: size)
        writer.u16(tag.rawValue)
        writer.u32(UInt32(size))
        writer.u32(TPMResponseCode.success.rawValue)
        if let responseHandle { writer.u32(responseHandle.rawValue) }
        if tag == .sessions { writer.u32(UInt32(parameters.count)) }
        writer.bytes(parameters)
        for auth in auths {
            writer.sized(auth.nonce)
            writer.u8(auth.attributes.rawValue)
            writer.sized(auth.hmac)
        }
        return writer.bytes
    }

    /// The authorization area of a command: TPMS_AUTH_COMMAND entries (Part 2 §10.13.2).
    struct SessionInput {
        var handle: TPMHandle
        var nonceCaller: [UInt8]
        var attributes: TPMASession
        var hmac: [UInt8]
    }

    private func parseSessions(_ reader: inout TPMReader) throws(TPMResponseCode) -> [SessionInput] {
        guard let authSize = try? reader.u32("authorizationSize") else { throw TPMResponseCode.insufficient }
        guard authSize <= reader.remaining, authSize >= 9 else { throw TPMResponseCode.authSize }
        var area = TPMReader(try! reader.bytes(Int(authSize), "authorizationArea"))
        var result: [SessionInput] = []
        while !area.isAtEnd {
            // At most three sessions (Part 1 §19.6.1); the reference code rejects a fourth
            // with TPM_RC_SIZE naming it.
            guard result.count < 3 else { throw TPMResponseCode.size.session(result.count + 1) }
            let index = result.count + 1
            do {
                let handle = try TPMHandle(from: &area)
                // TPMI_SH_AUTH_SESSION (Part 2 §9.8): TPM_RS_PW or an HMAC or policy session.
                guard handle == .password || handle.kind == .hmacSession || handle.kind == .policySession else {
                    throw TPMResponseCode.value.session(index)
                }
                let nonce = try area.sized("nonceCaller", maximum: TPMLimits.maxDigest)
                let attributes = TPMASession(rawValue: try area.u8("sessionAttributes"))
                let hmac = try area.sized("hmac", maximum: TPMLimits.maxDigest)
                guard attributes.intersection(.reserved).isEmpty else { throw TPMResponseCode.reservedBits.session(index) }
                result.append(SessionInput(handle: handle, nonceCaller: nonce, attributes: attributes, hmac: hmac))
            } catch let error as TPMMarshalError {
                throw CommandContext.responseCode(for: error, selectorCode: .value).session(index)
            } catch let error as TPMResponseCode {
                throw error
            } catch {
                throw TPMResponseCode.authSize
            }
        }
        return result
    }
}
