import Logging
import TPM2

/// The Microsoft TPM 2.0 simulator protocol (the reference simulator's TcpServer.c, as
/// tpm2-tss's `mssim` TCTI speaks it): a command port carrying TPM_SEND_COMMAND frames with a
/// locality, and a platform port carrying power, NV, cancel and H-CRTM signals. Integers are
/// big-endian; every platform signal is acknowledged with a zero UINT32.
public final class MSSimServer: @unchecked Sendable {
    enum Signal: UInt32 {
        case powerOn = 1, powerOff = 2, physicalPresenceOn = 3, physicalPresenceOff = 4
        case hashStart = 5, hashData = 6, hashEnd = 7, sendCommand = 8
        case cancelOn = 9, cancelOff = 10, nvOn = 11, nvOff = 12, keyCacheOn = 13, keyCacheOff = 14
        case remoteHandshake = 15, setAlternativeResult = 16, reset = 17, restart = 18
        case sessionEnd = 20, stop = 21
    }

    static let maxFrame = 8192

    let engine: TPMEngine
    let commandListener: Listener
    let platformListener: Listener
    let logger: Logger
    let onStop: @Sendable () -> Void
    /// How long the command port polls for the next command before it blocks (see
    /// `Connection.pollBeforeBlocking`).
    let pollBeforeBlocking: Duration

    public init(engine: TPMEngine, command: ListenAddress, platform: ListenAddress, logger: Logger, pollBeforeBlocking: Duration = .zero,
                onStop: @escaping @Sendable () -> Void) throws(VTPMTransportError) {
        self.engine = engine
        self.commandListener = try Listener(command)
        self.platformListener = try Listener(platform)
        self.logger = logger
        self.pollBeforeBlocking = pollBeforeBlocking
        self.onStop = onStop
    }

    public var commandPort: UInt16? { commandListener.boundPort }

    public func start() {
        let server = self
        AcceptLoop(commandListener) { server.serveCommands($0) }.start()
        AcceptLoop(platformListener) { server.servePlatform($0) }.start()
    }

    func serveCommands(_ connection: Connection) {
        connection.acknowledgesEachRead = true
        connection.readsAhead = true
        connection.pollBeforeBlocking = pollBeforeBlocking
        do {
            while true {
                let raw = try connection.readU32()
                switch Signal(rawValue: raw) {
                case .sendCommand:
                    let locality = try connection.read(exactly: 1)[0]
                    guard let frame = try readSizedFrame(connection) else { return }
                    let response = engine.execute(frame, locality: locality)
                    // The size, the response and the trailing zero in one write.
                    try connection.write(Connection.u32(UInt32(response.count)) + response + Connection.u32(0))
                case .remoteHandshake:
                    _ = try connection.readU32()
                    try connection.write(Connection.u32(1) + Connection.u32(1) + Connection.u32(0))
                case .sessionEnd:
                    return
                case .stop:
                    onStop()
                    return
                default:
                    logger.warning("mssim: unknown command-port request, closing", metadata: ["code": "\(raw)"])
                    return
                }
            }
        } catch {
            logger.debug("mssim command connection ended", metadata: ["reason": "\(error)"])
        }
    }

    /// A UINT32 size and that many bytes; nil (after logging why) when the size is over the
    /// limit, and the caller then closes the connection.
    private func readSizedFrame(_ connection: Connection) throws(VTPMTransportError) -> [UInt8]? {
        let size = Int(try connection.readU32())
        guard size <= Self.maxFrame else {
            logger.warning("mssim: oversized frame, closing", metadata: ["size": "\(size)", "maximum": "\(Self.maxFrame)"])
            return nil
        }
        return try connection.read(exactly: size)
    }

    func servePlatform(_ connection: Connection) {
        connection.acknowledgesEachRead = true
        do {
            while true {
                let raw = try connection.readU32()
                guard let signal = Signal(rawValue: raw) else {
                    logger.warning("mssim: unknown platform signal, closing", metadata: ["code": "\(raw)"])
                    return
                }
                switch signal {
                case .powerOn:
                    if !engine.isPoweredOn { engine.powerOn() }
                case .powerOff:
                    engine.powerOff()
                case .reset, .restart:
                    engine.powerOff()
                    engine.powerOn()
                case .hashStart:
                    engine.hashStart()
                case .hashData:
                    guard let data = try readSizedFrame(connection) else { return }
                    engine.hashData(data)
                case .hashEnd:
                    engine.hashEnd()
                case .sessionEnd:
                    return
                case .stop:
                    onStop()
                    return
                default:
                    break
                }
                try connection.writeU32(0)
            }
        } catch {
            logger.debug("mssim platform connection ended", metadata: ["reason": "\(error)"])
        }
    }

    public func stop() {
        commandListener.shutdownListener()
        platformListener.shutdownListener()
    }
}
