import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Errors of the vTPM's socket transports.
public enum VTPMTransportError: Error, CustomStringConvertible, Sendable {
    case badAddress(String)
    case socket(String, errno: Int32)
    case closed
    case frameSize(Int, maximum: Int)

    public var description: String {
        switch self {
        case let .badAddress(text): return "bad listen address '\(text)': use tcp:HOST:PORT or unix:PATH"
        case let .socket(call, code): return "\(call) failed: \(String(cString: strerror(code)))"
        case .closed: return "connection closed"
        case let .frameSize(size, maximum): return "frame size \(size) is outside 10...\(maximum)"
        }
    }
}

/// Where a server listens: a TCP address or a Unix socket path.
public enum ListenAddress: Sendable, Equatable, CustomStringConvertible {
    case tcp(host: String, port: UInt16)
    case unix(path: String)

    /// Parses `tcp:HOST:PORT`, `unix:PATH`, or a bare port number (loopback).
    public init(parsing text: String) throws(VTPMTransportError) {
        if let port = UInt16(text) {
            self = .tcp(host: "127.0.0.1", port: port)
        } else if text.hasPrefix("unix:"), text.count > 5 {
            self = .unix(path: String(text.dropFirst(5)))
        } else if text.hasPrefix("tcp:"), let colon = text.lastIndex(of: ":"), colon > text.index(text.startIndex, offsetBy: 3),
                  let port = UInt16(text[text.index(after: colon)...]) {
            self = .tcp(host: String(text[text.index(text.startIndex, offsetBy: 4)..<colon]), port: port)
        } else {
            throw .badAddress(text)
        }
    }

    public var description: String {
        switch self {
        case let .tcp(host, port): "tcp:\(host):\(port)"
        case let .unix(path): "unix:\(path)"
        }
    }
}

/// A listening socket (POSIX). The vTPM protocols are small blocking request/response
/// exchanges, so each connection is served by one thread doing blocking reads and writes: a
/// command then costs one read(2) and one send(2), with no readiness polling in between. They
/// also need Unix-socket descriptor passing (swtpm's CMD_SET_DATAFD), which is why this is plain
/// POSIX rather than an event loop.
final class Listener: @unchecked Sendable {
    let fd: Int32
    let address: ListenAddress
    /// Set by `shutdownListener`. The descriptor itself stays open until the listener is
    /// released: an accept loop's thread may still be on its way to accept(2), and on a closed
    /// descriptor whose number the process had reused it would take another listener's clients.
    private let stopped = Atomic(false)

    init(_ address: ListenAddress) throws(VTPMTransportError) {
        // Set up in a local descriptor, closed on failure, so that the listener (whose deinit
        // closes `fd`) exists only once it listens.
        let descriptor: Int32
        switch address {
        case let .tcp(host, port):
            descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { throw .socket("socket", errno: errno) }
            var one: Int32 = 1
            setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            guard inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &addr.sin_addr) == 1 else {
                close(descriptor)
                throw .badAddress(address.description)
            }
            let result = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard result == 0 else {
                let code = errno
                close(descriptor)
                throw .socket("bind \(address)", errno: code)
            }
        case let .unix(path):
            descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { throw .socket("socket", errno: errno) }
            unlink(path)
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
                close(descriptor)
                throw .badAddress(address.description)
            }
            withUnsafeMutableBytes(of: &addr.sun_path) { buffer in
                for (i, byte) in bytes.enumerated() { buffer[i] = byte }
            }
            let result = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
            guard result == 0 else {
                let code = errno
                close(descriptor)
                throw .socket("bind \(address)", errno: code)
            }
        }
        guard listen(descriptor, 16) == 0 else {
            let code = errno
            close(descriptor)
            throw .socket("listen", errno: code)
        }
        self.address = address
        self.fd = descriptor
    }

    /// The port actually bound (useful with port 0).
    var boundPort: UInt16? {
        guard case .tcp = address else { return nil }
        var addr = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return result == 0 ? UInt16(bigEndian: addr.sin_port) : nil
    }

    /// The next connection; nil once the listener is shut down.
    func accept() -> Connection? {
        while !stopped.load(ordering: .acquiring) {
            let client = Glibc.accept(fd, nil, nil)
            if client >= 0 { return Connection(fd: client) }
            if errno == EINTR { continue }
            return nil
        }
        return nil
    }

    /// Stops accepting: a thread blocked in accept(2) returns (Linux fails it with EINVAL once
    /// the socket is shut down), and so does every later `accept()`.
    func shutdownListener() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        Glibc.shutdown(fd, Int32(SHUT_RDWR))
        if case let .unix(path) = address { unlink(path) }
    }

    deinit { close(fd) }
}

/// One stream connection (accepted by a server, or opened by `connect`) with exact-length
/// reads and writes.
package final class Connection: @unchecked Sendable {
    let fd: Int32

    init(fd: Int32) {
        self.fd = fd
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit {
        close(fd)
        received.deallocate()
    }

    /// Opens a TCP connection to `host:port` (an IPv4 address such as 127.0.0.1).
    package static func connect(host: String, port: UInt16) throws(VTPMTransportError) -> Connection {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw .badAddress("tcp:\(host):\(port)") }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .socket("socket", errno: errno) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw .socket("connect", errno: code)
        }
        return Connection(fd: fd)
    }

    /// Set on stream connections that carry nothing but framed messages (the swtpm data
    /// channel, the mssim command port, and the client side of both): each read system call
    /// then takes whatever has arrived into a buffer kept for the connection, so a command
    /// usually costs one read instead of one per field. Not for the control channel, whose
    /// messages may carry a file descriptor that must arrive with its bytes.
    package var readsAhead = false
    /// Bytes received ahead of the reader, at `start..<end`; allocated on first use.
    private var received = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private var start = 0
    private var end = 0
    static let readAheadSize = 8192

    /// How long a read that finds nothing buffered keeps trying without blocking before it
    /// sleeps in read(2) (zero: never). A client sending commands back to back has its next one
    /// on the way while the last response is still being read, and catching it without going
    /// to sleep saves the sleep and the wake-up, which on a virtual machine cost as much as
    /// everything else a command does. While polling the thread yields the processor after each
    /// try, so a client that shares it runs; a client that goes quiet costs at most this much
    /// processor time per pause.
    package var pollBeforeBlocking: Duration = .zero

    /// Set for clients that write a request in several small pieces without TCP_NODELAY (the
    /// mssim TCTI): acknowledging at once keeps Nagle's algorithm on their side from waiting
    /// for our delayed ACK, about 40 ms per request. Linux clears the flag after each read, so
    /// it is set again after every read.
    package var acknowledgesEachRead = false

    private func acknowledgeNow() {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_QUICKACK, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// One read(2) into `buffer`, retried on EINTR; a closed peer is `.closed`.
    private func readOnce(into buffer: UnsafeMutableRawPointer, maximum: Int) throws(VTPMTransportError) -> Int {
        while true {
            let n = Glibc.read(fd, buffer, maximum)
            if n == 0 { throw .closed }
            if n < 0 {
                if errno == EINTR { continue }
                throw .socket("read", errno: errno)
            }
            if acknowledgesEachRead { acknowledgeNow() }
            return n
        }
    }

    /// Non-blocking reads into `buffer` until something arrives or `pollBeforeBlocking` has
    /// passed; nil when nothing came.
    private func poll(into buffer: UnsafeMutableRawPointer, maximum: Int) throws(VTPMTransportError) -> Int? {
        let deadline = ContinuousClock.now + pollBeforeBlocking
        repeat {
            let n = recv(fd, buffer, maximum, Int32(MSG_DONTWAIT))
            if n == 0 { throw .closed }
            if n > 0 {
                if acknowledgesEachRead { acknowledgeNow() }
                return n
            }
            guard errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else { throw .socket("recv", errno: errno) }
            sched_yield()
        } while ContinuousClock.now < deadline
        return nil
    }

    /// Reads ahead until at least `count` bytes are buffered.
    private func fill(_ count: Int) throws(VTPMTransportError) {
        while end - start < count {
            if received.count - start < count {
                // Too little room after the unread bytes: move them to the front of a buffer
                // that can hold the whole message.
                let capacity = max(count, Self.readAheadSize)
                let target = capacity > received.count ? UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 8) : received
                if end > start { target.baseAddress!.copyMemory(from: received.baseAddress! + start, byteCount: end - start) }
                if target.baseAddress != received.baseAddress { received.deallocate() }
                received = target
                end -= start
                start = 0
            }
            if pollBeforeBlocking > .zero, let n = try poll(into: received.baseAddress! + end, maximum: received.count - end) {
                end += n
            } else {
                end += try readOnce(into: received.baseAddress! + end, maximum: received.count - end)
            }
        }
    }

    /// Marks `count` buffered bytes as read.
    private func consume(_ count: Int) {
        start += count
        if start == end {
            start = 0
            end = 0
        }
    }

    /// The big-endian UINT32 at `offset` among the buffered bytes.
    private func bufferedU32(at offset: Int) -> UInt32 {
        UInt32(bigEndian: UnsafeRawPointer(received.baseAddress! + start + offset).loadUnaligned(as: UInt32.self))
    }

    package func read(exactly count: Int) throws(VTPMTransportError) -> [UInt8] {
        if readsAhead {
            try fill(count)
            defer { consume(count) }
            return Array(UnsafeRawBufferPointer(rebasing: received[start..<start + count]))
        }
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = buffer.withUnsafeMutableBytes { bytes in
                Result { () throws(VTPMTransportError) in try readOnce(into: bytes.baseAddress! + done, maximum: count - done) }
            }
            done += try got.get()
        }
        return buffer
    }

    /// Reads one TPM command or response frame: a 10-byte header whose UINT32 at offset 2 is
    /// the size of the whole frame (Part 3 §5.1 commandSize, §5.2 responseSize), then the rest.
    /// A size below the header or above `maximum` is `.frameSize`, with the rest left unread.
    package func readTPMFrame(maximum: Int) throws(VTPMTransportError) -> [UInt8] {
        precondition(readsAhead, "readTPMFrame reads from the read-ahead buffer")
        try fill(10)
        let size = Int(bufferedU32(at: 2))
        guard (10...maximum).contains(size) else { throw .frameSize(size, maximum: maximum) }
        return try read(exactly: size)
    }

    /// Receives one message with recvmsg: what the peer wrote, up to `maximum` bytes, reading
    /// on until at least `minimum` have arrived, and a file descriptor passed with it as
    /// SCM_RIGHTS ancillary data (unix(7)), as swtpm's CMD_SET_DATAFD carries one.
    func receiveMessage(minimum: Int, maximum: Int) throws(VTPMTransportError) -> (bytes: [UInt8], descriptor: Int32?) {
        var buffer = [UInt8](repeating: 0, count: maximum)
        // struct cmsghdr { size_t len; int level; int type; } followed by one int, padded: CMSG_SPACE(4).
        var control = [UInt8](repeating: 0, count: 24)
        var received = 0
        var descriptor: Int32?
        while received < minimum {
            let n = buffer.withUnsafeMutableBytes { data in
                control.withUnsafeMutableBytes { ancillary in
                    var vector = iovec(iov_base: data.baseAddress! + received, iov_len: maximum - received)
                    return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                        var message = msghdr()
                        message.msg_iov = vectorPointer
                        message.msg_iovlen = 1
                        message.msg_control = ancillary.baseAddress
                        message.msg_controllen = ancillary.count
                        let n = recvmsg(fd, &message, 0)
                        if n > 0, message.msg_controllen >= 20 {
                            let level = ancillary.load(fromByteOffset: 8, as: Int32.self)
                            let type = ancillary.load(fromByteOffset: 12, as: Int32.self)
                            if level == SOL_SOCKET, type == Int32(SCM_RIGHTS) {
                                descriptor = ancillary.load(fromByteOffset: 16, as: Int32.self)
                            }
                        }
                        return n
                    }
                }
            }
            if n == 0 { throw .closed }
            if n < 0 {
                if errno == EINTR { continue }
                throw .socket("recvmsg", errno: errno)
            }
            received += n
        }
        return (Array(buffer.prefix(received)), descriptor)
    }

    package func readU32() throws(VTPMTransportError) -> UInt32 {
        guard readsAhead else { return try read(exactly: 4).reduce(0) { $0 << 8 | UInt32($1) } }
        try fill(4)
        defer { consume(4) }
        return bufferedU32(at: 0)
    }

    /// Sends all of `bytes`, with one send(2) unless the socket takes less.
    package func write(_ bytes: [UInt8]) throws(VTPMTransportError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .socket("write", errno: errno)
            }
            done += n
        }
    }

    package func writeU32(_ value: UInt32) throws(VTPMTransportError) {
        try write(Self.u32(value))
    }

    /// The big-endian bytes of a UINT32, for building a message to send in one write.
    package static func u32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }

    package func shutdownBoth() { Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
}

/// Serves the connections a listener accepts, each on its own thread for as long as it stays
/// open. A thread whose connection closed goes back to accept(2) (while fewer than
/// `idleLimit` wait there), so a client that connects once per command, as tpm2-tss's swtpm
/// TCTI does on its control channel, costs neither a thread start nor a hand-off between
/// threads: the thread that accepts the connection serves it. A thread that accepts while no
/// other is waiting starts one more first, so every open connection keeps its own thread.
final class AcceptLoop: @unchecked Sendable {
    private let listener: Listener
    private let serve: @Sendable (Connection) -> Void
    private let waiting = Mutex(0)
    static let idleLimit = 2

    init(_ listener: Listener, serve: @escaping @Sendable (Connection) -> Void) {
        self.listener = listener
        self.serve = serve
    }

    func start() { addThread() }

    private func addThread() {
        waiting.withLock { $0 += 1 }
        spawn { self.run() }
    }

    private func run() {
        while let connection = listener.accept() {
            if waiting.withLock({ count in
                count -= 1
                return count == 0
            }) { addThread() }
            serve(connection)
            let staysIdle = waiting.withLock { count in
                guard count < Self.idleLimit else { return false }
                count += 1
                return true
            }
            if !staysIdle { return }
        }
        waiting.withLock { $0 -= 1 }
    }
}

/// The body of a thread started by `spawn`, passed through pthread_create's argument.
private final class ThreadBody {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

/// Runs `body` on a new detached POSIX thread. A process that cannot start one (out of memory
/// or over its thread limit) stops with that reason: carrying on would leave a listener with no
/// thread in accept(2), and its clients waiting for ever.
func spawn(_ body: @escaping @Sendable () -> Void) {
    let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(&thread, nil, { argument in
        Unmanaged<ThreadBody>.fromOpaque(argument!).takeRetainedValue().body()
        return nil
    }, box)
    guard result == 0 else { fatalError("cannot start a vTPM server thread: \(String(cString: strerror(result)))") }
    pthread_detach(thread)
}
