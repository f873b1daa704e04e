import Crypto
import Foundation

/// Errors of the vTPM's state store.
public enum VTPMStateError: Error, CustomStringConvertible, Sendable {
    case badKey(String)
    case unreadable(path: String, reason: String)
    case tampered(path: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .badKey(reason): return "state key: \(reason)"
        case let .unreadable(path, reason): return "cannot read vTPM state \(path): \(reason)"
        case let .tampered(path): return "vTPM state \(path) failed its integrity check (wrong key or modified file)"
        case let .writeFailed(path, reason): return "cannot write vTPM state \(path): \(reason)"
        }
    }
}

/// Where a persistent vTPM keeps its non-volatile state: one file, sealed with AES-256-GCM
/// under a key the host supplies (so the file is confidential and any change is detected),
/// replaced atomically — written to a temporary file, flushed, renamed over the old one, and
/// the directory flushed — so a crash at any point leaves either the old or the new state.
public struct VTPMStateStore: Sendable {
    public let directory: URL
    private let key: SymmetricKey

    static let fileName = "vtpm-state.sealed"
    static let magic = Array("CVMKIT-VTPM-1".utf8)

    public init(directory: URL, key: [UInt8]) throws(VTPMStateError) {
        guard key.count == 32 else { throw .badKey("must be 32 bytes, got \(key.count)") }
        self.directory = directory
        self.key = SymmetricKey(data: key)
    }

    var path: String { directory.appendingPathComponent(Self.fileName).path }

    func load() throws(VTPMStateError) -> PersistentState? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let sealed: Data
        do { sealed = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadable(path: path, reason: "\(error)")
        }
        guard sealed.starts(with: Self.magic) else { throw .tampered(path: path) }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed.dropFirst(Self.magic.count))
            let plain = try AES.GCM.open(box, using: key, authenticating: Self.magic)
            return try JSONDecoder().decode(PersistentState.self, from: plain)
        } catch {
            throw .tampered(path: path)
        }
    }

    func save(_ state: PersistentState) throws(VTPMStateError) {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let plain = try JSONEncoder().encode(state)
            let sealed = try AES.GCM.seal(plain, using: key, authenticating: Self.magic)
            let bytes = Data(Self.magic) + sealed.combined!
            let temporary = path + ".tmp"
            try writeSynced(bytes, to: temporary)
            guard rename(temporary, path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            try syncDirectory()
        } catch {
            throw .writeFailed(path: path, reason: "\(error)")
        }
    }

    private func writeSynced(_ bytes: Data, to file: String) throws {
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        try bytes.withUnsafeBytes { buffer in
            var written = 0
            while written < buffer.count {
                let n = write(fd, buffer.baseAddress! + written, buffer.count - written)
                guard n > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
                written += n
            }
        }
        guard fsync(fd) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    private func syncDirectory() throws {
        let fd = open(directory.path, O_RDONLY)
        guard fd >= 0 else { return }
        defer { close(fd) }
        fsync(fd)
    }
}
