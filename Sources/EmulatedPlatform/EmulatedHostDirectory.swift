import Foundation
import SEVSNP

/// A directory that keeps one emulated host's Secure Processor between processes, so that VMs
/// launched one at a time (`cvm launch --platform DIR`) are all signed by the same emulated chip,
/// whose root an attestation service was told to trust once (`cvm serve --emulated-snp-root`):
///
/// | file | holds | mode |
/// |---|---|---|
/// | `emulated-host.pem` | ``EmulatedSNPChain/pemRepresentation``: ARK, ASK, VCEK and their private keys | 0600 |
/// | `emulated-root.pem` | the ARK and ASK certificates, what a verifier opts in to | umask |
///
/// The directory is created with mode 0700. The root file is derived from the key file and
/// rewritten whenever it is missing or differs.
public struct EmulatedHostDirectory: Sendable {
    /// The chip's certificates and private keys.
    public static let keyFileName = "emulated-host.pem"
    /// The ARK and ASK, for `cvm serve --emulated-snp-root`.
    public static let rootFileName = "emulated-root.pem"

    /// The directory.
    public let path: String

    /// The directory at `path`; nothing is read or created until ``secureProcessor(tcb:)``.
    public init(path: String) {
        self.path = path
    }

    /// The path of ``keyFileName`` in the directory (relative if ``path`` is).
    public var keyFile: String { (self.path as NSString).appendingPathComponent(Self.keyFileName) }
    /// The path of ``rootFileName`` in the directory (relative if ``path`` is), what
    /// `cvm serve --emulated-snp-root` is given.
    public var rootFile: String { (self.path as NSString).appendingPathComponent(Self.rootFileName) }

    /// The emulated chip kept here. On first use — when there is no key file — it creates the
    /// directory and a fresh Milan chip certifying `tcb` (``EmulatedPlatform/defaultTCB`` when
    /// nil); afterwards it restores that chip, and `tcb`, when given, must be the one it certifies.
    ///
    /// - Returns: the chip, and whether this call created it.
    public func secureProcessor(tcb: TCBComponents? = nil) throws(EmulatedPlatformError) -> (chip: EmulatedSNPChain, created: Bool) {
        let (chip, created) = try self.loadOrCreate(tcb: tcb ?? EmulatedPlatform.defaultTCB)
        if let tcb, chip.tcb != tcb {
            throw .invalidConfiguration(
                "the emulated host in \(self.path) certifies the TCB \(Self.describe(chip.tcb)), not \(Self.describe(tcb)); "
                    + "leave the TCB out or use another directory")
        }
        let root = Array(EmulatedPlatform.pem([chip.ark, chip.ask]).utf8)
        if FileManager.default.contents(atPath: self.rootFile).map(Array.init) != root {
            do { try Data(root).write(to: URL(fileURLWithPath: self.rootFile), options: .atomic) } catch {
                throw .io(path: self.rootFile, reason: "\(error)")
            }
        }
        return (chip, created)
    }

    private func loadOrCreate(tcb: TCBComponents) throws(EmulatedPlatformError) -> (EmulatedSNPChain, Bool) {
        if FileManager.default.fileExists(atPath: self.keyFile) { return (try self.restore(), false) }
        do {
            try FileManager.default.createDirectory(atPath: self.path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .io(path: self.path, reason: "\(error)")
        }
        let chip: EmulatedSNPChain
        do { chip = try EmulatedSNPChain(tcb: tcb) } catch { throw .secureProcessor(error) }
        guard try self.publishKeyFile(Array(chip.pemRepresentation.utf8)) else {
            // Another launch created the host first: use its chip.
            return (try self.restore(), false)
        }
        return (chip, true)
    }

    private func restore() throws(EmulatedPlatformError) -> EmulatedSNPChain {
        guard let contents = FileManager.default.contents(atPath: self.keyFile) else {
            throw .io(path: self.keyFile, reason: "the file cannot be read")
        }
        do {
            return try EmulatedSNPChain(pemRepresentation: String(decoding: contents, as: UTF8.self))
        } catch {
            throw .hostFile(path: self.keyFile, error)
        }
    }

    /// Writes the key file whole or not at all: into a new file of mode 0600 beside it, then
    /// hard-linked to its name, which fails if the name exists (POSIX link(2)), so two launches
    /// creating the host at once agree on one chip and neither reads a half-written file.
    /// Returns false if the key file already existed.
    private func publishKeyFile(_ contents: [UInt8]) throws(EmulatedPlatformError) -> Bool {
        let temporary = self.keyFile + ".\(UUID().uuidString)"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw .io(path: temporary, reason: String(cString: strerror(errno))) }
        defer { unlink(temporary) }
        let written = contents.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == contents.count, synced else { throw .io(path: temporary, reason: "the key could not be written") }
        guard link(temporary, self.keyFile) == 0 else {
            guard errno == EEXIST else { throw .io(path: self.keyFile, reason: String(cString: strerror(errno))) }
            return false
        }
        return true
    }

    private static func describe(_ tcb: TCBComponents) -> String {
        tcb.named.compactMap { name, value in value.map { "\(name) \($0)" } }.joined(separator: ", ")
    }
}
