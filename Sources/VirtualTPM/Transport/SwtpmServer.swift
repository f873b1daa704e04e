import Foundation
import Logging
import TPM2

/// The swtpm socket protocol (swtpm's `tpm_ioctl.h` "commands used by the non-CUSE TPMs"): a
/// data channel that carries bare TPM command frames, and a control channel of big-endian
/// CMD_* requests whose replies hold only the `resp` part of the ioctl structures. This is
/// what tpm2-tss's `swtpm` TCTI and QEMU's `tpm-emulator` backend speak.
public final class SwtpmServer: @unchecked Sendable {
    enum Control: UInt32 {
        case getCapability = 1, initialize, shutdown, getTPMEstablished, setLocality
        case hashStart, hashData, hashEnd, cancelTPMCommand, storeVolatile, resetTPMEstablished
        case getStateBlob, setStateBlob, stop, getConfig, setDataFD, setBufferSize, getInfo
    }

    /// PTM_CAP_* bits of the control commands this server implements.
    static let capabilities: UInt64 = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x400 | 0x800 | 0x1000 | 0x2000 | 0x4000
    /// TPM 1.2-style result codes used by the control channel.
    static let resultSuccess: UInt32 = 0
    static let resultBadLocality: UInt32 = 0x3D
    static let resultFail: UInt32 = 0x09
    static let bufferSize: UInt32 = 4096

    let engine: TPMEngine
    let dataListener: Listener?
    let controlListener: Listener
    let logger: Logger
    let onStop: @Sendable () -> Void
    /// How long the data channel polls for the next command before it blocks (see
    /// `Connection.pollBeforeBlocking`).
    let pollBeforeBlocking: Duration
    private let localityLock = NSLock()
    private var locality: UInt8 = 0

    public init(engine: TPMEngine, data: ListenAddress?, control: ListenAddress, logger: Logger, pollBeforeBlocking: Duration = .zero,
                onStop: @escaping @Sendable () -> Void) throws(VTPMTransportError) {
        self.engine = engine
        self.dataListener = try data.map { address throws(VTPMTransportError) in try Listener(address) }
        self.controlListener = try Listener(control)
        self.logger = logger
        self.pollBeforeBlocking = pollBeforeBlocking
        self.onStop = onStop
    }

    var currentLocality: UInt8 { localityLock.withLock { locality } }

    public func start() {
        let server = self
        if let data = dataListener {
            AcceptLoop(data) { server.serveData($0) }.start()
        }
        AcceptLoop(controlListener) { server.serveControl($0) }.start()
    }

    func serveData(_ connection: Connection) {
        connection.readsAhead = true
        connection.pollBeforeBlocking = pollBeforeBlocking
        do {
            while true {
                let frame: [UInt8]
                do {
                    frame = try connection.readTPMFrame(maximum: Int(Self.bufferSize) * 2)
                } catch let VTPMTransportError.frameSize(size, _) {
                    logger.warning("swtpm: bad command frame size, closing", metadata: ["size": "\(size)"])
                    try connection.write(TPMEngine.errorResponse(.commandSize))
                    return
                }
                try connection.write(engine.execute(frame, locality: currentLocality))
            }
        } catch {
            logger.debug("swtpm data connection ended", metadata: ["reason": "\(error)"])
        }
    }

    func serveControl(_ connection: Connection) {
        do {
            while true {
                var request = try ControlRequest(connection)
                let passedDescriptor = request.descriptor
                guard let command = Control(rawValue: request.code) else {
                    if let passedDescriptor { close(passedDescriptor) }
                    logger.warning("swtpm: unknown control command, closing", metadata: ["code": "\(request.code)"])
                    return
                }
                if let passedDescriptor, command != .setDataFD { close(passedDescriptor) }
                logger.trace("swtpm control command", metadata: ["command": "\(command)"])
                var reply: [UInt8] = []
                func u32(_ v: UInt32) { reply += [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)] }
                switch command {
                case .getCapability:
                    u32(UInt32(Self.capabilities >> 32))
                    u32(UInt32(Self.capabilities & 0xFFFF_FFFF))
                case .initialize:
                    _ = try request.take(4)
                    engine.powerOff()
                    engine.powerOn()
                    u32(Self.resultSuccess)
                case .shutdown:
                    engine.powerOff()
                    u32(Self.resultSuccess)
                    try connection.write(reply)
                    onStop()
                    return
                case .getTPMEstablished:
                    u32(Self.resultSuccess)
                    reply += [engine.isEstablished ? 1 : 0, 0, 0, 0]
                case .setLocality:
                    let requested = try request.take(1)[0]
                    if requested <= 4 {
                        localityLock.withLock { locality = requested }
                        u32(Self.resultSuccess)
                    } else {
                        u32(Self.resultBadLocality)
                    }
                case .hashStart:
                    engine.hashStart()
                    u32(Self.resultSuccess)
                case .hashData:
                    let length = Int(try request.takeU32())
                    guard length <= Int(Self.bufferSize) else { return }
                    engine.hashData(try request.take(length))
                    u32(Self.resultSuccess)
                case .hashEnd:
                    engine.hashEnd()
                    u32(Self.resultSuccess)
                case .cancelTPMCommand, .storeVolatile:
                    u32(Self.resultSuccess)
                case .resetTPMEstablished:
                    let requested = try request.take(1)[0]
                    if requested >= 3, requested <= 4 {
                        engine.resetEstablished()
                        u32(Self.resultSuccess)
                    } else {
                        u32(Self.resultBadLocality)
                    }
                case .stop:
                    engine.powerOff()
                    u32(Self.resultSuccess)
                case .getConfig:
                    u32(Self.resultSuccess)
                    u32(0)
                case .setBufferSize:
                    _ = try request.takeU32()
                    u32(Self.resultSuccess)
                    u32(Self.bufferSize)
                    u32(Self.bufferSize)
                    u32(Self.bufferSize)
                case .getInfo:
                    let flags = try request.take(16).prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                    let json = Array(Self.info(flags: flags).utf8)
                    u32(Self.resultSuccess)
                    u32(UInt32(json.count))
                    u32(UInt32(json.count))
                    reply += json
                case .setDataFD:
                    // QEMU hands over one end of a socketpair as the data channel (swtpm
                    // ctrlchannel.c, CMD_SET_DATAFD); it is served like any data connection.
                    guard let passedDescriptor else {
                        u32(Self.resultFail)
                        break
                    }
                    let data = Connection(fd: passedDescriptor)
                    let server = self
                    spawn { server.serveData(data) }
                    u32(Self.resultSuccess)
                case .getStateBlob, .setStateBlob:
                    logger.warning("swtpm: unsupported control command, closing", metadata: ["command": "\(command)"])
                    return
                }
                try connection.write(reply)
            }
        } catch {
            logger.debug("swtpm control connection ended", metadata: ["reason": "\(error)"])
        }
    }

    /// One control request. swtpm reads each request with a single read and ignores bytes past
    /// the fields it uses; QEMU relies on that, sending the whole request union (e.g. four bytes
    /// for CMD_SET_LOCALITY's one-byte locality) where tpm2-tss sends only the fields. So the
    /// request is received as one message, fields are taken from it (reading on if a client
    /// split a request), and what is left over is dropped.
    struct ControlRequest {
        /// The CMD_* code.
        let code: UInt32
        /// The descriptor passed with the request (CMD_SET_DATAFD's data channel).
        let descriptor: Int32?
        private let connection: Connection
        private var payload: ArraySlice<UInt8>

        init(_ connection: Connection) throws(VTPMTransportError) {
            let (bytes, descriptor) = try connection.receiveMessage(minimum: 4, maximum: 8 + Int(SwtpmServer.bufferSize))
            self.code = bytes.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
            self.descriptor = descriptor
            self.connection = connection
            self.payload = bytes.dropFirst(4)
        }

        /// The next `count` bytes of the request.
        mutating func take(_ count: Int) throws(VTPMTransportError) -> [UInt8] {
            if payload.count < count { payload += try connection.read(exactly: count - payload.count) }
            defer { payload = payload.dropFirst(count) }
            return Array(payload.prefix(count))
        }

        /// The next big-endian 32-bit field of the request.
        mutating func takeU32() throws(VTPMTransportError) -> UInt32 {
            try take(4).reduce(0) { $0 << 8 | UInt32($1) }
        }
    }

    /// The JSON that swtpm's CMD_GET_INFO returns for the SWTPM_INFO_* flags.
    static func info(flags: UInt64) -> String {
        var parts: [String] = []
        if flags & 1 != 0 { parts.append(#""TPMSpecification":{"family":"2.0","level":0,"revision":159}"#) }
        if flags & 2 != 0 { parts.append(#""TPMAttributes":{"manufacturer":"id:434D564B","version":"id:00010000","model":"cvmkit-vtpm"}"#) }
        return "{" + parts.joined(separator: ",") + "}"
    }

    public func stop() {
        dataListener?.shutdownListener()
        controlListener.shutdownListener()
    }
}
