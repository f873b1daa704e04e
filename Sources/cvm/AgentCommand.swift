import ArgumentParser
import Foundation
import GuestAttestation
import TPMClient

/// `cvm agent`: runs inside a confidential guest to find out what it is and collect its
/// evidence. Formatting only; the work is in the GuestAttestation library.
struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Detect the confidential platform this guest runs on and collect its attestation evidence.",
        subcommands: [Detect.self, Collect.self]
    )

    /// Where the guest's file system is and which TPM to use.
    struct Guest: ParsableArguments {
        @Option(help: "The directory that stands for / (sysfs, configfs, /dev): a copy of a guest's tree for testing.")
        var root = "/"

        @Option(help: "The TPM: device[:PATH] (below --root; default /dev/tpmrm0 when present), socket:HOST:PORT, swtpm:[HOST:]PORT or mssim:[HOST:]PORT.")
        var tpm: TPMAddress?

        var fileSystem: LocalGuestFileSystem { LocalGuestFileSystem(root: root) }

        /// The `--tpm` client, or the TPM resource manager below `--root` when there is one.
        func tpmClient() throws -> TPM2Client? {
            if let tpm { return try tpm.startedClient(root: root) }
            let device = PlatformDetector.tpmDevice
            return try fileSystem.exists(device) ? TPM2Client(transport: DeviceTransport(path: fileSystem.hostPath(device))) : nil
        }
    }

    struct Detect: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Probe the guest's attestation interfaces and print each probe with its result.")

        @OptionGroup var guest: Guest

        @Flag(help: "Print JSON.")
        var json = false

        func run() throws {
            try reportingFailures {
                let detection = PlatformDetector(fileSystem: guest.fileSystem, tpm: try guest.tpmClient()).detect()
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                    print(String(decoding: try encoder.encode(detection), as: UTF8.self))
                    return
                }
                print("platform: \(detection.platform.rawValue) (\(detection.reason))")
                let nameWidth = detection.probes.map(\.name.count).max() ?? 0
                let targetWidth = detection.probes.map(\.target.count).max() ?? 0
                for probe in detection.probes {
                    let outcome = probe.outcome.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0)
                    let name = probe.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                    let target = probe.target.padding(toLength: targetWidth, withPad: " ", startingAt: 0)
                    print("  \(outcome)  \(name)  \(target)  \(probe.detail)")
                }
            }
        }
    }

    struct Collect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Collect the platform's report, TPM quote and event logs for a nonce and write them as files.",
            discussion: """
                The report data of SNP and TDX reports is the nonce padded with zeros to 64 bytes; the TPM \
                quote's qualifying data is the nonce itself. DIR receives evidence.json (platform, nonce, the \
                interface each file came from, quoted PCR values) and one binary file per piece of evidence.
                """)

        @OptionGroup var guest: Guest

        @Option(help: "The verifier's nonce: 1 to 64 bytes as hex.")
        var nonce: String

        @Option(help: "Comma-separated SHA-256 PCRs to quote (0-23); all 24 when not given.")
        var pcrs: String?

        @Option(help: "The SEV-SNP VMPL to request the report for (configfs-tsm privlevel).")
        var privlevel: UInt32?

        @Option(help: "The directory to write the evidence files into.")
        var out: String

        func run() throws {
            try reportingFailures {
                guard let nonce = hexBytes(nonce) else { throw ValidationError("--nonce must be hex digits") }
                let indices = try pcrs.map(pcrIndices) ?? Array(0..<24)
                let collector = GuestEvidenceCollector(fileSystem: guest.fileSystem, tpm: try guest.tpmClient())
                let evidence = try collector.collect(nonce: nonce, pcrs: indices, privilegeLevel: privlevel)
                try evidence.write(toDirectory: out)
                print("platform: \(evidence.platform.rawValue)")
                for (name, bytes) in evidence.files.sorted(by: { $0.key < $1.key }) {
                    print("  \(out)/\(name)  \(bytes.count) bytes" + (evidence.sources[name].map { "  from \($0)" } ?? ""))
                }
            }
        }
    }
}
