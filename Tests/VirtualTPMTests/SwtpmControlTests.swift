import Crypto
import Foundation
import Logging
import Testing
import TPM2
import TPMClient
import VirtualTPM

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The swtpm control channel as QEMU's tpm-emulator backend (backends/tpm/tpm_emulator.c)
/// drives it, and the capability answers Linux's TPM driver needs before it exposes PCRs.
@Suite struct SwtpmControlTests {
    /// A control-channel client over a Unix socket, writing each request in one piece as QEMU
    /// and tpm2-tss do.
    final class ControlClient {
        let fd: Int32

        init(path: String) throws {
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            try #require(connected == 0, "connect \(path): errno \(errno)")
        }

        deinit { close(fd) }

        /// Sends CMD_`code` with `payload` and returns the `replySize`-byte reply.
        func request(_ code: UInt32, _ payload: [UInt8] = [], replySize: Int) throws -> [UInt8] {
            let message = [UInt8(code >> 24), UInt8(code >> 16 & 0xFF), UInt8(code >> 8 & 0xFF), UInt8(code & 0xFF)] + payload
            try #require(message.withUnsafeBytes { send(fd, $0.baseAddress, message.count, 0) } == message.count)
            var reply = [UInt8](repeating: 0, count: replySize)
            var received = 0
            while received < replySize {
                let n = reply.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + received, replySize - received, 0) }
                try #require(n > 0, "control channel closed after \(received) of \(replySize) reply bytes")
                received += n
            }
            return reply
        }
    }

    /// CMD_* codes (swtpm tpm_ioctl.h).
    enum Command: UInt32 {
        case getCapability = 1, initialize = 2, getTPMEstablished = 4, setLocality = 5
        case hashStart = 6, hashData = 7, hashEnd = 8, resetTPMEstablished = 11
    }

    static let success: [UInt8] = [0, 0, 0, 0]

    /// An engine served on a fresh Unix control socket, and a client connected to it.
    static func served() throws -> (TPMEngine, SwtpmServer, ControlClient) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swtpm-ctrl-\(UUID().uuidString.prefix(8))").path
        let engine = try TPMEngine(mode: .ephemeral)
        engine.powerOn()
        let server = try SwtpmServer(engine: engine, data: nil, control: .unix(path: path), logger: Logger(label: "test"), onStop: {})
        server.start()
        return (engine, server, try ControlClient(path: path))
    }

    @Test func qemuSizedRequestsKeepTheChannelInStep() throws {
        let (engine, server, client) = try Self.served()
        defer { server.stop() }
        // QEMU sends sizeof(ptm_loc) and sizeof(ptm_reset_est), four bytes, for one-byte fields;
        // the padding must not be read as the next command.
        #expect(try client.request(Command.setLocality.rawValue, [3, 0, 0, 0], replySize: 4) == Self.success)
        #expect(try client.request(Command.getCapability.rawValue, replySize: 8) != [UInt8](repeating: 0, count: 8))
        #expect(try client.request(Command.resetTPMEstablished.rawValue, [3, 0, 0, 0], replySize: 4) == Self.success)
        #expect(try client.request(Command.getTPMEstablished.rawValue, replySize: 8) == Self.success + [0, 0, 0, 0])
        // tpm2-tss sends the bare one-byte field.
        #expect(try client.request(Command.setLocality.rawValue, [0], replySize: 4) == Self.success)
        #expect(try client.request(Command.setLocality.rawValue, [5, 0, 0, 0], replySize: 4) == [0, 0, 0, 0x3D])
        #expect(!engine.isEstablished)
    }

    @Test func hcrtmSequenceStartsPCR0AtLocality4AndSetsEstablished() throws {
        let (engine, server, client) = try Self.served()
        defer { server.stop() }
        let crtm = Array("H-CRTM code".utf8)
        #expect(try client.request(Command.initialize.rawValue, [0, 0, 0, 0], replySize: 4) == Self.success)
        #expect(try client.request(Command.hashStart.rawValue, replySize: 4) == Self.success)
        let length = UInt32(crtm.count)
        #expect(try client.request(Command.hashData.rawValue, [0, 0, 0, UInt8(length)] + crtm, replySize: 4) == Self.success)
        #expect(try client.request(Command.hashEnd.rawValue, replySize: 4) == Self.success)
        #expect(try client.request(Command.getTPMEstablished.rawValue, replySize: 8) == Self.success + [1, 0, 0, 0])

        let tpm = TPM2Client(transport: EngineTransport(engine: engine))
        try tpm.startup(.clear)
        let read = try tpm.pcrRead(TPMLPCRSelection([TPMSPCRSelection(hash: .sha256, indices: [0])]))
        let localityFour = [UInt8](repeating: 0, count: 31) + [4]
        #expect(read.digests.first == sha256(localityFour, sha256(crtm)))
    }

    /// Linux (tpm2_get_cc_attrs_tbl) asks for TPM_PT_TOTAL_COMMANDS commands in one
    /// TPM2_GetCapability and goes to "firmware upgrade" mode, without PCR banks, if fewer come.
    @Test func oneGetCapabilityListsEveryCommand() throws {
        let tpm = try StartedTPM()
        func getCapability(_ capability: UInt32, _ property: UInt32, _ count: UInt32) -> [UInt8] {
            var command: [UInt8] = [0x80, 0x01, 0, 0, 0, 22, 0, 0, 0x01, 0x7A]
            for value in [capability, property, count] { command += withUnsafeBytes(of: value.bigEndian, Array.init) }
            return tpm.engine.execute(command)
        }
        func u32(_ bytes: [UInt8], at offset: Int) -> UInt32 { bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) } }

        let totalCommands = u32(getCapability(6, 0x129, 1), at: 23) // TPM_CAP_TPM_PROPERTIES, TPM_PT_TOTAL_COMMANDS
        let response = getCapability(2, 0x11F, totalCommands) // TPM_CAP_COMMANDS from TPM_CC_FIRST
        #expect(u32(response, at: 6) == 0)
        #expect(response[10] == 0, "moreData")
        #expect(u32(response, at: 15) == totalCommands)
        #expect(totalCommands > 64)
    }
}
