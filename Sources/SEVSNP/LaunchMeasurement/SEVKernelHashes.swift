import Crypto
import EvidenceCore

/// The SHA-256 hashes of a directly booted kernel, initrd and command line, as QEMU writes them
/// into the guest's SEV hash table page so that the measured firmware can check what it boots
/// (QEMU `target/i386/sev.c`, `SevHashTable`; edk2 `OvmfPkg/AmdSev/BlobVerifierLibSevHashes`).
///
/// The table is the header GUID 9438d606-4f22-4cc9-b479-a793d411fd21 and its u16 length, then
/// three entries (GUID, u16 length 50, SHA-256) for the command line, initrd and kernel, zero-padded
/// to a multiple of 16 bytes. The command line is hashed with its terminating NUL, as QEMU passes
/// it to the guest; a missing initrd is hashed as empty data.
public struct SEVKernelHashes: Sendable, Hashable {
    static let tableGUID = EFIGUID("9438d606-4f22-4cc9-b479-a793d411fd21")
    static let commandLineGUID = EFIGUID("97d02dd8-bd20-4c94-aa78-e7714d36ab2a")
    static let initrdGUID = EFIGUID("44baf731-3a2f-4bd7-9af1-41e29169781d")
    static let kernelGUID = EFIGUID("4de79437-abd2-427f-b835-d5b172d2045b")
    /// GUID, u16 length, SHA-256.
    static let entrySize = 16 + 2 + SHA256.byteCount
    /// GUID, u16 length, three entries.
    static let tableSize = 16 + 2 + 3 * entrySize

    /// SHA-256 of the kernel image.
    public let kernel: [UInt8]
    /// SHA-256 of the initrd, or of no bytes when there is none.
    public let initrd: [UInt8]
    /// SHA-256 of the command line followed by a NUL byte.
    public let commandLine: [UInt8]

    /// Hashes the artifacts QEMU would load with `-kernel`, `-initrd` and `-append`.
    public init(kernel: [UInt8], initrd: [UInt8]?, commandLine: String?) {
        self.kernel = Array(SHA256.hash(data: kernel))
        self.initrd = Array(SHA256.hash(data: initrd ?? []))
        self.commandLine = Array(SHA256.hash(data: Array((commandLine ?? "").utf8) + [0]))
    }

    /// The table as QEMU lays it out, padded to a multiple of 16 bytes.
    public var table: [UInt8] {
        var writer = LittleEndianWriter()
        writer.bytes(Self.tableGUID.bytes)
        writer.integer(UInt16(Self.tableSize))
        for (guid, hash) in [(Self.commandLineGUID, self.commandLine), (Self.initrdGUID, self.initrd), (Self.kernelGUID, self.kernel)] {
            writer.bytes(guid.bytes)
            writer.integer(UInt16(Self.entrySize))
            writer.bytes(hash)
        }
        writer.zeros((16 - Self.tableSize % 16) % 16)
        return writer.bytes
    }

    /// The page QEMU adds to the launch: zeros with the table at `offset`, the SEV hash table
    /// GPA's offset within its page.
    func page(tableOffset offset: Int) -> [UInt8] {
        let table = self.table
        return [UInt8](repeating: 0, count: offset) + table
            + [UInt8](repeating: 0, count: SNPLaunchDigest.pageSize - offset - table.count)
    }
}
