import Authenticode
import AzureCVM
import DiskEncryptionTPM
import EmulatedPlatform
import EventLog
import Foundation
import PCRPrediction
import SEVSNP
import TPM2
import TPMClient
import Testing

/// A launch of the emulated platform with its disk in a scratch directory.
struct Launch {
    let platform: EmulatedPlatform
    let vm: EmulatedVM
    let directory: URL

    init(platform: EmulatedPlatform? = nil, chain: EmulatedBootChain? = nil, _ configure: (inout EmulatedVMConfiguration) -> Void = { _ in }) throws {
        self.platform = try platform ?? EmulatedPlatform()
        var configuration = EmulatedVMConfiguration(bootChain: try chain ?? EmulatedBootChain.synthetic())
        configure(&configuration)
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("cvmkit-emulated-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.vm = try self.platform.launch(configuration, diskPath: directory.appendingPathComponent("disk.img").path)
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// The vTPM's value of every PCR in every bank the log records, read with TPM2_PCR_Read.
    func tpmValues(banks: [TPMAlgorithm]) throws -> PCRValues {
        var values = PCRValues()
        for bank in banks {
            for pcr in 0..<24 {
                let read = try vm.tpm.pcrRead(TPMLPCRSelection([TPMSPCRSelection(hash: TPMAlgorithmID(rawValue: bank.rawValue), indices: [pcr])]))
                values.banks[bank, default: [:]][UInt32(pcr)] = read.digests[0]
            }
        }
        return values
    }
}

@Suite("Emulated confidential VM", .serialized)
struct EmulatedPlatformTests {
    let nonce = Array("emulated-nonce-0123456789abcdef".utf8)

    @Test("The HCL report verifies only when the emulated root is trusted; then the quote verifies with its AK")
    func reportVerifiesOnlyWithOptIn() throws {
        let launch = try Launch()
        defer { launch.remove() }
        let evidence = try launch.vm.collectEvidence(nonce: nonce)
        let report = try HCLReport(bytes: evidence.hclReport)
        let chain = launch.platform.secureProcessor.certificates
        let refused = azureError { () throws(AzureCVMError) in try AzureHCLVerifier().verify(report, certificates: chain, at: Date()) }
        #expect(refused == .snpReportNotVerified(.untrustedRoot(subject: "ARK-Emulated")))

        let verifier = AzureHCLVerifier(snpVerifier: SNPVerifier(trustedRoots: [launch.platform.trustAnchor]))
        let verified = try verifier.verify(report, certificates: chain, at: Date())
        #expect(verified.root == "emulated (untrusted)")
        #expect(verified.attestationKey.certificatePublicKey == (try TPMVerifyingKey(evidence.attestationKey)).certificatePublicKey)
        #expect(verified.runtimeClaims.vmConfiguration.secureBoot == true)
        #expect(verified.snp.report.measurement == (try launch.platform.firmware.launchMeasurement(vcpus: 2, vcpuType: .epycMilan)))
        #expect(!verified.snp.report.policy.debugAllowed)
        let quote = try verified.verifyQuote(
            evidence.quote.attest, signature: evidence.quote.signature, nonce: nonce, pcrValues: evidence.pcrValues)
        #expect(quote.pcrSelection.selections.first?.indices == Array(0..<24))
        // The AK is a restricted signing key, so the TPM2 library checks its attributes too.
        _ = try QuoteVerifier(attestationKey: evidence.attestationKey)
            .verifyQuote(evidence.quote.attest, signature: evidence.quote.signature, nonce: nonce, pcrValues: evidence.pcrValues)
    }

    @Test("The event log replays to the vTPM's PCRs in every bank, and decodes as a PC Client log")
    func eventLogReplays() throws {
        let launch = try Launch()
        defer { launch.remove() }
        let log = try EventLog(bytes: launch.vm.eventLog)
        #expect(log.encoded() == launch.vm.eventLog)
        #expect(log.algorithms == [.sha1, .sha256, .sha384])
        let replay = log.replay()
        #expect(replay.digestMismatches.isEmpty)
        let tpm = try launch.tpmValues(banks: log.algorithms)
        for (bank, values) in replay.values.banks {
            for (pcr, value) in values {
                #expect(tpm[bank, pcr] == value, "\(bank) PCR \(pcr)")
            }
        }
        #expect(Set(replay.values.banks[.sha256]!.keys) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
        for event in log.events {
            if case .malformed(let error) = event.content { Issue.record("event \(event.index): \(error)") }
        }
        let secureBoot = log.secureBootReport()
        #expect(secureBoot.secureBoot == true)
        #expect(secureBoot.database("PK")?.certificates.first?.subject?.contains("CVMKit emulated platform key") == true)
        #expect(secureBoot.database("db")?.sha256Hashes == [hex(launch.vm.bootChain.shim.authenticodeDigest(.sha256))])
        #expect(secureBoot.authorities.count == 1)
    }

    @Test("tpm2_eventlog parses the log and replays it to the vTPM's PCR values", .enabled(if: tool("tpm2_eventlog") != nil))
    func tpm2EventlogAgrees() throws {
        let launch = try Launch()
        defer { launch.remove() }
        let file = launch.directory.appendingPathComponent("eventlog.bin")
        try Data(launch.vm.eventLog).write(to: file)
        let output = try run(tool("tpm2_eventlog")!, [file.path])
        // The replay tpm2-tools prints last: "pcrs:", then per bank "  sha256:" and "    N  : 0xHEX".
        var bank: TPMAlgorithm?
        var printed = PCRValues()
        for line in output.split(separator: "\n").drop(while: { $0 != "pcrs:" }) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasSuffix(":"), let name = TPMAlgorithm(name: String(trimmed.dropLast())) { bank = name; continue }
            let parts = trimmed.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }
            if let bank, parts.count == 2, let pcr = UInt32(parts[0]), parts[1].hasPrefix("0x") {
                printed.banks[bank, default: [:]][pcr] = hexBytes(String(parts[1].dropFirst(2)))
            }
        }
        let tpm = try launch.tpmValues(banks: EmulatedFirmware.banks)
        #expect(printed.banks.keys.sorted() == EmulatedFirmware.banks)
        #expect(printed.banks[.sha256]?.count == 10)
        for (bank, values) in printed.banks {
            for (pcr, value) in values {
                #expect(tpm[bank, pcr] == value, "\(bank) PCR \(pcr)")
            }
        }
    }

    @Test("cryptsetup reads the disk's systemd-tpm2 token sealed to PCRs 4, 7, 8 and 9", .enabled(if: tool("cryptsetup") != nil))
    func cryptsetupReadsToken() throws {
        let launch = try Launch()
        defer { launch.remove() }
        let dump = try run(tool("cryptsetup")!, ["luksDump", launch.vm.diskPath])
        #expect(dump.contains("0: systemd-tpm2"))
        #expect(dump.contains("tpm2-hash-pcrs:   4+7+8+9"))
        #expect(dump.contains("Label:         \tcvmkit-emulated-root"))
    }

    @Test("The boot applications in PCR 4 have pesign's Authenticode digests", .enabled(if: tool("pesign") != nil))
    func pesignAgrees() throws {
        let launch = try Launch()
        defer { launch.remove() }
        let log = try EventLog(bytes: launch.vm.eventLog)
        let loads = log.events.filter { $0.eventType == .efiBootServicesApplication }
        let chain = launch.vm.bootChain
        for (event, image) in zip(loads, [chain.shim, chain.grub, chain.kernel]) {
            let file = launch.directory.appendingPathComponent("image-\(event.index).efi")
            try Data(image.bytes).write(to: file)
            #expect(hex(event.digest(.sha256) ?? []) == (try pesignDigest(file.path)))
        }
    }

    @Test("The disk unlocks in the good launch; with a changed kernel it is refused naming PCRs 4 and 9")
    func diskUnlock() throws {
        let good = try Launch()
        defer { good.remove() }
        #expect(good.vm.diskUnlock == .unlocked)
        let tampered = try Launch(platform: good.platform) { $0.tamperedKernel = true }
        defer { tampered.remove() }
        #expect(tampered.vm.diskUnlock == .refused(.pcrMismatch([4, 9])))

        // PCRPrediction, given the good boot's log and the changed kernel, predicts the values the
        // tampered launch measured.
        let goodLog = try EventLog(bytes: good.vm.eventLog)
        let kernel = tampered.vm.bootChain.kernel
        let prediction = try PCRPrediction(
            log: goodLog, replacing: [good.vm.bootChain.shim, good.vm.bootChain.grub, kernel],
            files: [BootFile(target: .kernel, contents: kernel.bytes)])
        #expect(prediction.changedRegisters == [4, 9])
        #expect(prediction.predicted == (try EventLog(bytes: tampered.vm.eventLog)).replay().values)
    }

    @Test("Secure boot off changes PCR 7 and the report's claim; the disk names PCR 7")
    func secureBootOff() throws {
        let launch = try Launch { $0.secureBoot = false }
        defer { launch.remove() }
        #expect(launch.vm.diskUnlock == .refused(.pcrMismatch([7])))
        let report = try HCLReport(bytes: try launch.vm.readHCLReport())
        #expect(report.runtimeClaims.vmConfiguration.secureBoot == false)
        let log = try EventLog(bytes: launch.vm.eventLog)
        #expect(log.secureBootReport().secureBoot == false)
        #expect(log.secureBootReport().authorities.isEmpty)
    }

    @Test("The debug policy bit and a lower TCB show in the verified report and fail the SNP policy")
    func debugAndTCB() throws {
        let oldTCB = TCBComponents(bootloader: 3, tee: 0, snp: 8, microcode: 115)
        let launch = try Launch(platform: try EmulatedPlatform(tcb: oldTCB)) { $0.debug = true }
        defer { launch.remove() }
        #expect(launch.vm.diskUnlock == .unlocked)
        let verified = try AzureHCLVerifier(snpVerifier: SNPVerifier(trustedRoots: [launch.platform.trustAnchor]))
            .verify(try HCLReport(bytes: try launch.vm.readHCLReport()), certificates: launch.platform.secureProcessor.certificates, at: Date())
        #expect(verified.snp.report.policy.debugAllowed)
        #expect(verified.snp.reportedTCB == oldTCB)
        var policy = SNPPolicy()
        policy.minimumTCB = SNPPolicy.MinimumTCB(bootloader: 4, tee: 0, snp: 22, microcode: 213)
        let appraisal = policy.appraise(verified.snp)
        #expect(!appraisal.passed)
        #expect(Set(appraisal.failures.map(\.name)).isSuperset(of: ["debug"]))
        #expect(appraisal.failures.count >= 3)
    }

    @Test("Each launch has a fresh vTPM: different EK and AK, in the vTPM and in the report")
    func ephemeral() throws {
        let first = try Launch()
        defer { first.remove() }
        let second = try Launch(platform: first.platform)
        defer { second.remove() }
        for handle in [EmulatedVM.attestationKeyHandle, EmulatedVM.endorsementKeyHandle] {
            #expect(try first.vm.tpm.readPublic(handle).name != second.vm.tpm.readPublic(handle).name)
        }
        let keys = try [first, second].map { try HCLReport(bytes: try $0.vm.readHCLReport()).runtimeClaims }
        #expect(keys[0].attestationKey != keys[1].attestationKey)
        #expect(keys[0].endorsementKey != keys[1].endorsementKey)
        #expect(keys[0].endorsementKey?.modulus == {
            guard case let .rsa(modulus) = try? first.vm.tpm.readPublic(EmulatedVM.endorsementKeyHandle).publicArea.unique else { return nil }
            return modulus
        }())
        // The same boot measures the same PCRs whatever the seeds.
        #expect(first.vm.eventLog == second.vm.eventLog)
    }

    @Test("Guest user data written to NV 0x01400002 comes back bound in a new report")
    func userData() throws {
        let launch = try Launch()
        defer { launch.remove() }
        let data = Array((0..<64).map { UInt8($0) })
        let report = try HCLReport(bytes: try launch.vm.requestHCLReport(userData: data))
        #expect(report.runtimeClaims.userDataBytes == data)
        try report.requireRuntimeClaimsBinding()
        _ = try AzureHCLVerifier(snpVerifier: SNPVerifier(trustedRoots: [launch.platform.trustAnchor]))
            .verify(report, certificates: launch.platform.secureProcessor.certificates, at: Date())
    }

    @Test("Inconsistent launch options and a 63-byte guest input are refused before anything runs")
    func refusals() throws {
        let launch = try Launch()
        defer { launch.remove() }
        let chain = try EmulatedBootChain.synthetic()
        let disk = launch.directory.appendingPathComponent("other.img").path
        #expect(throws: EmulatedPlatformError.invalidConfiguration("a VM needs at least one vCPU")) {
            try launch.platform.launch(EmulatedVMConfiguration(bootChain: chain, vcpus: 0), diskPath: disk)
        }
        #expect(throws: EmulatedPlatformError.invalidConfiguration("the disk must be sealed to PCRs among 0...23, not [7, 24]")) {
            try launch.platform.launch(EmulatedVMConfiguration(bootChain: chain, sealedPCRs: [7, 24]), diskPath: disk)
        }
        #expect(throws: EmulatedPlatformError.invalidConfiguration("the guest input is 64 bytes, not 63")) {
            try launch.vm.requestHCLReport(userData: [UInt8](repeating: 1, count: 63))
        }
        #expect(!FileManager.default.fileExists(atPath: disk))
    }

    @Test("Debian's signed shim, GRUB and kernel boot, measure and unlock like the synthetic chain",
          .enabled(if: debianBootFilesPresent))
    func debianChain() throws {
        let launch = try Launch(chain: try EmulatedBootChain.debian())
        defer { launch.remove() }
        #expect(launch.vm.diskUnlock == .unlocked)
        let log = try EventLog(bytes: launch.vm.eventLog)
        let tpm = try launch.tpmValues(banks: [.sha256])
        for (pcr, value) in log.replay().values.banks[.sha256]! {
            #expect(tpm[.sha256, pcr] == value)
        }
    }
}

@Suite("Synthetic PE images")
struct SyntheticPEImageTests {
    @Test("A synthetic EFI application parses, and pesign hashes it as Authenticode does",
          .enabled(if: tool("pesign") != nil))
    func pesign() throws {
        let image = try SyntheticPEImage.make(code: Array("hello, firmware".utf8))
        #expect(image.format == .pe32Plus)
        #expect(image.sections.map(\.name) == [".text"])
        #expect(image.certificateTable == nil)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("cvmkit-synthetic-\(UUID().uuidString).efi")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(image.bytes).write(to: file)
        #expect(try pesignDigest(file.path) == hex(image.authenticodeDigest(.sha256)))
    }
}

let debianBootFilesPresent = ["/usr/lib/shim/shimx64.efi.signed", "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed"]
    .allSatisfy(FileManager.default.fileExists(atPath:))
    && ((try? FileManager.default.contentsOfDirectory(atPath: "/boot")) ?? []).contains { $0.hasPrefix("vmlinuz-") }

/// The path of `name` in /usr/bin or /usr/sbin, if installed.
func tool(_ name: String) -> String? {
    ["/usr/bin/", "/usr/sbin/"].map { $0 + name }.first(where: FileManager.default.isExecutableFile(atPath:))
}

/// Runs `executable` and returns its standard output.
func run(_ executable: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return output
}

func hexBytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.utf8)
    return stride(from: 0, to: digits.count - 1, by: 2).compactMap { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16) }
}

/// `pesign -h -d sha256 -i FILE`'s Authenticode digest, lowercase hex.
func pesignDigest(_ path: String) throws -> String {
    let output = try run("/usr/bin/pesign", ["-h", "-d", "sha256", "-i", path])
    let line = output.split(separator: "\n").first { $0.hasPrefix("hash: ") }
    return line.map { String($0.dropFirst(6)).lowercased() } ?? "pesign printed no hash: \(output)"
}

func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

/// The typed error `body` throws, or nil when it succeeds.
func azureError<T>(_ body: () throws(AzureCVMError) -> T) -> AzureCVMError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}
