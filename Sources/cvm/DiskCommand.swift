import ArgumentParser
import DiskEncryption
import Foundation

/// `cvm disk`: LUKS2 volumes in files or block devices, in user space. All format and crypto work
/// is in DiskEncryption; passphrases come from key files, read whole as cryptsetup's --key-file does.
struct DiskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disk",
        abstract: "Format, inspect, unlock, read and write LUKS2 volumes (cryptsetup-compatible).",
        subcommands: [Format.self, Info.self, Open.self, Read.self, Write.self, AddKey.self, ChangeKey.self, RemoveKey.self, EnrollTPM2.self, UnlockTPM2.self, Reseal.self, SignPolicy.self]
    )

    enum KDF: String, ExpressibleByArgument {
        case pbkdf2, argon2id
    }

    /// The volume and its passphrase, shared by the subcommands that unlock.
    struct Unlocking: ParsableArguments {
        @Argument(help: "The LUKS2 file or block device.")
        var device: String

        @Option(help: "File holding the passphrase (all of its bytes).")
        var keyFile: String

        @Option(help: "Only try this keyslot.")
        var keySlot: Int?

        @Option(help: "The data device, when DEVICE is a detached header (cryptsetup --header).")
        var dataDevice: String?

        func passphrase() throws -> [UInt8] {
            Array(try Data(contentsOf: URL(fileURLWithPath: keyFile)))
        }

        func unlock(writable: Bool = false) throws -> (LUKS2Volume, LUKS2Volume.Unlocked) {
            let volume = try LUKS2Volume(path: device, dataPath: dataDevice, writable: writable)
            let unlocked = try volume.unlock(passphrase: try passphrase(), keyslot: keySlot)
            return (volume, unlocked)
        }

        func dataSegment(writable: Bool = false) throws -> LUKS2DataSegment {
            let (volume, unlocked) = try unlock(writable: writable)
            return try LUKS2DataSegment(volume: volume, volumeKey: unlocked.volumeKey)
        }
    }

    /// KDF choices for a new keyslot.
    struct KeyslotKDF: ParsableArguments {
        @Option(help: "Key derivation for the keyslot: pbkdf2 or argon2id.")
        var pbkdf: KDF = .argon2id

        @Option(help: "PBKDF2 iterations or Argon2 passes (default 600000 and 4).")
        var iterations: Int?

        @Option(help: "Argon2 memory in KiB.")
        var memory: Int = 1_048_576

        @Option(help: "Argon2 lanes.")
        var parallel: Int = 4

        var parameters: LUKS2KDFParameters {
            switch pbkdf {
            case .pbkdf2: .pbkdf2(iterations: iterations ?? 600_000)
            case .argon2id: .argon2id(iterations: iterations ?? 4, memory: memory, parallelism: parallel)
            }
        }
    }

    struct Format: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Format a file or device as LUKS2 (aes-xts-plain64, 512-bit key) with one keyslot.",
            discussion: "Overwrites the first 16 MiB (header copies and keyslots area); the data area starts at 16 MiB.")

        @Argument(help: "The file or block device, at least 16 MiB.")
        var device: String

        @Option(help: "File holding the passphrase (all of its bytes).")
        var keyFile: String

        @OptionGroup var kdf: KeyslotKDF

        @Option(help: "Data sector size: 512 or 4096.")
        var sectorSize: Int = 4096

        @Option(help: "Label stored in both binary headers.")
        var label: String = ""

        @Flag(help: "Overwrite the whole data area with encrypted zeros after formatting.")
        var wipe = false

        @Flag(help: "Show progress on standard error even when standard output is not a terminal.")
        var progress = false

        func run() throws {
            let passphrase = Array(try Data(contentsOf: URL(fileURLWithPath: keyFile)))
            let (volume, volumeKey) = try LUKS2Volume.format(
                path: device, passphrase: passphrase,
                options: .init(kdf: kdf.parameters, sectorSize: sectorSize, label: label))
            print("formatted \(device): UUID \(volume.header.uuid), keyslot 0")
            guard wipe else { return }
            let segment = try LUKS2DataSegment(volume: volume, volumeKey: volumeKey)
            let line = ProgressLine("wiping", total: try segment.sectorCount() * UInt64(segment.sectorSize), forced: progress)
            try segment.wipe { done, _ in line?.update(done) }
            line?.finish()
            print("wiped \(try segment.sectorCount()) sectors with encrypted zeros")
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the LUKS2 header: copies, keyslots, segments, digests, tokens.")

        @Argument(help: "The LUKS2 file or block device.")
        var device: String

        func run() throws {
            let header = try LUKS2Volume(path: device).header
            print("UUID: \(header.uuid)")
            print("label: \(header.primary.label)")
            print("seqid: \(header.sequenceID), header size: \(header.headerSize)")
            if let (copy, problem) = header.damagedCopy { print("damaged \(copy.rawValue) header copy: \(problem)") }
            for (id, keyslot) in header.metadata.keyslots.sorted(by: { Int($0.key) ?? 0 < Int($1.key) ?? 0 }) {
                let kdf: String =
                    switch keyslot.kdf {
                    case .pbkdf2(let hash, let iterations, _): "pbkdf2 \(hash), \(iterations) iterations"
                    case .argon2(let variant, let time, let memory, let cpus, _): "\(variant.rawValue), t=\(time) m=\(memory) KiB p=\(cpus)"
                    }
                print("keyslot \(id): \(keyslot.keySize * 8)-bit key, \(kdf), area \(keyslot.area.offset)+\(keyslot.area.size) \(keyslot.area.encryption)")
            }
            for (id, segment) in header.metadata.segments.sorted(by: { $0.key < $1.key }) {
                let size: String =
                    switch segment.size {
                    case .dynamic: "to the end"
                    case .bytes(let bytes): "\(bytes) bytes"
                    }
                print("segment \(id): \(segment.type) \(segment.encryption) at \(segment.offset), \(size), \(segment.sectorSize)-byte sectors")
            }
            for (id, digest) in header.metadata.digests.sorted(by: { $0.key < $1.key }) {
                print("digest \(id): \(digest.type) \(digest.hash), \(digest.iterations) iterations, keyslots \(digest.keyslots), segments \(digest.segments)")
            }
            for (id, token) in header.metadata.tokens.sorted(by: { $0.key < $1.key }) {
                print("token \(id): \(token.type), keyslots \(token.keyslots)")
            }
        }
    }

    struct Open: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a passphrase: print the keyslot it opens, or exit non-zero.")

        @OptionGroup var volume: Unlocking

        func run() throws {
            let (_, unlocked) = try volume.unlock()
            print("keyslot \(unlocked.keyslot) opens \(volume.device)")
        }
    }

    struct Read: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Decrypt data sectors to a file or standard output.")

        @OptionGroup var volume: Unlocking

        @Option(help: "First sector, in the segment's sector size.")
        var sector: UInt64 = 0

        @Option(help: "Number of sectors.")
        var count: Int = 1

        @Option(help: "Output file (default: standard output).")
        var output: String?

        func run() throws {
            let plaintext = try volume.dataSegment().read(sector: sector, count: count)
            if let output {
                try Data(plaintext).write(to: URL(fileURLWithPath: output))
            } else {
                FileHandle.standardOutput.write(Data(plaintext))
            }
        }
    }

    struct Write: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Encrypt a file (whole sectors) into data sectors.")

        @OptionGroup var volume: Unlocking

        @Option(help: "First sector, in the segment's sector size.")
        var sector: UInt64 = 0

        @Option(help: "Plaintext file; its size must be a multiple of the sector size.")
        var input: String

        @Flag(help: "Show progress on standard error even when standard output is not a terminal.")
        var progress = false

        /// Bytes read and encrypted at a time.
        static let chunkBytes = 4 << 20

        func run() throws {
            let segment = try volume.dataSegment(writable: true)
            let file = try FileHandle(forReadingFrom: URL(fileURLWithPath: input))
            defer { try? file.close() }
            let total = (try? FileManager.default.attributesOfItem(atPath: input)[.size] as? UInt64) ?? nil
            if let total, total % UInt64(segment.sectorSize) != 0 {
                throw ValidationError("\(input) has \(total) bytes, not a whole number of \(segment.sectorSize)-byte sectors")
            }
            // Checked before the first chunk, so input that does not fit leaves the volume untouched.
            if let total, sector + total / UInt64(segment.sectorSize) > (try segment.sectorCount()) {
                throw ValidationError("\(input) has \(total / UInt64(segment.sectorSize)) sectors; from sector \(sector) the volume holds \(try segment.sectorCount() - min(sector, try segment.sectorCount()))")
            }
            let line = ProgressLine("writing", total: total, forced: progress)
            var next = sector
            var written: UInt64 = 0
            while let chunk = try file.read(upToCount: Self.chunkBytes), !chunk.isEmpty {
                try segment.write(Array(chunk), sector: next)
                next += UInt64(chunk.count / segment.sectorSize)
                written += UInt64(chunk.count)
                line?.update(written)
            }
            line?.finish()
        }
    }

    /// The new passphrase and how its keyslot derives the key, shared by add-key and change-key.
    struct NewKey: ParsableArguments {
        @Option(help: "File holding the new passphrase.")
        var newKeyFile: String

        @OptionGroup var kdf: KeyslotKDF

        func passphrase() throws -> [UInt8] {
            Array(try Data(contentsOf: URL(fileURLWithPath: newKeyFile)))
        }
    }

    struct AddKey: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-key", abstract: "Add a keyslot for a new passphrase, unlocking with an existing one.")

        @OptionGroup var volume: Unlocking
        @OptionGroup var newKey: NewKey

        func run() throws {
            var (luks, unlocked) = try volume.unlock(writable: true)
            let id = try luks.addKeyslot(passphrase: try newKey.passphrase(), volumeKey: unlocked.volumeKey, kdf: newKey.kdf.parameters)
            print("added keyslot \(id)")
        }
    }

    struct ChangeKey: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "change-key", abstract: "Replace the passphrase of the keyslot the key file opens.")

        @OptionGroup var volume: Unlocking
        @OptionGroup var newKey: NewKey

        func run() throws {
            var (luks, unlocked) = try volume.unlock(writable: true)
            let id = try luks.changePassphrase(
                keyslot: unlocked.keyslot, from: try volume.passphrase(), to: try newKey.passphrase(), kdf: newKey.kdf.parameters)
            print("keyslot \(unlocked.keyslot) replaced by keyslot \(id)")
        }
    }

    struct RemoveKey: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove-key", abstract: "Remove a keyslot and overwrite its area, after unlocking with any passphrase.")

        @OptionGroup var volume: Unlocking

        @Option(help: "The keyslot to remove.")
        var remove: Int

        func run() throws {
            var (luks, _) = try volume.unlock(writable: true)
            try luks.removeKeyslot(remove)
            print("removed keyslot \(remove)")
        }
    }
}
