import ArgumentParser
import Attestation
import AttestationClient
import Crypto
import Foundation
import GuestAgent
import GuestAttestation
import KeyBroker
import SEVSNP
import TPMClient
import EvidenceCore

/// `cvm agent`: runs inside a confidential guest to find out what it is and collect its
/// evidence. Formatting only; the work is in the GuestAttestation library.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Detect the confidential platform this guest runs on and collect its attestation evidence.",
        subcommands: [Detect.self, Collect.self, Attest.self, Release.self]
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
                The report data of SNP and TDX reports and the TPM quote's qualifying data bind the nonce \
                (and --runtime-key's public key) as docs/evidence.md defines. DIR receives evidence.json (platform, nonce, the \
                interface each file came from, quoted PCR values) and one binary file per piece of evidence.
                """)

        @OptionGroup var guest: Guest

        @Option(help: "The verifier's nonce: 16 to 64 bytes as hex.")
        var nonce: String

        @Option(help: "PEM P-256 public or private key whose public key the evidence binds as the runtime key.")
        var runtimeKey: String?

        @Option(help: "Comma-separated SHA-256 PCRs to quote (0-23); all 24 when not given.")
        var pcrs: String?

        @Option(help: "The SEV-SNP VMPL to request the report for (configfs-tsm privlevel).")
        var privlevel: UInt32?

        @Option(help: "The directory to write the evidence files into.")
        var out: String

        func run() throws {
            try reportingFailures {
                guard let nonce = decodeHex(nonce) else { throw ValidationError("--nonce must be hex digits") }
                let indices = try pcrs.map(pcrIndices) ?? Array(0..<24)
                let collector = GuestEvidenceCollector(fileSystem: guest.fileSystem, tpm: try guest.tpmClient())
                let key = try runtimeKey.map { path in RuntimeKey(try AgentCommand.publicKey(pem: String(decoding: try readBinaryFile(path), as: UTF8.self))) }
                let evidence = try collector.collect(
                    nonce: nonce, reportData: try EvidenceBinding.reportData(nonce: nonce, runtimeKey: key),
                    qualifyingData: try EvidenceBinding.qualifyingData(nonce: nonce, runtimeKey: key), pcrs: indices, privilegeLevel: privlevel)
                try evidence.write(toDirectory: out)
                print("platform: \(evidence.platform.rawValue)")
                for (name, bytes) in evidence.files.sorted(by: { $0.key < $1.key }) {
                    print("  \(out)/\(name)  \(bytes.count) bytes" + (evidence.sources[name].map { "  from \($0)" } ?? ""))
                }
            }
        }
    }

    /// How this guest proves itself to the service.
    struct Attestation: ParsableArguments {
        @OptionGroup var guest: Guest

        @OptionGroup var connection: ServerConnectionOptions

        @Option(help: "PEM with the VCEK (then ASK and ARK) when the host does not supply them (Azure CVMs, hosts without an extended report).")
        var certificates: String?

        /// The evidence source for the platform detected.
        func source() throws -> any EvidenceSource {
            let tpm = try guest.tpmClient()
            let detection = PlatformDetector(fileSystem: guest.fileSystem, tpm: tpm).detect()
            let chain = try certificates.map { path -> SNPCertificateChain in
                let parsed = try AMDCertificate.certificates(pem: String(decoding: try readBinaryFile(path), as: UTF8.self), role: "certificate")
                guard let vcek = parsed.first else { throw ValidationError("\(path) holds no certificate") }
                return SNPCertificateChain(endorsementKey: vcek, intermediate: parsed.dropFirst().first, root: parsed.dropFirst(2).first)
            }
            switch detection.platform {
            case .azureCVM:
                guard let tpm, let chain else { throw ValidationError("an Azure CVM needs the TPM and --certificates (the VCEK chain)") }
                let log = try guest.fileSystem.read(GuestEvidenceCollector.eventLogPath)
                return VTPMEvidenceSource(tpm: tpm, eventLog: log, certificates: chain)
            case .sevSNP:
                return SNPGuestEvidenceSource(collector: GuestEvidenceCollector(fileSystem: guest.fileSystem, tpm: tpm), certificates: chain)
            default:
                throw ValidationError("platform \(detection.platform.rawValue): \(detection.reason); the agent attests SEV-SNP guests and Azure CVMs")
            }
        }
    }

    struct Attest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Attest this guest to the service and print the verdict.")

        @OptionGroup var attestation: Attestation

        @Option(help: "The policy to appraise against.")
        var policy: String?

        @Option(help: "The reference values to appraise against.")
        var referenceValues: String?

        func run() async throws {
            let agent = GuestAgent(client: try attestation.connection.client(), source: try attestation.source())
            let result = try await agent.attest(policy: policy, referenceValues: referenceValues)
            try printVerdict(result, showingEAR: false)
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Attest and receive a secret (for example the disk key), written with mode 0600.")

        @OptionGroup var attestation: Attestation

        @Argument(help: "The secret's name.")
        var name: String

        @Option(help: "Where to write the secret.")
        var out: String

        func run() async throws {
            var value = try await GuestAgent(client: try attestation.connection.client(), source: try attestation.source()).releaseSecret(name)
            defer { value.zeroize() }
            try writePrivateFile(value, to: out)
            print("released secret \(name) (\(value.count) bytes) to \(out)")
        }
    }

    /// A P-256 public key from a PEM public or private key.
    static func publicKey(pem: String) throws -> P256.KeyAgreement.PublicKey {
        if let key = try? P256.KeyAgreement.PrivateKey(pemRepresentation: pem) { return key.publicKey }
        return try P256.KeyAgreement.PublicKey(pemRepresentation: pem)
    }
}
