import Foundation

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

    public var description: String {
        switch self {
        case let .badAddress(text): return "bad listen address '\(text)': use tcp:HOST:PORT or unix:PATH"
        case let .socket(call, code): return "\(call) failed: \(String(cString: strerror(code)))"
        case .closed: return "connection closed"
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
/// exchanges, one thread per connection; they also need Unix-socket descriptor passing
/// (swtpm's CMD_SET_DATAFD), which is why this is plain POSIX rather than an event loop.
final class Listener: @unchecked Sendable {
    let fd: Int32
    let address: ListenAddress

    init(_ address: ListenAddress) throws(VTPMTransportError) {
        self.address = address
        switch address {
        case let .tcp(host, port):
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw .socket("socket", errno: errno) }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            guard inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &addr.sin_addr) == 1 else {
                close(fd)
                throw .badAddress(address.description)
            }
            let result = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard result == 0 else {
                let code = errno
                close(fd)
                throw .socket("bind \(address)", errno: code)
            }
        case let .unix(path):
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw .socket("socket", errno: errno) }
            unlink(path)
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
                close(fd)
                throw .badAddress(address.description)
            }
            withUnsafeMutableBytes(of: &addr.sun_path) { buffer in
                for (i, byte) in bytes.enumerated() { buffer[i] = byte }
            }
            let result = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
            guard result == 0 else {
                let code = errno
                close(fd)
                throw .socket("bind \(address)", errno: code)
            }
        }
        guard listen(fd, 16) == 0 else {
            let code = errno
            close(fd)
            throw .socket("listen", errno: code)
        }
    }

    /// The port actually bound (useful with port 0).
    var boundPort: UInt16? {
        guard case .tcp = address else { return nil }
        var addr = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return result == 0 ? UInt16(bigEndian: addr.sin_port) : nil
    }

    func accept() -> Connection? {
        while true {
            let client = Glibc.accept(fd, nil, nil)
            if client >= 0 { return Connection(fd: client) }
            if errno == EINTR { continue }
            return nil
        }
    }

    func shutdownListener() {
        Glibc.shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        if case let .unix(path) = address { unlink(path) }
    }
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

    deinit { close(fd) }

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

    package func read(exactly count: Int) throws(VTPMTransportError) -> [UInt8] {
        guard readsAhead else { return try readUnbuffered(count) }
        while pending.count - pendingStart < count {
            if pendingStart > 0 {
                pending.removeFirst(pendingStart)
                pendingStart = 0
            }
            pending += try readSome(maximum: max(count - pending.count, Self.readAheadSize))
        }
        defer {
            pendingStart += count
            if pendingStart == pending.count {
                pending.removeAll(keepingCapacity: true)
                pendingStart = 0
            }
        }
        return Array(pending[pendingStart..<pendingStart + count])
    }

    private func readUnbuffered(_ count: Int) throws(VTPMTransportError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + done, count - done) }
            if n == 0 { throw .closed }
            if n < 0 {
                if errno == EINTR { continue }
                throw .socket("read", errno: errno)
            }
            done += n
            if acknowledgesEachRead { acknowledgeNow() }
        }
        return buffer
    }

    /// Set on stream connections that carry nothing but framed requests (the swtpm data
    /// channel, the mssim command port): each read system call then takes whatever has arrived,
    /// so a command usually costs one read instead of one per field. Not for the control
    /// channel, whose messages may carry a file descriptor that must arrive with its bytes.
    package var readsAhead = false
    private var pending: [UInt8] = []
    private var pendingStart = 0
    static let readAheadSize = 8192

    /// Set for clients that write a request in several small pieces without TCP_NODELAY (the
    /// mssim TCTI): acknowledging at once keeps Nagle's algorithm on their side from waiting
    /// for our delayed ACK, about 40 ms per request. Linux clears the flag after each read, so
    /// it is set again after every read.
    package var acknowledgesEachRead = false

    private func acknowledgeNow() {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_QUICKACK, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Reads whatever is available, up to `maximum` bytes (at least one).
    package func readSome(maximum: Int) throws(VTPMTransportError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maximum)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, maximum) }
            if n == 0 { throw .closed }
            if n < 0 {
                if errno == EINTR { continue }
                throw .socket("read", errno: errno)
            }
            if acknowledgesEachRead { acknowledgeNow() }
            return Array(buffer.prefix(n))
        }
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
        try read(exactly: 4).reduce(0) { $0 << 8 | UInt32($1) }
    }

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
        try write([UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)])
    }

    package func shutdownBoth() { Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
}

/// Runs `body` on a new thread.
func spawn(_ body: @escaping @Sendable () -> Void) {
    Thread.detachNewThread(body)
}
