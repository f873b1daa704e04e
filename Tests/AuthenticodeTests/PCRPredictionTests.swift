import Authenticode
import EventLog
import Foundation
import PCRPrediction
import Testing

/// The real event logs the prediction tests edit.
enum PredictionLogs {
    /// `../shared/testdata/eventlog` next to the package root.
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/testdata/eventlog").standardized
    /// Crypto-agile logs with SHA-1 and SHA-256 banks only (the digests pesign computes):
    /// RHEL 9 shim → grub → kernel under OVMF with Secure Boot, and a QEMU boot of two applications.
    static let cases: [(String, [String])] = [
        ("keylime-mb-secureboot.bin", [Peer.shim, Peer.grub] + Peer.kernels.prefix(1)),
        ("tpm2-tools-bootorder.bin", [Peer.shim, Peer.grub]),
    ]
    static let available = cases.allSatisfy { FileManager.default.fileExists(atPath: directory.appendingPathComponent($0.0).path) }
}

/// PCR prediction for real event logs whose boot applications are replaced by Debian's signed
/// shim, grub and kernel. The expected values come from replaying a copy of the log whose
/// EV_EFI_BOOT_SERVICES_APPLICATION digests were overwritten, byte by byte, with the digests
/// pesign computes for those files.
@Suite("PCR prediction with Debian's boot files",
       .enabled(if: Peer.available && PredictionLogs.available, Comment(rawValue: Peer.missing + ", and ../shared/testdata/eventlog")))
struct PCRPredictionTests {
    static func log(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: PredictionLogs.directory.appendingPathComponent(name)))
    }

    /// `bytes` with the digests of the first boot application events replaced by pesign's digests
    /// of `files`, written into the TCG_PCR_EVENT2 layout (PFP v1.06 §10.2.2): PCRIndex (4),
    /// EventType (4), TPML_DIGEST_VALUES count (4), then per digest hashAlg (2) and the digest.
    static func edited(_ bytes: [UInt8], _ log: EventLog, _ files: [String]) throws -> [UInt8] {
        var edited = bytes
        for (event, file) in zip(log.events.filter { $0.eventType == .efiBootServicesApplication }, files) {
            var offset = event.offset + 12
            for digest in event.digests {
                #expect(UInt16(edited[offset]) | UInt16(edited[offset + 1]) << 8 == digest.algorithm.rawValue)
                let replacement = try #require(Peer.bytes(hex: try Peer.pesignDigest(file, digest.algorithm.description)))
                #expect(replacement.count == digest.bytes.count)
                edited.replaceSubrange(offset + 2..<offset + 2 + replacement.count, with: replacement)
                offset += 2 + digest.bytes.count
            }
        }
        return edited
    }

    @Test("the prediction equals the replay of the log edited with pesign's digests; only PCR 4 changes", arguments: PredictionLogs.cases)
    func prediction(name: String, files: [String]) throws {
        let bytes = try Self.log(name)
        let log = try EventLog(bytes: bytes)
        let edited = try Self.edited(bytes, log, files)
        let prediction = try PCRPrediction(log: log, replacing: files.map { try PEImage(bytes: try Peer.bytes($0)) })
        #expect(prediction.predicted == (try EventLog(bytes: edited).replay().values))
        #expect(prediction.current == log.replay().values)
        #expect(prediction.predictedLog.encoded() == edited)
        #expect(prediction.changedRegisters == [4])
    }

    @Test("more images than the log loads are refused")
    func tooManyImages() throws {
        let log = try EventLog(bytes: try Self.log("tpm2-tools-bootorder.bin"))
        let image = try PEImage(bytes: try Peer.bytes(Peer.grub))
        #expect(throws: PCRPredictionError.tooManyImages(given: 3, bootApplications: 2)) {
            try PCRPrediction(log: log, replacing: [image, image, image])
        }
    }
}

/// Kernel command line prediction on real logs. The recorded command lines are copied from what
/// tpm2_eventlog prints for the logs; the expected register values are SHA-256 chains computed
/// here from GRUB's and systemd's measurement conventions.
@Suite("PCR prediction of a new kernel command line", .enabled(if: FileManager.default.fileExists(atPath: PredictionLogs.directory.path)))
struct CommandLinePredictionTests {
    /// A log, the PCR its measurer extends, the command line it records, and the bytes the
    /// measurer hashes for a command line, or nil for an event that does not measure it.
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var pcr: UInt32
        var recorded: String
        var measured: @Sendable (TCGPCREvent2, String) -> [UInt8]?
        var description: String { name }
    }

    /// GRUB 2.04 (PCR 8): "grub_cmd: linux PATH ARGS" and "kernel_cmdline: PATH ARGS", hashing
    /// the text after "grub_cmd: " or "kernel_cmdline: ".
    static let grub = Case(name: "gce-ubuntu2104-no-secureboot.bin", pcr: 8,
                           recorded: "root=PARTUUID=6443a6ae-e5e9-4df7-9a06-d1329e50f33c ro console=ttyS0 panic=-1") { event, commandLine in
        let kernel = "/boot/vmlinuz-5.11.0-1006-gcp"
        if event.data.starts(with: Array("grub_cmd: linux ".utf8)) { return Array("linux \(kernel) \(commandLine)".utf8) }
        if event.data.starts(with: Array("kernel_cmdline: ".utf8)) { return Array("\(kernel) \(commandLine)".utf8) }
        return nil
    }

    /// systemd-boot and systemd-stub (PCR 12): the command line as UTF-16LE with its NUL.
    static let systemd = Case(name: "tpm2-tools-sd-boot-fedora37.bin", pcr: 12, recorded: " console=ttyS0 console=tty0 efi=debug ") { event, commandLine in
        guard event.eventType == .ipl else { return nil }
        return (commandLine + "\0").utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
    }

    static func log(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: PredictionLogs.directory.appendingPathComponent(name)))
    }

    @Test("the recorded command line rebuilds the log byte for byte", arguments: [grub, systemd])
    func recorded(_ test: Case) throws {
        let bytes = try Self.log(test.name)
        let prediction = try PCRPrediction(log: try EventLog(bytes: bytes), replacing: [], commandLine: test.recorded)
        #expect(prediction.predictedLog.encoded() == bytes)
        #expect(prediction.changes.isEmpty)
    }

    @Test("a new command line changes only its PCR, to the SHA-256 chain of the measurer's convention", arguments: [grub, systemd])
    func changed(_ test: Case) throws {
        let newLine = "root=/dev/vda2 ro quiet lockdown=integrity"
        let log = try EventLog(bytes: try Self.log(test.name))
        let prediction = try PCRPrediction(log: log, replacing: [], commandLine: newLine)
        var expected = [UInt8](repeating: 0, count: 32)
        for event in log.events where event.pcrIndex == test.pcr && event.eventType != .noAction {
            let measured = test.measured(event, newLine)
            let digest = try #require(measured.flatMap { TPMAlgorithm.sha256.hash($0) } ?? event.digest(.sha256))
            expected = try #require(TPMAlgorithm.sha256.hash(expected + digest))
        }
        #expect(prediction.changedRegisters == [test.pcr])
        #expect(prediction.predicted[.sha256, test.pcr] == expected)
    }

    @Test("a log without a command line event refuses --cmdline")
    func noCommandLine() throws {
        let log = try EventLog(bytes: try Self.log("laptop-glinux-no-secureboot.bin"))
        #expect(throws: PCRPredictionError.noCommandLineEvents) {
            try PCRPrediction(log: log, replacing: [], commandLine: "quiet")
        }
    }
}
