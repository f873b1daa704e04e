import Foundation

/// One report produced through configfs-tsm.
public struct TSMReport: Sendable, Hashable {
    /// provider: the format of `outblob`, "sev_guest" (an SNP ATTESTATION_REPORT) or
    /// "tdx_guest" (a TDX quote).
    public var provider: String
    /// outblob: the report generated from the inblob.
    public var outblob: [UInt8]
    /// auxblob: supplemental data (for sev_guest the GHCB certificate table), or nil when the
    /// provider does not offer the attribute.
    public var auxblob: [UInt8]?
    /// generation after the report was read.
    public var generation: UInt64
}

/// The kernel's configfs interface to the trusted security module's attestation reports
/// (Documentation/ABI/testing/configfs-tsm): mkdir of an entry below
/// `/sys/kernel/config/tsm/report`, inblob (and privlevel) written, outblob and auxblob read,
/// the entry removed. Every write to an entry increments its `generation`; the report is refused
/// when the generation moved by more than this collector's own writes, since another writer could
/// have replaced the inblob between the write and the read.
public struct ConfigFSTSM: Sendable {
    /// Where report entries are created.
    public static let reportDirectory = "/sys/kernel/config/tsm/report"
    /// The inblob limit: up to 64 bytes of user data.
    public static let maximumInblob = 64

    public let fileSystem: any GuestFileSystem

    public init(fileSystem: any GuestFileSystem) {
        self.fileSystem = fileSystem
    }

    /// Whether configfs is mounted with a TSM report directory.
    public func isAvailable() throws(GuestAttestationError) -> Bool {
        try fileSystem.exists(Self.reportDirectory)
    }

    /// The provider, read from a scratch entry that is removed again without writing anything.
    public func provider() throws(GuestAttestationError) -> String {
        try withEntry { entry throws(GuestAttestationError) in try fileSystem.readText(entry + "/provider") }
    }

    /// A report of `inblob` at privilege level `privilegeLevel` (the SEV-SNP VMPL; only for
    /// providers that show a privlevel attribute), from a fresh entry.
    public func report(inblob: [UInt8], privilegeLevel: UInt32? = nil) throws(GuestAttestationError) -> TSMReport {
        guard inblob.count <= Self.maximumInblob else {
            throw .invalidArgument("configfs-tsm inblob takes at most \(Self.maximumInblob) bytes, not \(inblob.count)")
        }
        return try withEntry { entry throws(GuestAttestationError) in
            let provider = try fileSystem.readText(entry + "/provider")
            let before = try generation(entry)
            var writes: UInt64 = 0
            if let privilegeLevel {
                guard try fileSystem.exists(entry + "/privlevel") else {
                    throw .unavailable("configfs-tsm provider \(provider) takes no privlevel")
                }
                try fileSystem.write(entry + "/privlevel", Array(String(privilegeLevel).utf8))
                writes += 1
            }
            try fileSystem.write(entry + "/inblob", inblob)
            writes += 1
            let outblob = try fileSystem.read(entry + "/outblob")
            guard !outblob.isEmpty else { throw .malformed(structure: entry + "/outblob", reason: "the provider returned no report") }
            let auxblob = try fileSystem.readIfPresent(entry + "/auxblob")
            let after = try generation(entry)
            guard after == before + writes else { throw .generationRace(entry: entry, expected: before + writes, actual: after) }
            return TSMReport(provider: provider, outblob: outblob, auxblob: auxblob, generation: after)
        }
    }

    /// Runs `body` on a new entry with a name no other collector uses, then removes the entry
    /// whatever happened (the kernel frees the report with it).
    private func withEntry<T>(_ body: (String) throws(GuestAttestationError) -> T) throws(GuestAttestationError) -> T {
        let name = "cvmkit-\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
        let entry = Self.reportDirectory + "/" + name
        try fileSystem.makeDirectory(entry)
        defer { try? fileSystem.removeDirectory(entry) }
        return try body(entry)
    }

    private func generation(_ entry: String) throws(GuestAttestationError) -> UInt64 {
        let text = try fileSystem.readText(entry + "/generation")
        guard let value = UInt64(text) else {
            throw .malformed(structure: entry + "/generation", reason: "\"\(text)\" is not a decimal counter")
        }
        return value
    }
}
