import Attestation
import AttestationClient
import AttestationServer
import Crypto
import DiskEncryption
import EmulatedPlatform
import EventLog
import Foundation
import GuestAgent
import KeyBroker
import Logging
import SEVSNP
import TPM2

/// The end-to-end story `cvm demo` tells, on the emulated platform and an in-process service:
/// the owner provisions a release policy, reference values derived from the image, a disk key
/// and a secret; a confidential VM boots, its agent attests and receives both, and its data disk
/// unlocks; then VMs with a tampered kernel and with the debug policy are refused, with every
/// rule explained. Each step is reported as it happens and recorded in the ``DemoReport``.
public struct DemoScenario: Sendable {
    /// Where the disk images and the service's database go (removed by the caller).
    public let workDirectory: URL

    public init(workDirectory: URL) {
        self.workDirectory = workDirectory
    }

    /// Runs the story; `say` receives each line as it happens.
    public func run(say: @escaping @Sendable (String) -> Void) async throws -> DemoReport {
        var report = DemoReport()
        let clock = ContinuousClock()
        let start = clock.now

        say("1. An emulated AMD SEV-SNP host (its Secure Processor's root is emulated and trusted only because this demo opts in).")
        let platform = try EmulatedPlatform()
        let chain = try Self.certificates(platform)
        let bootChain = try EmulatedBootChain.synthetic()

        say("2. The attestation service starts (embedded SQLite), trusting AMD's roots and, for this demo, the emulated one.")
        let service = try await DemoService.start(directory: workDirectory, emulatedAnchor: platform.trustAnchor)
        do {
            try await story(platform: platform, chain: chain, bootChain: bootChain, service: service, report: &report, say: say)
        } catch {
            await service.stop()
            throw error
        }
        await service.stop()
        report.elapsed = clock.now - start
        say(String(format: "Done in %.1f s: %@.", report.elapsed.inSeconds, report.succeeded ? "every step behaved as expected" : "SOME STEPS DID NOT BEHAVE AS EXPECTED"))
        return report
    }

    private func story(
        platform: EmulatedPlatform, chain: SNPCertificateChain, bootChain: EmulatedBootChain, service: DemoService,
        report: inout DemoReport, say: @escaping @Sendable (String) -> Void
    ) async throws {
        let client = AttestationClient(baseURL: service.url, adminToken: service.adminToken)

        say("3. The owner derives reference values from the artifacts: the SNP launch measurement of the firmware image, the PCRs of the signed boot chain.")
        let references = try platform.referenceValues(for: EmulatedVMConfiguration(bootChain: bootChain))
        say("   measurement \(Self.hex(references.snpMeasurement).prefix(24))…, PCRs \(references.pcrs.keys.sorted().map(String.init).joined(separator: ", ")) (sha256)")
        try await client.putDocument(kind: "policies", name: "cvm", json: Array(DemoPolicy.document.utf8))
        try await client.putDocument(kind: "reference-values", name: "cvm", json: try references.json())
        var diskKey = Array(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
        defer { diskKey.zeroize() }
        try await client.putSecret("disk-key", value: diskKey, policy: "cvm", referenceValues: "cvm")
        try await client.putSecret("app-token", value: Array("s3cr3t-token-for-the-workload".utf8), policy: "cvm", referenceValues: "cvm")
        let dataDisk = workDirectory.appendingPathComponent("data.img").path
        try DemoDisk.format(path: dataDisk, key: diskKey, message: "hello from inside the confidential VM")
        say("   policy \"cvm\" (SEV-SNP vTPM CVM, runtime key, measurement, PCRs 4 7 8 9, secure boot, no debug), secrets disk-key and app-token, and a LUKS2 data disk whose passphrase is disk-key.")

        say("4. A confidential VM launches: firmware measures shim, GRUB and the kernel into its ephemeral vTPM; the paravisor puts the HCL report binding the vTPM's key in NV 0x01400001.")
        let good = try platform.launch(EmulatedVMConfiguration(bootChain: bootChain), diskPath: workDirectory.appendingPathComponent("good-root.img").path)
        say("   root disk sealed to the vTPM: \(Self.describe(good.diskUnlock))")
        let agent = GuestAgent(client: client, source: VTPMEvidenceSource(tpm: good.tpm, eventLog: good.eventLog, certificates: chain))
        do {
            var released = try await agent.releaseSecret("disk-key")
            defer { released.zeroize() }
            let message = try DemoDisk.read(path: dataDisk, key: released)
            let token = try await agent.releaseSecret("app-token")
            say("   ✔ the agent attested and received disk-key (HPKE-sealed to its one-time key); the data disk unlocked: \"\(message)\"")
            say("   ✔ it also received app-token (\(token.count) bytes)")
            report.record("good VM receives its secrets and unlocks its disk", expected: true, happened: true)
        } catch {
            say("   ✘ the good VM was refused: \(error)")
            report.record("good VM receives its secrets and unlocks its disk", expected: true, happened: false)
        }

        for (title, configuration, expectedRule) in [
            ("a VM whose kernel was tampered with", EmulatedVMConfiguration(bootChain: bootChain, tamperedKernel: true), "pcrs"),
            ("a VM launched with the debug policy", EmulatedVMConfiguration(bootChain: bootChain, debug: true), "debug-forbidden"),
            ("a VM booted with secure boot off", EmulatedVMConfiguration(bootChain: bootChain, secureBoot: false), "secure-boot"),
        ] {
            say("5. Now \(title) asks for disk-key.")
            let vm = try platform.launch(configuration, diskPath: workDirectory.appendingPathComponent("vm-\(UUID().uuidString).img").path)
            say("   root disk sealed to the vTPM: \(Self.describe(vm.diskUnlock))")
            let agent = GuestAgent(client: client, source: VTPMEvidenceSource(tpm: vm.tpm, eventLog: vm.eventLog, certificates: chain))
            do {
                _ = try await agent.releaseSecret("disk-key")
                say("   ✘ the service released the key to \(title)")
                report.record("\(title) is refused by rule \(expectedRule)", expected: true, happened: false)
            } catch let AttestationClientError.refused(status, code, message, rules) {
                let failed = rules.filter { !$0.passed }.map(\.rule)
                let asExpected = code == "policy_refused" && failed.contains { $0.hasPrefix(expectedRule) }
                say("   \(asExpected ? "✔" : "✘") refused (\(status) \(code)): \(rules.isEmpty ? message : "the service's explanation:")")
                for rule in rules where !rule.passed { say("      ✘ \(rule.rule): expected \(rule.expected), actual \(rule.actual)") }
                if !rules.isEmpty { say("      ✔ the \(rules.filter(\.passed).count) other rules passed (platform, runtime key, measurement, TCB, ...)") }
                report.record("\(title) is refused by rule \(expectedRule)", expected: true, happened: asExpected, failedRules: failed)
            }
        }

        let audit = try await client.audit(limit: 20).filter { $0.action == "release" }
        say("6. The audit log holds every release and refusal (values never logged):")
        for event in audit.reversed() { say("   \(event.outcome.padding(toLength: 8, withPad: " ", startingAt: 0)) \(event.subject): \(event.detail)") }
    }

    static func certificates(_ platform: EmulatedPlatform) throws -> SNPCertificateChain {
        let processor = platform.secureProcessor
        return SNPCertificateChain(endorsementKey: processor.vcek, intermediate: processor.ask, root: processor.ark)
    }

    static func describe(_ unlock: InitrdDiskUnlock) -> String {
        switch unlock {
        case .unlocked: "unlocked by the initrd"
        case .refused(let error): "refused by the vTPM (\(error))"
        }
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}

/// What happened in a demo run, step by step.
public struct DemoReport: Sendable {
    public struct Outcome: Sendable {
        public let step: String
        public let expected: Bool
        public let happened: Bool
        /// For refusals: the rules the service said failed.
        public let failedRules: [String]
    }

    public private(set) var outcomes: [Outcome] = []
    public var elapsed: Duration = .zero
    /// Whether every step went as the story says.
    public var succeeded: Bool { outcomes.allSatisfy { $0.expected == $0.happened } }

    mutating func record(_ step: String, expected: Bool, happened: Bool, failedRules: [String] = []) {
        outcomes.append(Outcome(step: step, expected: expected, happened: happened, failedRules: failedRules))
    }
}

extension Duration {
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
