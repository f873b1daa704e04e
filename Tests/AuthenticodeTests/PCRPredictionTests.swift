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
