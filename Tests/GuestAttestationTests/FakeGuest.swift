import Foundation
import GuestAttestation

/// A guest file system over a `GuestTree`, with what a directory cannot do emulated on top:
/// configfs-tsm report entries (`tsm`), device nodes answering ioctls (`devices`), and failures
/// injected per guest path (`failures`: an errno for any operation on a path, keyed by the full
/// path or, without a leading slash, by its last component such as "inblob"; the tests run as
/// root, for whom chmod cannot produce EACCES).
final class FakeGuest: GuestFileSystem, @unchecked Sendable {
    let tree: GuestTree
    var tsm: EmulatedTSM?
    var devices: [String: any GuestDevice] = [:]
    var failures: [String: Int32] = [:]
    private var base: LocalGuestFileSystem { tree.fileSystem }

    init(_ tree: GuestTree, tsm: EmulatedTSM? = nil) {
        self.tree = tree
        self.tsm = tsm
    }

    private func check(_ operation: String, _ path: String) throws(GuestAttestationError) {
        let name = String(path.split(separator: "/").last ?? "")
        if let code = failures[path] ?? failures[name] { throw .fileSystem(operation: operation, path: path, errno: code) }
    }

    private func emulated(_ path: String) -> (EmulatedTSM, String)? {
        guard let tsm, path.hasPrefix(ConfigFSTSM.reportDirectory) else { return nil }
        return (tsm, String(path.dropFirst(ConfigFSTSM.reportDirectory.count)))
    }

    func exists(_ path: String) throws(GuestAttestationError) -> Bool {
        try check("examine", path)
        if let (tsm, relative) = emulated(path) { return tsm.exists(relative) }
        if devices[path] != nil { return true }
        return try base.exists(path)
    }

    func read(_ path: String) throws(GuestAttestationError) -> [UInt8] {
        try check("read", path)
        if let (tsm, relative) = emulated(path) { return try tsm.read(relative, path) }
        return try base.read(path)
    }

    func write(_ path: String, _ bytes: [UInt8]) throws(GuestAttestationError) {
        try check("write", path)
        if let (tsm, relative) = emulated(path) { return try tsm.write(relative, bytes, path) }
        try base.write(path, bytes)
    }

    func makeDirectory(_ path: String) throws(GuestAttestationError) {
        try check("create directory", path)
        if let (tsm, relative) = emulated(path) { return try tsm.makeDirectory(relative, path) }
        try base.makeDirectory(path)
    }

    func removeDirectory(_ path: String) throws(GuestAttestationError) {
        try check("remove directory", path)
        if let (tsm, relative) = emulated(path) { return try tsm.removeDirectory(relative, path) }
        try base.removeDirectory(path)
    }

    func openDevice(_ path: String) throws(GuestAttestationError) -> any GuestDevice {
        try check("open", path)
        if let device = devices[path] { return device }
        return try base.openDevice(path)
    }
}

/// configfs-tsm's report entries as Documentation/ABI/testing/configfs-tsm describes them:
/// mkdir creates an entry with provider, generation, inblob, outblob and (per provider) auxblob
/// and privlevel; every write increments generation; outblob is generated from the inblob last
/// written, by `generate`.
final class EmulatedTSM: @unchecked Sendable {
    struct Entry {
        var inblob: [UInt8]?
        var privilegeLevel: UInt32?
        var generation: UInt64 = 0
    }

    let provider: String
    let generate: (_ inblob: [UInt8], _ privilegeLevel: UInt32?) throws -> (outblob: [UInt8], auxblob: [UInt8]?)
    var showsPrivlevel: Bool
    var showsAuxblob: Bool
    /// Writes "another process" makes to an entry while its outblob is read.
    var racingWrites: UInt64 = 0
    /// Replaces the generation attribute's text.
    var generationText: String?
    private(set) var entries: [String: Entry] = [:]
    private(set) var created: [String] = []

    init(
        provider: String, showsPrivlevel: Bool = true, showsAuxblob: Bool = true,
        generate: @escaping (_ inblob: [UInt8], _ privilegeLevel: UInt32?) throws -> (outblob: [UInt8], auxblob: [UInt8]?)
    ) {
        self.provider = provider
        self.showsPrivlevel = showsPrivlevel
        self.showsAuxblob = showsAuxblob
        self.generate = generate
    }

    /// "/name/attribute" → (name, attribute); "" for the report directory itself.
    private func split(_ relative: String) -> (name: String, attribute: String?)? {
        let parts = relative.split(separator: "/").map(String.init)
        switch parts.count {
        case 0: return ("", nil)
        case 1: return (parts[0], nil)
        case 2: return (parts[0], parts[1])
        default: return nil
        }
    }

    private var attributes: Set<String> {
        var names: Set<String> = ["provider", "generation", "inblob", "outblob"]
        if showsAuxblob { names.insert("auxblob") }
        if showsPrivlevel { names.formUnion(["privlevel", "privlevel_floor"]) }
        return names
    }

    func exists(_ relative: String) -> Bool {
        guard let (name, attribute) = split(relative) else { return false }
        if name.isEmpty { return true }
        guard entries[name] != nil else { return false }
        return attribute.map { attributes.contains($0) } ?? true
    }

    func makeDirectory(_ relative: String, _ path: String) throws(GuestAttestationError) {
        guard let (name, attribute) = split(relative), !name.isEmpty, attribute == nil else {
            throw .fileSystem(operation: "create directory", path: path, errno: EPERM)
        }
        guard entries[name] == nil else { throw .fileSystem(operation: "create directory", path: path, errno: EEXIST) }
        entries[name] = Entry()
        created.append(name)
    }

    func removeDirectory(_ relative: String, _ path: String) throws(GuestAttestationError) {
        guard let (name, attribute) = split(relative), attribute == nil, entries[name] != nil else {
            throw .fileSystem(operation: "remove directory", path: path, errno: ENOENT)
        }
        entries[name] = nil
    }

    func write(_ relative: String, _ bytes: [UInt8], _ path: String) throws(GuestAttestationError) {
        guard let (name, attribute) = split(relative), var entry = entries[name], let attribute, attributes.contains(attribute) else {
            throw .fileSystem(operation: "write", path: path, errno: ENOENT)
        }
        switch attribute {
        case "inblob":
            guard bytes.count <= 64 else { throw .fileSystem(operation: "write", path: path, errno: EINVAL) }
            entry.inblob = bytes
        case "privlevel":
            guard let level = UInt32(String(decoding: bytes, as: UTF8.self)), level <= 3 else {
                throw .fileSystem(operation: "write", path: path, errno: EINVAL)
            }
            entry.privilegeLevel = level
        default:
            throw .fileSystem(operation: "write", path: path, errno: EACCES)
        }
        entry.generation += 1
        entries[name] = entry
    }

    func read(_ relative: String, _ path: String) throws(GuestAttestationError) -> [UInt8] {
        guard let (name, attribute) = split(relative), var entry = entries[name], let attribute, attributes.contains(attribute) else {
            throw .fileSystem(operation: "read", path: path, errno: ENOENT)
        }
        switch attribute {
        case "provider":
            return Array((provider + "\n").utf8)
        case "generation":
            return Array((generationText ?? "\(entry.generation)\n").utf8)
        case "privlevel_floor":
            return Array("0\n".utf8)
        case "outblob", "auxblob":
            guard let inblob = entry.inblob else { throw .fileSystem(operation: "read", path: path, errno: EINVAL) }
            if attribute == "outblob" {
                entry.generation += racingWrites
                entries[name] = entry
            }
            guard let generated = try? generate(inblob, entry.privilegeLevel) else {
                throw .fileSystem(operation: "read", path: path, errno: EIO)
            }
            return attribute == "outblob" ? generated.outblob : generated.auxblob ?? []
        default:
            throw .fileSystem(operation: "read", path: path, errno: EACCES)
        }
    }
}
