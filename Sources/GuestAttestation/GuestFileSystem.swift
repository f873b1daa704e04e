import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The file operations evidence collection uses, on paths as the guest sees them
/// (`/sys/kernel/config/tsm/report`, `/dev/sev-guest`, ...). ``LocalGuestFileSystem`` performs
/// them below a root directory; tests supply their own to emulate what a directory tree cannot,
/// such as configfs-tsm producing an outblob when inblob is written.
public protocol GuestFileSystem: Sendable {
    /// Whether `path` exists; false for ENOENT and ENOTDIR, other failures throw.
    func exists(_ path: String) throws(GuestAttestationError) -> Bool
    /// The whole contents of the file at `path`.
    func read(_ path: String) throws(GuestAttestationError) -> [UInt8]
    /// Writes `bytes` to the existing file at `path` in one write(2) and closes it; configfs
    /// attributes take their value in a single write and binary ones commit it at close.
    func write(_ path: String, _ bytes: [UInt8]) throws(GuestAttestationError)
    /// mkdir(2): in configfs, creates an object such as a report entry.
    func makeDirectory(_ path: String) throws(GuestAttestationError)
    /// rmdir(2): in configfs, releases the object.
    func removeDirectory(_ path: String) throws(GuestAttestationError)
    /// Opens the character device at `path` for ioctl(2) requests.
    func openDevice(_ path: String) throws(GuestAttestationError) -> any GuestDevice
}

extension GuestFileSystem {
    /// A sysfs or configfs text attribute without its trailing newline and spaces.
    func readText(_ path: String) throws(GuestAttestationError) -> String {
        String(decoding: try read(path), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The file at `path`, or nil when it does not exist.
    func readIfPresent(_ path: String) throws(GuestAttestationError) -> [UInt8]? {
        try exists(path) ? try read(path) : nil
    }
}

/// The real file system, with every guest path taken relative to `root`: `/` on a guest, a
/// directory holding a copy of the relevant sysfs and device tree in tests.
public struct LocalGuestFileSystem: GuestFileSystem {
    /// The directory that stands for `/`.
    public let root: String

    public init(root: String = "/") {
        self.root = root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    /// Where the guest path `path` is on this machine.
    public func hostPath(_ path: String) -> String { root + path }

    public func exists(_ path: String) throws(GuestAttestationError) -> Bool {
        var status = stat()
        guard stat(hostPath(path), &status) != 0 else { return true }
        let code = errno
        guard code == ENOENT || code == ENOTDIR else { throw .fileSystem(operation: "examine", path: path, errno: code) }
        return false
    }

    public func read(_ path: String) throws(GuestAttestationError) -> [UInt8] {
        do {
            return try PosixFile.contents(of: hostPath(path))
        } catch {
            throw .fileSystem(operation: "read", path: path, errno: error.code)
        }
    }

    public func write(_ path: String, _ bytes: [UInt8]) throws(GuestAttestationError) {
        do {
            try PosixFile.store(bytes, at: hostPath(path), create: false)
        } catch {
            throw .fileSystem(operation: "write", path: path, errno: error.code)
        }
    }

    public func makeDirectory(_ path: String) throws(GuestAttestationError) {
        guard mkdir(hostPath(path), 0o700) == 0 else { throw .fileSystem(operation: "create directory", path: path, errno: errno) }
    }

    public func removeDirectory(_ path: String) throws(GuestAttestationError) {
        guard rmdir(hostPath(path)) == 0 else { throw .fileSystem(operation: "remove directory", path: path, errno: errno) }
    }

    public func openDevice(_ path: String) throws(GuestAttestationError) -> any GuestDevice {
        let descriptor = open(hostPath(path), O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else { throw .fileSystem(operation: "open", path: path, errno: errno) }
        return LinuxDevice(descriptor: descriptor)
    }
}

/// Whole-file reads and single-call writes with POSIX calls, so that failures keep their errno.
enum PosixFile {
    struct Failure: Error {
        let code: Int32
    }

    static func contents(of path: String) throws(Failure) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Failure(code: errno) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let got = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if got < 0, errno == EINTR { continue }
            guard got >= 0 else { throw Failure(code: errno) }
            guard got > 0 else { return bytes }
            bytes += chunk[..<got]
        }
    }

    /// One write(2) of all of `bytes`, then close(2), whose failure counts: configfs binary
    /// attributes such as inblob hand their buffer to the kernel only at close.
    static func store(_ bytes: [UInt8], at path: String, create: Bool) throws(Failure) {
        let flags = create ? O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC : O_WRONLY | O_CLOEXEC
        let descriptor = open(path, flags, 0o644)
        guard descriptor >= 0 else { throw Failure(code: errno) }
        var written: Int
        repeat {
            written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        } while written < 0 && errno == EINTR
        let writeError = written < 0 ? errno : (written == bytes.count ? 0 : EIO)
        let closeError = close(descriptor) == 0 ? 0 : errno
        guard writeError == 0 else { throw Failure(code: writeError) }
        guard closeError == 0 else { throw Failure(code: closeError) }
    }
}
