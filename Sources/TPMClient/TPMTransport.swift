import Foundation
import TPM2
import VirtualTPM

/// Carries one TPM command frame (TPM 2.0 Part 3 §5.1 command header, handles, authorization
/// area and parameters) to a TPM and returns its response frame (Part 3 §5.2).
public protocol TPMTransport: Sendable {
    func send(_ command: [UInt8]) throws(TPMClientError) -> [UInt8]
}

/// Sends command frames (TPM 2.0 Part 3 §5) straight to an in-process `TPMEngine` at a fixed
/// locality.
public struct EngineTransport: TPMTransport {
    public let engine: TPMEngine
    public let locality: UInt8

    public init(engine: TPMEngine, locality: UInt8 = 0) {
        self.engine = engine
        self.locality = locality
    }

    public func send(_ command: [UInt8]) throws(TPMClientError) -> [UInt8] {
        engine.execute(command, locality: locality)
    }
}

/// Carries Part 3 §5 command and response frames over the Microsoft TPM simulator protocol
/// (tpm2-tss `mssim` TCTI): on the command port each command is TPM_SEND_COMMAND (8), a
/// locality byte, a UINT32 size and the frame; the reply is a UINT32 size, the response frame
/// and a UINT32 0. The platform port (command port + 1) takes UINT32 signals such as POWER_ON
/// (1) and NV_ON (11), each acknowledged with UINT32 0.
public final class MSSimTransport: TPMTransport, @unchecked Sendable {
    static let sendCommand: UInt32 = 8
    static let powerOnSignal: UInt32 = 1
    static let nvOnSignal: UInt32 = 11

    public let host: String
    public let port: UInt16
    public let locality: UInt8
    private let commandChannel: ReusedConnection

    /// A transport to the simulator whose command port is `port` (platform port `port + 1`).
    /// The command connection is opened on first use.
    public init(host: String = "127.0.0.1", port: UInt16, locality: UInt8 = 0) {
        self.host = host
        self.port = port
        self.locality = locality
        commandChannel = ReusedConnection(protocolName: "mssim", host: host, port: port)
    }

    /// Sends POWER_ON and NV_ON on the platform port, as tpm2-tss does before TPM2_Startup.
    public func powerOn() throws(TPMClientError) {
        do {
            let platform = try Connection.connect(host: host, port: port + 1)
            for signal in [Self.powerOnSignal, Self.nvOnSignal] {
                try platform.writeU32(signal)
                let ack = try platform.readU32()
                guard ack == 0 else { throw TPMClientError.transport("mssim platform signal \(signal) answered \(ack)") }
            }
        } catch let error as VTPMTransportError {
            throw .transport("mssim platform port \(host):\(port + 1): \(error)")
        } catch let error as TPMClientError {
            throw error
        } catch {
            throw .transport("\(error)")
        }
    }

    public func send(_ command: [UInt8]) throws(TPMClientError) -> [UInt8] {
        try commandChannel.exchange { connection throws(VTPMTransportError) in
            try connection.write(Connection.u32(Self.sendCommand) + [locality] + Connection.u32(UInt32(command.count)) + command)
            let size = try connection.readU32()
            guard size <= ReusedConnection.maxResponse else { throw .socket("mssim response size \(size)", errno: EPROTO) }
            let response = try connection.read(exactly: Int(size))
            _ = try connection.readU32()
            return response
        }
    }
}

/// Carries Part 3 §5 frames over the swtpm data channel on TCP: bare command frames in, bare
/// response frames out, each response's length taken from its header (Part 3 §5.2
/// responseSize).
public final class SwtpmTransport: TPMTransport, @unchecked Sendable {
    public let host: String
    public let port: UInt16
    private let dataChannel: ReusedConnection

    public init(host: String = "127.0.0.1", port: UInt16) {
        self.host = host
        self.port = port
        dataChannel = ReusedConnection(protocolName: "swtpm", host: host, port: port)
    }

    public func send(_ command: [UInt8]) throws(TPMClientError) -> [UInt8] {
        try dataChannel.exchange { connection throws(VTPMTransportError) in
            try connection.write(command)
            return try connection.readTPMFrame(maximum: ReusedConnection.maxResponse)
        }
    }
}

/// Carries Part 3 §5 frames to a TPM character device, such as Linux's `/dev/tpmrm0` (the
/// kernel's resource manager) or `/dev/tpm0`: the whole command in one write(2), since the Linux
/// TPM driver takes a command only in a single write, then reads until as many bytes as the
/// response's own responseSize (Part 3 §5.2) have arrived. The device is opened on first use and
/// reopened after a failed exchange, which may have left a response unread.
public final class DeviceTransport: TPMTransport, @unchecked Sendable {
    /// The device path, or a description of the descriptor the transport was given.
    public let path: String
    private let reopens: Bool
    private let lock = NSLock()
    private var descriptor: Int32?

    /// A transport to the TPM device at `path`.
    public init(path: String = "/dev/tpmrm0") {
        self.path = path
        reopens = true
    }

    /// A transport over a descriptor that is already open (one end of a socket pair, say), named
    /// `name` in errors; it is closed when the transport is released.
    public init(fileDescriptor: Int32, name: String) {
        path = name
        reopens = false
        descriptor = fileDescriptor
    }

    deinit {
        if let descriptor { close(descriptor) }
    }

    public func send(_ command: [UInt8]) throws(TPMClientError) -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        let fd: Int32
        if let descriptor {
            fd = descriptor
        } else {
            fd = open(path, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { throw .transport("open \(path): \(String(cString: strerror(errno)))") }
            descriptor = fd
        }
        do {
            return try Self.exchange(command, on: fd)
        } catch {
            if reopens {
                close(fd)
                descriptor = nil
            }
            throw .transport("\(path): \(error)")
        }
    }

    private static func exchange(_ command: [UInt8], on fd: Int32) throws(VTPMTransportError) -> [UInt8] {
        var written: Int
        repeat {
            written = command.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        } while written < 0 && errno == EINTR
        guard written >= 0 else { throw .socket("write", errno: errno) }
        guard written == command.count else { throw .socket("write of \(command.count) bytes took only \(written)", errno: EIO) }
        var response: [UInt8] = []
        var expected = 10
        var chunk = [UInt8](repeating: 0, count: 4096)
        while response.count < expected {
            let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if got < 0, errno == EINTR { continue }
            guard got >= 0 else { throw .socket("read", errno: errno) }
            guard got > 0 else { throw .closed }
            response += chunk[..<got]
            if response.count >= 10 {
                expected = Int(response[2...5].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
                guard (10...ReusedConnection.maxResponse).contains(expected) else { throw .socket("response size \(expected)", errno: EPROTO) }
            }
        }
        guard response.count == expected else { throw .socket("\(response.count - expected) bytes after the response", errno: EPROTO) }
        return response
    }
}

/// A TCP connection opened on first use, reused for later exchanges, and dropped after a
/// failure so that the next exchange reconnects. Exchanges are serialized. It reads ahead: the
/// server sends nothing but replies, so a reply usually takes one read.
final class ReusedConnection: @unchecked Sendable {
    static let maxResponse = 0x10000

    let protocolName: String
    let host: String
    let port: UInt16
    private let lock = NSLock()
    private var connection: Connection?

    init(protocolName: String, host: String, port: UInt16) {
        self.protocolName = protocolName
        self.host = host
        self.port = port
    }

    func exchange(_ body: (Connection) throws(VTPMTransportError) -> [UInt8]) throws(TPMClientError) -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        do {
            let connection = try self.connection ?? Connection.connect(host: host, port: port)
            connection.readsAhead = true
            self.connection = connection
            return try body(connection)
        } catch {
            connection = nil
            throw .transport("\(protocolName) \(host):\(port): \(error)")
        }
    }
}
