import Authenticode
import Crypto
import DiskEncryption
import DiskEncryptionTPM
import EventLog
import Foundation
import PCRPrediction
import TPM2
import TPMClient
import Testing
import VirtualTPM

/// A boot chain measured into a persistent vTPM (its seeds, hence its SRK, survive reboots): a
/// real event log whose every event the test extends into the PCRs, as firmware and boot
/// loaders do, and the Debian boot files that replace the logged ones in an update.
struct MeasuredBoot {
    /// RHEL 9 shim → grub → kernel under OVMF with Secure Boot (SHA-1 and SHA-256 banks); GRUB
    /// measures the kernel and initrd into PCR 9 and its commands into PCR 8.
    static let log = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/testdata/eventlog/keylime-mb-secureboot.bin").standardized.path
    static let shim = "/usr/lib/shim/shimx64.efi.signed"
    static let grub = "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed"
    static let kernel: String? = ((try? FileManager.default.contentsOfDirectory(atPath: "/boot")) ?? [])
        .filter { $0.hasPrefix("vmlinuz-") }.sorted().last.map { "/boot/" + $0 }
    static let available = kernel != nil && [log, shim, grub].allSatisfy(FileManager.default.fileExists(atPath:))
    static let missing = "needs ../shared/testdata/eventlog, /usr/lib/shim/shimx64.efi.signed, grubx64.efi.signed and /boot/vmlinuz-*: apt-get install shim-signed grub-efi-amd64-signed linux-image-amd64"

    let engine: TPMEngine
    let client: TPM2Client

    /// A persistent vTPM whose state lives in `directory`, powered on but not started.
    init(directory: URL) throws {
        engine = try TPMEngine(mode: .persistent(try VTPMStateStore(directory: directory, key: [UInt8](repeating: 7, count: 32))))
        engine.powerOn()
        client = TPM2Client(transport: EngineTransport(engine: engine))
    }

    /// A reboot: power cycle, TPM2_Startup(CLEAR) (Part 1 §12.2: PCRs back to their reset
    /// values), then every event of `log` extended into its PCR in each bank it records
    /// (TPM2_PCR_Extend, Part 3 §22.2), EV_NO_ACTION events excepted (PFP §10.4.5).
    func boot(_ log: EventLog) throws {
        engine.powerOff()
        engine.powerOn()
        try TPM2Client(transport: EngineTransport(engine: engine, locality: log.startupLocality)).startup(.clear)
        for event in log.events where event.eventType != .noAction {
            let digests = event.digests.compactMap { digest in
                TPMHashAlgorithm(TPMAlgorithmID(rawValue: digest.algorithm.rawValue)).map { TPMTHA(algorithm: $0, digest: digest.bytes) }
            }
            try client.pcrExtend(pcr: Int(event.pcrIndex), digests: TPMLDigestValues(digests))
        }
    }

    func sha256(_ pcrs: [Int]) throws -> [Int: [UInt8]] {
        try client.sha256Values(of: pcrs)
    }

    static func bytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// The update: Debian's shim, grub and `kernel` replace the three boot applications (PCR 4),
    /// and `kernel` replaces GRUB's PCR 9 measurement of the file its linux command loads.
    static func update(_ log: EventLog, kernel: [UInt8]) throws -> PCRPrediction {
        let images = try [try bytes(shim), try bytes(grub), kernel].map { try PEImage(bytes: $0) }
        return try PCRPrediction(log: log, replacing: images, files: [BootFile(target: .kernel, contents: kernel)])
    }
}

/// `resealTPM2` and `commitTPM2` through a kernel update: enroll in the running chain, predict
/// the next one, boot it, commit; an untrusted kernel and a failed update. The expected PCR
/// values come from the vTPM after extending the logs, the policies from Part 3 §23.7 computed
/// in the test (`TPM2TokenTests.expectedPolicy`), the header state from cryptsetup.
@Suite("Resealing for the next boot", .enabled(if: Tools.cryptsetupAvailable && MeasuredBoot.available, Comment(rawValue: MeasuredBoot.missing)))
struct ResealTests {
    static let pcrs = [4, 7, 9]

    /// A CVMKit volume with the recovery passphrase in keyslot 0 and a token sealed to PCRs 4, 7
    /// and 9 of the logged boot (and to `pin`); the boot, the log and the recovery key file.
    static func enrolled(_ directory: URL, pin: [UInt8]? = nil) throws -> (boot: MeasuredBoot, log: EventLog, path: String, volumeKey: SymmetricKey, keyFile: String) {
        let boot = try MeasuredBoot(directory: directory)
        let log = try EventLog(bytes: try MeasuredBoot.bytes(MeasuredBoot.log))
        try boot.boot(log)
        let replay = log.replay().values
        for pcr in 0..<10 {
            #expect(try boot.sha256([pcr])[pcr] == replay[.sha256, UInt32(pcr)], "PCR \(pcr) after extending the log")
        }
        var (path, volume, volumeKey) = try TPM2TokenTests.volume(directory)
        try volume.enrollTPM2(client: boot.client, pcrs: pcrs, pin: pin, volumeKey: volumeKey)
        return (boot, log, path, volumeKey, try Tools.writeFile(directory, "recovery", TPM2TokenTests.passphrase))
    }

    /// The token ids and keyslots cryptsetup lists for systemd-tpm2 tokens.
    static func dumpedTokens(_ path: String) throws -> [Int: [String]] {
        var tokens: [Int: [String]] = [:]
        let dump = String(decoding: try Tools.run(["cryptsetup", "luksDump", path]).output, as: UTF8.self)
        for line in dump.split(separator: "\n") where line.hasSuffix(": systemd-tpm2") {
            guard let id = Int(line.split(separator: ":")[0].trimmingCharacters(in: .whitespaces)) else { continue }
            tokens[id] = try TPM2TokenTests.exportedToken(path, id: id)["keyslots"] as? [String]
        }
        return tokens
    }

    /// A kernel whose Authenticode digest and file hash differ from Debian's: one byte flipped.
    static func untrustedKernel() throws -> [UInt8] {
        var kernel = try MeasuredBoot.bytes(try #require(MeasuredBoot.kernel))
        kernel[kernel.count / 2] ^= 0x5A
        return kernel
    }

    @Test("Kernel update: reseal adds a token for the predicted PCRs; the new chain unlocks with it; commit drops the old one")
    func update() throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (boot, log, path, volumeKey, keyFile) = try Self.enrolled(directory)
        let prediction = try MeasuredBoot.update(log, kernel: try MeasuredBoot.bytes(try #require(MeasuredBoot.kernel)))
        #expect(prediction.changedRegisters == [4, 9])

        var volume = try LUKS2Volume(path: path, writable: true)
        let reseal = try volume.resealTPM2(client: boot.client, prediction: prediction)
        #expect([reseal.token, reseal.keyslot] == [1, 2] && reseal.added)
        #expect(reseal.pcrs == Self.pcrs && reseal.changedPCRs == [4, 9])
        #expect(try Self.dumpedTokens(path) == [0: ["1"], 1: ["2"]])
        let predicted = Self.pcrs.map { prediction.predicted[.sha256, UInt32($0)]! }
        let exported = try TPM2TokenTests.exportedToken(path, id: 1)
        #expect(exported["tpm2-policy-hash"] as? String == Tools.hex(TPM2TokenTests.expectedPolicy(pcrs: Self.pcrs, values: predicted)))
        var again = try LUKS2Volume(path: path, writable: true)
        #expect(try again.resealTPM2(client: boot.client, prediction: prediction).added == false)

        try boot.boot(prediction.predictedLog)
        let booted = try boot.sha256(Self.pcrs)
        #expect(Self.pcrs.compactMap { booted[$0] } == predicted)
        let unlocked = try LUKS2Volume(path: path).unlockTPM2(client: boot.client)
        #expect(unlocked.keyslot == 2)
        #expect(unlocked.volumeKey == volumeKey)
        #expect(throws: TPM2TokenError.pcrMismatch([4, 9])) { try LUKS2Volume(path: path).unlockTPM2(client: boot.client, token: 0) }

        #expect(try volume.commitTPM2(client: boot.client) == [0])
        #expect(try Self.dumpedTokens(path) == [1: ["2"]])
        #expect(volume.header.metadata.keyslots.keys.sorted() == ["0", "2"])
        #expect(try volume.commitTPM2(client: boot.client) == [])
        #expect(try Tools.cryptsetupVolumeKey(path, keyFile: keyFile) == volumeKey.withUnsafeBytes { Array($0) })
    }

    @Test("An untrusted kernel boots: unlock is refused naming PCR 4 and 9 for each token, commit removes nothing; the recovery passphrase opens")
    func untrustedKernel() throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (boot, log, path, _, keyFile) = try Self.enrolled(directory)
        var volume = try LUKS2Volume(path: path, writable: true)
        try volume.resealTPM2(client: boot.client, prediction: try MeasuredBoot.update(log, kernel: try MeasuredBoot.bytes(try #require(MeasuredBoot.kernel))))

        try boot.boot(try MeasuredBoot.update(log, kernel: try Self.untrustedKernel()).predictedLog)
        #expect(throws: TPM2TokenError.tokensRefused([0: .pcrMismatch([4, 9]), 1: .pcrMismatch([4, 9])])) {
            try LUKS2Volume(path: path).unlockTPM2(client: boot.client)
        }
        #expect(throws: TPM2TokenError.noCurrentToken) { try volume.commitTPM2(client: boot.client) }
        #expect(try Self.dumpedTokens(path).count == 2)
        try Tools.run(["cryptsetup", "open", "--test-passphrase", "--key-file", keyFile, path])
    }

    @Test("A failed update: the old chain boots again and its token still unlocks; commit there drops the predicted token")
    func failedUpdate() throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (boot, log, path, volumeKey, _) = try Self.enrolled(directory)
        var volume = try LUKS2Volume(path: path, writable: true)
        try volume.resealTPM2(client: boot.client, prediction: try MeasuredBoot.update(log, kernel: try Self.untrustedKernel()))

        try boot.boot(log)
        let unlocked = try LUKS2Volume(path: path).unlockTPM2(client: boot.client)
        #expect(unlocked.keyslot == 1)
        #expect(unlocked.volumeKey == volumeKey)
        #expect(try volume.commitTPM2(client: boot.client) == [1])
        #expect(try Self.dumpedTokens(path) == [0: ["1"]])
    }

    @Test("Reseal is refused when the log does not replay to the TPM's PCRs, or does not extend a sealed PCR")
    func refusals() throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (boot, log, path, volumeKey, _) = try Self.enrolled(directory)
        let prediction = try MeasuredBoot.update(log, kernel: try Self.untrustedKernel())
        var volume = try LUKS2Volume(path: path, writable: true)
        #expect(throws: TPM2TokenError.unpredictablePCRs([16])) {
            try volume.resealTPM2(client: boot.client, prediction: prediction, pcrs: [7, 16], volumeKey: volumeKey)
        }
        try TPM2TokenTests.extend(boot.client, pcr: 9, with: [UInt8](repeating: 0x11, count: 32))
        #expect(throws: TPM2TokenError.eventLogMismatch([9])) {
            try volume.resealTPM2(client: boot.client, prediction: prediction, volumeKey: volumeKey)
        }
        #expect(try Self.dumpedTokens(path) == [0: ["1"]])
    }
}
