#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file or block device opened for positioned reads and writes.
public final class LUKS2Device: Sendable {
    private let descriptor: Int32
    public let path: String

    public init(path: String, writable: Bool = false) throws(LUKS2Error) {
        let descriptor = open(path, writable ? O_RDWR : O_RDONLY)
        guard descriptor >= 0 else { throw .io("cannot open \(path): errno \(errno)") }
        self.descriptor = descriptor
        self.path = path
    }

    deinit {
        close(descriptor)
    }

    /// Size of the file or device in bytes.
    public func size() throws(LUKS2Error) -> UInt64 {
        let end = lseek(descriptor, 0, SEEK_END)
        guard end >= 0 else { throw .io("cannot size \(path): errno \(errno)") }
        return UInt64(end)
    }

    public func read(at offset: UInt64, count: Int) throws(LUKS2Error) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        let done = buffer.withUnsafeMutableBytes { pointer in
            var total = 0
            while total < count {
                let got = pread(descriptor, pointer.baseAddress! + total, count - total, off_t(offset) + off_t(total))
                guard got > 0 else { break }
                total += got
            }
            return total
        }
        guard done == count else { throw .io("short read of \(count) bytes at \(offset) in \(path)") }
        return buffer
    }

    public func write(_ bytes: [UInt8], at offset: UInt64) throws(LUKS2Error) {
        let done = bytes.withUnsafeBytes { pointer in
            var total = 0
            while total < bytes.count {
                let put = pwrite(
                    descriptor, pointer.baseAddress! + total, bytes.count - total, off_t(offset) + off_t(total))
                guard put > 0 else { break }
                total += put
            }
            return total
        }
        guard done == bytes.count else { throw .io("short write of \(bytes.count) bytes at \(offset) in \(path)") }
    }

    /// Flushes written data to stable storage, the barrier between the two header copies.
    public func synchronize() throws(LUKS2Error) {
        guard fsync(descriptor) == 0 else { throw .io("fsync of \(path) failed: errno \(errno)") }
    }
}
