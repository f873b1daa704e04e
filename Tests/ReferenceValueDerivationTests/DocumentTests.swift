import Attestation
import Authenticode
import Crypto
import EmulatedPlatform
import EventLog
import Foundation
import PCRPrediction
import ReferenceValueDerivation
import SEVSNP
import TPM2
import TestSupport
import Testing

/// Merging documents, the platform requirements, the JSON document, and every refusal.
@Suite("Reference values documents: merging, requirements, refusals")
struct DocumentTests {
    static let a = [UInt8](repeating: 0xA, count: 32), b = [UInt8](repeating: 0xB, count: 32), c = [UInt8](repeating: 0xC, count: 32)

    @Test("Merging unions the allowlists in order without repeats; TCB minimums take the higher, flags the common ones")
    func merge() {
        var document = ReferenceValues(
            snpMeasurements: [[1], [2]], pcrs: [.sha256: [4: [Self.a], 7: [Self.b]]], bootFiles: [Self.a],
            minimumTCB: SNPPolicy.MinimumTCB(bootloader: 3, tee: 1, snp: 20), allowedSNPPolicyFlags: [.smt, .debug])
        document.merge(ReferenceValues(
            snpMeasurements: [[2], [3]], pcrs: [.sha256: [4: [Self.c, Self.a]], .sha1: [9: [[9]]]], bootFiles: [Self.b, Self.a],
            minimumTCB: SNPPolicy.MinimumTCB(bootloader: 2, snp: 22, microcode: 200), allowedSNPPolicyFlags: [.smt, .migrateMA]))
        #expect(document.snpMeasurements == [[1], [2], [3]])
        #expect(document.pcrs == [.sha256: [4: [Self.a, Self.c], 7: [Self.b]], .sha1: [9: [[9]]]])
        #expect(document.bootFiles == [Self.a, Self.b])
        #expect(document.minimumTCB == SNPPolicy.MinimumTCB(bootloader: 3, tee: 1, snp: 22, microcode: 200))
        #expect(document.allowedSNPPolicyFlags == [.smt])

        var empty = ReferenceValues()
        empty.merge(document)
        #expect(empty == document)
        document.merge(ReferenceValues())
        #expect(empty == document)
    }

    @Test("--min-tcb replaces the document's minimum; --forbid-debug leaves every flag but debug, or the document's but debug")
    func requirements() throws {
        let existing = ReferenceValues(minimumTCB: SNPPolicy.MinimumTCB(bootloader: 9, microcode: 250), allowedSNPPolicyFlags: [.smt, .debug])
        let minimum = SNPPolicy.MinimumTCB(bootloader: 4, tee: 0, snp: 22, microcode: 213)
        let derived = try ReferenceValueSources(minimumTCB: minimum, forbidDebug: true).derive(adding: existing)
        #expect(derived.document.minimumTCB == minimum)
        #expect(derived.document.allowedSNPPolicyFlags == [.smt])
        let fresh = try ReferenceValueSources(forbidDebug: true).derive()
        #expect(fresh.document.allowedSNPPolicyFlags == Set(SNPPolicyFlag.allCases).subtracting([.debug]))
        #expect(fresh.document.minimumTCB == nil)
    }

    @Test("The JSON document is docs/policy.md's: hex values, flags by name, empty members left out, and it decodes to the same values")
    func json() throws {
        let document = ReferenceValues(
            snpMeasurements: [[UInt8](repeating: 0xB0, count: 48)], pcrs: [.sha256: [4: [Self.a, Self.b]], .sha1: [7: [[UInt8](repeating: 1, count: 20)]]],
            minimumTCB: SNPPolicy.MinimumTCB(bootloader: 2, tee: 0, snp: 5, microcode: 68), allowedSNPPolicyFlags: [.debug, .smt])
        let json = try document.jsonEncoded()
        #expect(try ReferenceValues(json: json) == document)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
        #expect(Set(object.keys) == ["snpMeasurements", "pcrs", "minimumTCB", "allowedSNPPolicyFlags"])
        #expect(object["allowedSNPPolicyFlags"] as? [String] == ["smt", "debug"])
        #expect((object["pcrs"] as? [String: [String: [String]]])?["sha256"]?["4"] == [Peers.hex(Self.a), Peers.hex(Self.b)])
        #expect(try ReferenceValues(json: try ReferenceValues().jsonEncoded()) == ReferenceValues())
    }

    @Test("The TDX members survive encoding and merging: the committed Azure TDX example round-trips")
    func tdxMembers() throws {
        let example = try Data(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../examples/policies/azure-tdx.reference.json").standardized)
        let document = try ReferenceValues(json: Array(example))
        #expect(!document.tdxMRTDs.isEmpty || !document.tdxRTMRs.isEmpty)
        #expect(try ReferenceValues(json: try document.jsonEncoded()) == document)
        var merged = ReferenceValues()
        merged.merge(document)
        merged.merge(document)
        #expect(merged.tdxMRTDs == document.tdxMRTDs)
        #expect(merged.tdxRTMRs == document.tdxRTMRs)
    }

    @Test("Merging keeps an example document's values and adds the derived ones")
    func mergesExample() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let example = try ReferenceValues(json: Array(try Data(contentsOf: root.appendingPathComponent("examples/policies/snp-milan.reference.json"))))
        let firmware = try EmulatedFirmware.synthetic()
        let derived = try ReferenceValueSources(
            snpLaunches: [SNPLaunchMeasurement(firmware: firmware.image, vcpus: 2, vcpuSignature: SNPVCPUType.epycMilan.cpuid.signature)],
            forbidDebug: true).derive(adding: example)
        #expect(derived.document.snpMeasurements == example.snpMeasurements + [try firmware.launchMeasurement(vcpus: 2, vcpuType: .epycMilan)])
        #expect(derived.document.minimumTCB == example.minimumTCB)
        #expect(derived.document.allowedSNPPolicyFlags == [.smt])
    }

    // MARK: Refusals

    static func log(_ name: String) throws -> EventLog { try EventLog(bytes: try Peers.eventLog(name)) }

    @Test("A boot without a replacement, a kernel with a UKI, and PCR indices out of range or never extended are refused")
    func refusedInputs() throws {
        let log = try Self.log("keylime-mb-secureboot.bin")
        #expect(throws: ReferenceValueDerivationError.noReplacement) { try MeasuredBoot(eventLog: log).referenceValues() }
        let image = try SyntheticPEImage.make(code: Array("image".utf8))
        #expect(throws: ReferenceValueDerivationError.kernelAndUKI) {
            try MeasuredBoot(eventLog: log, kernel: image.bytes, uki: image).referenceValues()
        }
        #expect(throws: ReferenceValueDerivationError.pcrIndexOutOfRange(24)) {
            try MeasuredBoot(eventLog: log, commandLine: "ro").referenceValues(pcrs: [4, 24])
        }
        #expect(throws: ReferenceValueDerivationError.noPCRs([15, 16])) {
            try MeasuredBoot(eventLog: log, commandLine: "ro").referenceValues(pcrs: [15, 16])
        }
        #expect(throws: ReferenceValueDerivationError.measuredBoot(number: 2, .noReplacement)) {
            try ReferenceValueSources(measuredBoots: [MeasuredBoot(eventLog: log, commandLine: "ro"), MeasuredBoot(eventLog: log)]).derive()
        }
    }

    @Test("Files the log has no place for are refused: GRUB in a systemd-boot log, shim before a first GRUB, an initrd without initrd command")
    func refusedFiles() throws {
        let image = try SyntheticPEImage.make(code: Array("image".utf8))
        #expect(throws: ReferenceValueDerivationError.noBootApplication(.grub)) {
            try MeasuredBoot(eventLog: try Self.log("workstation-arch-linux-systemd-boot.bin"), grub: image).referenceValues()
        }
        var grubFirst = try EventLog(algorithms: [.sha256])
        try grubFirst.appendMeasurement(pcrIndex: 4, eventType: .efiBootServicesApplication, data: Array("GRUB".utf8))
        try grubFirst.appendMeasurement(pcrIndex: 8, eventType: .ipl, data: Array("grub_cmd: set timeout=5\0".utf8))
        #expect(throws: ReferenceValueDerivationError.noBootApplication(.shim)) {
            try MeasuredBoot(eventLog: grubFirst, shim: image).referenceValues()
        }
        let replaced = try MeasuredBoot(eventLog: grubFirst, grub: image).referenceValues()
        #expect(replaced.referenceValues.pcrs[.sha256]?[4] == [Array(SHA256.hash(data: [UInt8](repeating: 0, count: 32) + image.authenticodeDigest(.sha256)))])
        #expect(throws: ReferenceValueDerivationError.prediction(.noGRUBCommand("initrd"))) {
            try MeasuredBoot(eventLog: try Self.log("gce-ubuntu2104-no-dbx.bin"), initrds: [[1]]).referenceValues()
        }
    }

    @Test("A kernel the log loads as a boot application must be a PE image; one it only reads need not be")
    func kernelNotPE() throws {
        let notPE = Array("not an EFI application".utf8)
        #expect {
            try MeasuredBoot(eventLog: try Self.log("keylime-mb-secureboot.bin"), kernel: notPE).referenceValues()
        } throws: { error in
            guard case .kernelNotEFIApplication = error as? ReferenceValueDerivationError else { return false }
            return true
        }
        let read = try MeasuredBoot(eventLog: try Self.log("gce-ubuntu2104-no-dbx.bin"), kernel: notPE).referenceValues()
        #expect(read.replacedBootApplications.isEmpty)
        #expect(read.prediction.replacedFiles.map(\.path) == ["/boot/vmlinuz-5.11.0-1008-gcp"])
    }

    @Test("cvm reference-values refuses options outside a set and merges into a document, exiting non-zero on errors",
          .enabled(if: cvmExecutable != nil, "needs the cvm executable beside the tests (swift build) or CVM_BINARY"))
    func command() throws {
        let cvm = try #require(cvmExecutable)
        let misplaced = try Peers.run(cvm, ["reference-values", "--kernel", "/boot/vmlinuz", "--ovmf", "x.fd", "--vcpus", "1", "--vcpu-type", "EPYC-v4"])
        #expect(misplaced.status != 0 && misplaced.errors.contains("--kernel must follow an --ovmf or --event-log"), "\(misplaced.errors)")
        let badSet = try Peers.run(cvm, ["reference-values", "--ovmf", "x.fd", "--vcpus", "1", "--vcpu-type", "EPYC-X"])
        #expect(badSet.status != 0 && badSet.errors.contains("In the set --ovmf x.fd"), "\(badSet.errors)")
        let badTCB = try Peers.run(cvm, ["reference-values", "--min-tcb", "bootloader=4,teee=0"])
        #expect(badTCB.status != 0 && badTCB.errors.contains("--min-tcb"), "\(badTCB.errors)")
        let noBoot = try Peers.run(cvm, ["reference-values", "--event-log", Peers.eventLogs.appendingPathComponent("cmc-pc.bin").path])
        #expect(noBoot.status != 0 && noBoot.errors.contains("Boot 1: A boot needs at least one replacement file"), "\(noBoot.errors)")

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cvmkit-refvals-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let existing = directory.appendingPathComponent("existing.json").path
        let first = ReferenceValues(pcrs: [.sha256: [8: [Self.a]]], minimumTCB: SNPPolicy.MinimumTCB(bootloader: 1))
        try Data(try first.jsonEncoded()).write(to: URL(fileURLWithPath: existing))
        let out = directory.appendingPathComponent("merged.json").path
        let log = Peers.eventLogs.appendingPathComponent("keylime-mb-secureboot.bin").path
        let merged = try Peers.run(cvm, ["reference-values", "--merge", existing, "--out", out, "--pcrs", "8",
                                         "--event-log", log, "--cmdline", "ro quiet", "--event-log", log, "--cmdline", "ro",
                                         "--min-tcb", "bootloader=4,tee=0,snp=22,microcode=213"])
        #expect(merged.status == 0 && merged.output.isEmpty, "\(merged.errors)")
        let document = try ReferenceValues(json: try Peers.read(out))
        let expected = try ReferenceValueSources(
            measuredBoots: [MeasuredBoot(eventLog: try Self.log("keylime-mb-secureboot.bin"), commandLine: "ro quiet"),
                            MeasuredBoot(eventLog: try Self.log("keylime-mb-secureboot.bin"), commandLine: "ro")],
            pcrIndices: [8], minimumTCB: SNPPolicy.MinimumTCB(bootloader: 4, tee: 0, snp: 22, microcode: 213)).derive(adding: first)
        #expect(document == expected.document)
        #expect(document.pcrs[.sha256]?[8]?.count == 3)
        #expect(merged.errors.contains("merged") && merged.errors.contains("written to \(out)"), "\(merged.errors)")
    }
}

/// PCRPrediction's replacement by boot application position, which the derivation uses.
@Suite("PCR prediction by boot application position")
struct PositionalPredictionTests {
    @Test("Positions 0 and 1 predict what the first two images in order predict; absent positions and a UKI over a replaced last application are refused")
    func positions() throws {
        let log = try EventLog(bytes: try Peers.eventLog("keylime-issue1153.bin"))
        let shim = try SyntheticPEImage.make(code: Array("shim".utf8)), grub = try SyntheticPEImage.make(code: Array("grub".utf8))
        let inOrder = try PCRPrediction(log: log, replacing: [shim, grub])
        let byPosition = try PCRPrediction(log: log, replacingBootApplications: [1: grub, 0: shim])
        #expect(byPosition.predicted == inOrder.predicted)
        #expect(byPosition.changedRegisters == [4])
        #expect(throws: PCRPredictionError.noBootApplication(position: 4, bootApplications: 4)) {
            try PCRPrediction(log: log, replacingBootApplications: [4: grub])
        }
        #expect(throws: PCRPredictionError.bootApplicationReplacedTwice(position: 3)) {
            try PCRPrediction(log: log, replacingBootApplications: [3: grub], uki: grub)
        }
        #expect(throws: PCRPredictionError.tooManyImages(given: 5, bootApplications: 4)) {
            try PCRPrediction(log: log, replacing: [shim, grub, shim, grub, shim])
        }
    }
}
