#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An open character device that takes ioctl(2) requests, such as `/dev/sev-guest` or
/// `/dev/tdx_guest`. The argument is the address of the request's structure, laid out as the
/// kernel's C structure; tests put a fake kernel behind this protocol that reads and writes that
/// memory as the driver would.
public protocol GuestDevice: AnyObject {
    /// Issues `request` with `argument`; returns 0 on success or the errno of the failure.
    func ioctl(_ request: UInt, argument: UnsafeMutableRawPointer) -> Int32
}

/// A device file opened by ``LocalGuestFileSystem/openDevice(_:)``, closed when released.
final class LinuxDevice: GuestDevice {
    private let descriptor: Int32

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    func ioctl(_ request: UInt, argument: UnsafeMutableRawPointer) -> Int32 {
        var result: Int32
        repeat {
            result = systemIoctl(descriptor, request, argument)
        } while result < 0 && errno == EINTR
        return result < 0 ? errno : 0
    }
}

/// The C library's ioctl(2), named apart from ``GuestDevice/ioctl(_:argument:)``.
private func systemIoctl(_ descriptor: Int32, _ request: UInt, _ argument: UnsafeMutableRawPointer) -> Int32 {
    ioctl(descriptor, request, argument)
}

/// ioctl request numbers as include/uapi/asm-generic/ioctl.h composes them (x86 and arm64):
/// the number in bits 0-7, the type character in bits 8-15, the argument size in bits 16-29 and
/// the direction in bits 30-31 (_IOC_WRITE = 1, _IOC_READ = 2).
public enum IoctlNumber {
    /// `_IOWR(type, number, size)`: the kernel both reads and writes the argument.
    public static func readWrite(type: Character, number: UInt8, size: Int) -> UInt {
        let direction: UInt = 2 | 1
        return direction << 30 | UInt(size & 0x3FFF) << 16 | UInt(type.asciiValue ?? 0) << 8 | UInt(number)
    }
}

/// Zeroed memory that a kernel driver reads and writes during one ioctl, at a stable address
/// that request structures can point to; freed when released.
final class IoctlBuffer {
    let memory: UnsafeMutableRawBufferPointer

    init(count: Int) {
        memory = .allocate(byteCount: count, alignment: 4096)
        memory.initializeMemory(as: UInt8.self, repeating: 0)
    }

    convenience init(_ bytes: [UInt8]) {
        self.init(count: bytes.count)
        memory.copyBytes(from: bytes)
    }

    deinit { memory.deallocate() }

    /// The address, as the `__u64` fields of uapi structures carry it.
    var address: UInt64 { UInt64(UInt(bitPattern: memory.baseAddress)) }

    var bytes: [UInt8] { Array(memory) }
}

extension GuestDevice {
    /// Issues `request` with `argument` as the structure's bytes; returns the errno (0 on success)
    /// and the structure as the driver left it.
    func exchange(_ request: UInt, _ argument: [UInt8]) -> (errno: Int32, argument: [UInt8]) {
        let buffer = IoctlBuffer(argument)
        let code = ioctl(request, argument: buffer.memory.baseAddress!)
        return (code, buffer.bytes)
    }
}
