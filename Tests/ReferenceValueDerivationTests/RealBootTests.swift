import Attestation
import Authenticode
import Crypto
import EventLog
import Foundation
import PCRPrediction
import ReferenceValueDerivation
import TPM2
import TestSupport
import Testing

/// Reference values derived from real event logs (../shared/testdata/eventlog) with Debian's signed
/// shim, GRUB, kernel and initrd as the new boot files. The expected PCR 4 and 9 are computed here
/// from the log's other events and the files' digests as pesign and coreutils print them, at the
/// events the logs show for each file (`cvm eventlog show`, tpm2_eventlog); PCR 7 is the log's own
/// (and, where published, the TPM's); the whole document is cross-checked with what
/// `cvm pcr predict` prints and what `cvm reference-values` writes.
@Suite("Reference values from real event logs and Debian's boot files", .enabled(if: Peers.debianBootFiles, Comment(rawValue: Peers.debianBootFilesMissing)))
struct RealBootTests {
    /// A log and the events at which it measures each file.
    struct Case: Sendable, CustomTestStringConvertible {
        let log: String
        let shim: [Int]
        let grub: [Int]
        /// The boot applications GRUB has the firmware load for the kernel.
        let kernel: [Int]
        /// GRUB's PCR 9 measurements of the kernel and the initrd.
        let kernelFile: [Int]
        let initrdFile: [Int]
        /// The TPM's PCR values published with the log.
        let pcrsFile: String?
        /// Whether shim and GRUB are the log's first boot applications, as `cvm pcr predict --image` needs.
        let predictable: Bool
        var testDescription: String { log }

        func boot(commandLine: String = RealBootTests.commandLine) throws -> MeasuredBoot {
            MeasuredBoot(
                eventLog: try EventLog(bytes: try Peers.eventLog(log)), shim: try PEImage(bytes: try Peers.read(Peers.shim)),
                grub: try PEImage(bytes: try Peers.read(Peers.grub)), kernel: try Peers.read(try #require(Peers.kernel)),
                initrds: initrdFile.isEmpty ? [] : [try Peers.read(try #require(Peers.initrd))], commandLine: commandLine)
        }

        /// The options of both commands for the same files.
        var fileArguments: [String] {
            ["--kernel", Peers.kernel!] + (initrdFile.isEmpty ? [] : ["--initrd", Peers.initrd!]) + ["--cmdline", RealBootTests.commandLine]
        }
    }

    static let commandLine = "root=/dev/vda1 ro console=ttyS0 quiet"

    static let cases = [
        // RHEL 9 under QEMU: shim, GRUB, and the kernel GRUB has the firmware load; SHA-256 only.
        Case(log: "keylime-mb-secureboot.bin", shim: [29], grub: [35], kernel: [93], kernelFile: [92], initrdFile: [96], pcrsFile: nil, predictable: true),
        // CentOS Stream 9: the kernel is loaded twice.
        Case(log: "keylime-issue1153.bin", shim: [25], grub: [28], kernel: [95, 96], kernelFile: [94], initrdFile: [99], pcrsFile: nil, predictable: true),
        // A ThinkPad: a firmware application before shim; GRUB 2.04 loads no kernel image; SHA-1 and SHA-256.
        Case(log: "cmc-pc.bin", shim: [46], grub: [50], kernel: [], kernelFile: [124], initrdFile: [127], pcrsFile: nil, predictable: false),
        // A GCE VM: SHA-1, SHA-256 and SHA-384, PCRs read from its vTPM; no initrd command.
        Case(log: "gce-ubuntu2104-no-dbx.bin", shim: [23], grub: [27], kernel: [], kernelFile: [101], initrdFile: [],
             pcrsFile: "gce-ubuntu2104-no-dbx.pcrs.json", predictable: true),
    ]

    /// `bank`'s chain of the log's events in `register`, with the digests of `replaced` events
    /// taken from that dictionary: what the register holds after the boot.
    static func chain(_ log: EventLog, _ register: UInt32, _ bank: TPMAlgorithm, replacing replaced: [Int: [UInt8]]) throws -> [UInt8] {
        var value = [UInt8](repeating: 0, count: try #require(bank.digestSize))
        for event in log.events where event.pcrIndex == register && event.eventType != .noAction {
            let digest = try #require(replaced[event.index] ?? event.digest(bank))
            value = switch bank {
            case .sha1: Array(Insecure.SHA1.hash(data: value + digest))
            case .sha256: Array(SHA256.hash(data: value + digest))
            default: Array(SHA384.hash(data: value + digest))
            }
        }
        return value
    }

    @Test("PCRs 4 and 9 are the log's with pesign's and coreutils' digests of the new files; PCR 7 is unchanged; boot files are pesign's",
          arguments: cases)
    func derivedFromTheFiles(_ test: Case) throws {
        let boot = try test.boot()
        let derived = try boot.referenceValues()
        let log = boot.eventLog
        let banks = log.algorithms
        #expect(Set(derived.referenceValues.pcrs.keys) == Set(banks.map { TPMAlgorithmID(rawValue: $0.rawValue) }))
        for bank in banks {
            let pcrs = try #require(derived.referenceValues.pcrs[TPMAlgorithmID(rawValue: bank.rawValue)])
            #expect(pcrs.keys.sorted() == [4, 7, 8, 9], "\(bank)")
            #expect(pcrs[7] == [try #require(log.replay().values[bank, 7])], "PCR 7 \(bank) is the log's")
            let files = try Dictionary(uniqueKeysWithValues: test.kernelFile.map { ($0, try Peers.coreutilsDigest(Peers.kernel!, "\(bank)")) }
                + test.initrdFile.map { ($0, try Peers.coreutilsDigest(Peers.initrd!, "\(bank)")) })
            #expect(pcrs[9] == [try Self.chain(log, 9, bank, replacing: files)], "PCR 9 \(bank)")
            guard bank != .sha384 else { continue }  // pesign computes SHA-1 and SHA-256 Authenticode digests only
            var images: [Int: [UInt8]] = [:]
            for (events, file) in [(test.shim, Peers.shim), (test.grub, Peers.grub), (test.kernel, Peers.kernel!)] {
                for event in events { images[event] = try Peers.pesign(file, "\(bank)") }
            }
            #expect(pcrs[4] == [try Self.chain(log, 4, bank, replacing: images)], "PCR 4 \(bank)")
        }
        if let pcrsFile = test.pcrsFile {
            let published = try PCRValues(json: try Peers.eventLog(pcrsFile))
            #expect(!published.banks.isEmpty)
            for bank in banks where published.banks[bank] != nil {
                #expect(derived.referenceValues.pcrs[TPMAlgorithmID(rawValue: bank.rawValue)]?[7] == published[bank, 7].map { [$0] }, "TPM's PCR 7 \(bank)")
            }
        }
        var expectedFiles: [[UInt8]] = []
        for event in log.events where event.eventType == .efiBootServicesApplication {
            let file = test.shim.contains(event.index) ? Peers.shim : test.grub.contains(event.index) ? Peers.grub
                : test.kernel.contains(event.index) ? Peers.kernel : nil
            let digest = try file.map { try Peers.pesign($0, "sha256") } ?? event.digest(.sha256)
            if let digest, !expectedFiles.contains(digest) { expectedFiles.append(digest) }
        }
        #expect(derived.referenceValues.bootFiles == expectedFiles)
        #expect(derived.replacedBootApplications.map(\.event) == (test.shim + test.grub + test.kernel).sorted())
        #expect(derived.prediction.replacedFiles.map(\.event) == (test.kernelFile + test.initrdFile).sorted())
    }

    @Test("cvm reference-values writes the library's document, and every PCR is what cvm pcr predict prints",
          .enabled(if: cvmExecutable != nil, "needs the cvm executable beside the tests (swift build) or CVM_BINARY"),
          arguments: cases)
    func commandsAgree(_ test: Case) throws {
        let cvm = try #require(cvmExecutable)
        let log = Peers.eventLogs.appendingPathComponent(test.log).path
        let (status, output, summary) = try Peers.run(cvm, ["reference-values", "--event-log", log, "--shim", Peers.shim, "--grub", Peers.grub]
            + test.fileArguments)
        #expect(status == 0, "\(summary)")
        let document = try ReferenceValues(json: output)
        #expect(document == (try test.boot().referenceValues().referenceValues))
        #expect(summary.contains("replaced shim (event \(test.shim[0])), grub (event \(test.grub[0]))"))

        guard test.predictable else { return }
        let images = [Peers.shim, Peers.grub] + test.kernel.map { _ in Peers.kernel! }
        let predicted = try Peers.output(cvm, ["pcr", "predict", log] + images.flatMap { ["--image", $0] } + test.fileArguments + ["--json"])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(predicted.utf8)) as? [String: Any])["registers"] as? [[String: Any]]
        var compared = 0
        for row in try #require(rows) {
            let index = try #require(row["index"] as? Int), bankName = try #require(row["bank"] as? String)
            guard MeasuredBoot.bootChainPCRs.contains(index), let bank = TPMAlgorithmID(name: bankName) else { continue }
            #expect(document.pcrs[bank]?[index]?.map(Peers.hex) == [try #require(row["predicted"] as? String)], "PCR \(index) \(bankName)")
            compared += 1
        }
        #expect(compared == 4 * (try test.boot().eventLog.algorithms.count))
    }
}
