import Testing
import TPM2
import TPMClient
import TPMFuzzing
import VirtualTPM

/// Malformed command frames get the response code TPM 2.0 Part 3 §5 (command header, handle
/// area and session area validation) and the Part 2 interface types name. Every expected code
/// below was also checked against swtpm 0.7.1 (libtpms) with the same frames over its TCP data
/// channel, except where a comment says libtpms differs and for the frames shorter than their
/// own header, which a stream transport cannot delimit (swtpm waits for more bytes).
@Suite struct MalformedInputTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let frame: [UInt8]
        let code: UInt32
        var testDescription: String { name }
    }

    static func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(truncatingIfNeeded: v)] }
    static func u32(_ v: UInt32) -> [UInt8] { u16(UInt16(v >> 16)) + u16(UInt16(truncatingIfNeeded: v)) }

    /// tag || commandSize (the frame's length unless given) || commandCode || body.
    static func frame(_ tag: UInt16, _ code: UInt32, _ body: [UInt8] = [], size: UInt32? = nil) -> [UInt8] {
        u16(tag) + u32(size ?? UInt32(10 + body.count)) + u32(code) + body
    }

    static let noSessions: UInt16 = 0x8001, sessions: UInt16 = 0x8002
    /// TPMS_AUTH_COMMAND for TPM_RS_PW with an empty password and continueSession.
    static func authCommand(handle: UInt32 = 0x4000_0009, nonce: [UInt8] = [], attributes: UInt8 = 0x01) -> [UInt8] {
        u32(handle) + u16(UInt16(nonce.count)) + nonce + [attributes] + u16(0)
    }
    static func authArea(_ sessions: [UInt8]...) -> [UInt8] {
        let area = sessions.flatMap { $0 }
        return u32(UInt32(area.count)) + area
    }
    /// PCR_Extend(PCR 16) with an empty TPML_DIGEST_VALUES after the given authorization area.
    static func pcrExtend16(_ area: [UInt8]) -> [UInt8] { frame(sessions, 0x182, u32(16) + area + u32(0)) }

    static let cases: [Case] = [
        // Command header (Part 3 §5.3).
        Case(name: "empty frame", frame: [], code: 0x09A),
        Case(name: "one byte", frame: [0x80], code: 0x09A),
        Case(name: "header without command code", frame: [0x80, 0x01, 0, 0, 0, 8, 0, 0], code: 0x09A),
        Case(name: "short frame with bad tag", frame: [0x12, 0x34, 0, 0, 0, 6], code: 0x01E),
        Case(name: "commandSize larger than frame", frame: frame(noSessions, 0x17B, u16(8), size: 13), code: 0x142),
        Case(name: "commandSize smaller than frame", frame: frame(noSessions, 0x17B, u16(8), size: 11), code: 0x142),
        // TPMI_ST_COMMAND_TAG is #TPM_RC_BAD_TAG (Part 2 §9.35); libtpms answers TPM_RC_VALUE for 0x8003.
        Case(name: "tag 0x8003", frame: frame(0x8003, 0x17B, u16(8)), code: 0x01E),
        Case(name: "tag TPM_ST_RSP_COMMAND", frame: frame(0x00C4, 0x17B, u16(8)), code: 0x01E),
        Case(name: "unknown command code", frame: frame(noSessions, 0x1FF), code: 0x143),
        Case(name: "vendor command code", frame: frame(noSessions, 0x2000_0000), code: 0x143),
        Case(name: "Startup after Startup", frame: frame(noSessions, 0x144, u16(0)), code: 0x100),
        // Parameters (Part 3 §5.7): TPM_RC_INSUFFICIENT / TPM_RC_SIZE naming the parameter.
        Case(name: "GetRandom without bytesRequested", frame: frame(noSessions, 0x17B), code: 0x1DA),
        Case(name: "GetRandom with half a parameter", frame: frame(noSessions, 0x17B, [0]), code: 0x1DA),
        Case(name: "Hash data TPM2B of 1025 bytes", frame: frame(noSessions, 0x17D, u16(1025) + [UInt8](repeating: 0, count: 1025) + u16(0x000B) + u32(0x4000_0007)), code: 0x1D5),
        Case(name: "StirRandom TPM2B of 129 bytes", frame: frame(noSessions, 0x146, u16(129) + [UInt8](repeating: 0, count: 129)), code: 0x1D5),
        Case(name: "TPM2B size beyond the frame", frame: frame(noSessions, 0x146, u16(16) + [0, 0, 0, 0]), code: 0x1DA),
        Case(name: "trailing bytes after parameters", frame: frame(noSessions, 0x17B, u16(8) + [0, 0]), code: 0x095),
        Case(name: "PCR_Read with unknown hash", frame: frame(noSessions, 0x17E, u32(1) + u16(0x0099) + [3, 1, 0, 0]), code: 0x1C3),
        Case(name: "PCR_Read with sizeofSelect 9", frame: frame(noSessions, 0x17E, u32(1) + u16(0x000B) + [9] + [UInt8](repeating: 1, count: 9)), code: 0x1C4),
        Case(name: "PCR_Read with 17 selections", frame: frame(noSessions, 0x17E, u32(17)), code: 0x1D5),
        // Handle area (Part 3 §5.4).
        Case(name: "ReadPublic with a truncated handle", frame: frame(noSessions, 0x173, [0x80]), code: 0x19A),
        Case(name: "ReadPublic of an unloaded transient object", frame: frame(noSessions, 0x173, u32(0x8000_0000)), code: 0x910),
        Case(name: "ReadPublic of an absent persistent object", frame: frame(noSessions, 0x173, u32(0x81FF_FFF0)), code: 0x18B),
        Case(name: "PolicyGetDigest of an unloaded session", frame: frame(noSessions, 0x189, u32(0x0300_0005)), code: 0x910),
        Case(name: "NV_Read of an undefined index", frame: frame(sessions, 0x14E, u32(0x01FF_FFF0) + u32(0x01FF_FFF0) + authArea(authCommand()) + u16(4) + u16(0)), code: 0x18B),
        Case(name: "PCR_Extend of PCR 99", frame: frame(sessions, 0x182, u32(99) + authArea(authCommand()) + u32(0)), code: 0x184),
        Case(name: "CreatePrimary under a reserved hierarchy", frame: frame(sessions, 0x131, u32(0x4000_0002) + authArea(authCommand()) + u16(4) + u32(0) + u16(0) + u16(0) + u32(0)), code: 0x184),
        // Handles of the wrong interface type (Part 2 §9) fail unmarshaling: TPM_RC_VALUE + H.
        Case(name: "ReadPublic of a permanent handle", frame: frame(noSessions, 0x173, u32(0x4000_0001)), code: 0x184),
        Case(name: "PolicyGetDigest of an HMAC session handle", frame: frame(noSessions, 0x189, u32(0x0200_0005)), code: 0x184),
        Case(name: "PolicyGetDigest of a transient handle", frame: frame(noSessions, 0x189, u32(0x8000_0000)), code: 0x184),
        Case(name: "CreatePrimary under a transient handle", frame: frame(sessions, 0x131, u32(0x8000_0000) + authArea(authCommand()) + u16(4) + u32(0) + u16(0) + u16(0) + u32(0)), code: 0x184),
        Case(name: "NV_Read with transient handles", frame: frame(sessions, 0x14E, u32(0x8000_0000) + u32(0x8000_0000) + authArea(authCommand()) + u16(4) + u16(0)), code: 0x184),
        Case(name: "FlushContext of a permanent handle", frame: frame(noSessions, 0x165, u32(0x4000_0001)), code: 0x1C4),
        Case(name: "FlushContext of an unloaded transient object", frame: frame(noSessions, 0x165, u32(0x8000_0000)), code: 0x1CB),
        // Session area (Part 3 §5.5). Part 3 names TPM_RC_AUTHSIZE for an authorizationSize out
        // of range; libtpms answers TPM_RC_SIZE.
        Case(name: "authorizationSize 0", frame: pcrExtend16(u32(0)), code: 0x144),
        Case(name: "authorizationSize beyond the frame", frame: frame(sessions, 0x182, u32(16) + u32(100) + authCommand() + u32(0)), code: 0x144),
        Case(name: "authorizationSize missing", frame: frame(sessions, 0x17B, u16(8)), code: 0x09A),
        Case(name: "authorization missing (no-sessions tag)", frame: frame(noSessions, 0x182, u32(16) + u32(0)), code: 0x125),
        Case(name: "session handle not loaded", frame: pcrExtend16(authArea(authCommand(handle: 0x0200_0000))), code: 0x918),
        Case(name: "session handle is a permanent handle", frame: pcrExtend16(authArea(authCommand(handle: 0x4000_0001))), code: 0x984),
        Case(name: "session handle is a transient handle", frame: pcrExtend16(authArea(authCommand(handle: 0x8000_0000))), code: 0x984),
        Case(name: "reserved session attribute bits", frame: pcrExtend16(authArea(authCommand(attributes: 0x19))), code: 0x9A1),
        Case(name: "nonceCaller of 65 bytes", frame: pcrExtend16(authArea(authCommand(nonce: [UInt8](repeating: 0, count: 65)))), code: 0x995),
        Case(name: "trailing byte in the session area", frame: pcrExtend16(authArea(authCommand(), [0])), code: 0xA9A),
        Case(name: "four sessions", frame: pcrExtend16(authArea(authCommand(), authCommand(), authCommand(), authCommand())), code: 0xC95),
    ]

    @Test(arguments: cases)
    func malformedFrameGetsTheSpecifiedCode(_ testCase: Case) throws {
        let tpm = try StartedTPM()
        let response = try tpm.client.sendRaw(testCase.frame)
        #expect(FuzzCampaign.responseProblem(response) == nil)
        #expect(response == Self.frame(Self.noSessions, testCase.code), "got \(response)")
        #expect(try tpm.client.getRandom(8).count == 8)
    }

    @Test func commandsBeforeStartupAreRefused() throws {
        let engine = try TPMEngine(mode: .ephemeral)
        engine.powerOn()
        let client = TPM2Client(transport: EngineTransport(engine: engine))
        #expect(throws: TPMClientError.tpm(command: "TPM2_GetRandom", code: .initialize)) { try client.getRandom(8) }
    }
}
