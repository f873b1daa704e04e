import ArgumentParser
import Attestation
import EmulatedPlatform
import Foundation
import GuestAgent
import SEVSNP
import EvidenceCore

/// `cvm launch`: launch an emulated Azure-style confidential VM and write the evidence an agent
/// would collect from it. Formatting only; the work is in the EmulatedPlatform library.
struct LaunchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Launch an emulated confidential VM (SEV-SNP, vTPM, HCL report, LUKS2 disk) and write its evidence.",
        discussion: """
            The emulated Secure Processor's root is written to emulated_root.pem and is trusted by nothing unless \
            a verifier is given it (cvm azure verify --trust-root, cvm serve --emulated-snp-root). The owner's \
            reference boot (secure boot, the unchanged kernel) seals the disk key to PCRs 4, 7, 8 and 9; the launch \
            boot then tries to unlock it.

            Without --platform every launch is a new emulated chip. With --platform DIR the chip is kept in DIR \
            (emulated-host.pem, its EMULATED TEST KEYS, mode 0600; emulated-root.pem, its ARK and ASK) and every \
            launch naming DIR is signed by it, so one `cvm serve --allow-emulated --emulated-snp-root \
            DIR/emulated-root.pem` accepts them all.

            --reference-values FILE writes what the owner expects of an untampered VM, derived from the artifacts: \
            the firmware's SNP launch measurement, PCRs 4, 7, 8 and 9 of the owner's boot replayed from the log the \
            firmware writes for it, and the chip's TCB as the minimum. Without --out no VM is launched.

            --bundle FILE writes the azure-sev-snp-vtpm evidence bundle (docs/evidence.md) for --nonce, binding the \
            public half of --runtime-key as the guest agent does; `cvm secret release NAME --evidence FILE \
            --runtime-key KEY` then asks the service for a secret.
            """)

    enum Switch: String, ExpressibleByArgument {
        case on, off
    }

    @Flag(help: "Boot a kernel with one byte changed: PCRs 4 and 9 differ and the disk is refused.")
    var tamperedKernel = false

    @Flag(help: "Set the guest policy's DEBUG bit in the SNP report.")
    var debug = false

    @Option(help: "UEFI secure boot of the launch boot: on or off (off changes PCR 7 and the secure-boot claim).")
    var secureBoot: Switch = .on

    @Option(help: "The TCB the emulated chip reports: BOOTLOADER,TEE,SNP,MICROCODE (default 4,0,22,213).")
    var tcb: String?

    @Flag(help: "Boot Debian's signed shim, GRUB and newest /boot kernel and initrd instead of synthetic images.")
    var debian = false

    @Option(help: "An OVMF image to measure instead of the synthetic one (e.g. /usr/share/ovmf/OVMF.fd).")
    var ovmf: String?

    @Option(help: "The nonce the quote carries, as hex (default: 32 random bytes).")
    var nonce: String?

    @Option(help: "A directory keeping the emulated host between launches (created on first use).")
    var platform: String?

    @Option(help: "Write the reference values (docs/policy.md) of an untampered VM to this file.")
    var referenceValues: String?

    @Option(help: "The directory to write the evidence and the disk image to.")
    var out: String?

    @Option(help: "PEM P-256 private key whose public key the bundle binds; created (mode 0600) if the file does not exist.")
    var runtimeKey: String?

    @Option(help: "Write the evidence bundle for --nonce and --runtime-key to this file (needs --out).")
    var bundle: String?

    func validate() throws {
        if self.out == nil, self.referenceValues == nil {
            throw ValidationError("Give --out DIR to launch a VM, --reference-values FILE for the owner's reference values, or both.")
        }
        if self.out == nil, self.nonce != nil || self.bundle != nil {
            throw ValidationError("--nonce and --bundle describe a launched VM: give --out DIR too.")
        }
        if (self.bundle == nil) != (self.runtimeKey == nil) {
            throw ValidationError("--bundle and --runtime-key go together.")
        }
        if let tcb = self.tcb, self.components(tcb) == nil {
            throw ValidationError("--tcb must be four numbers 0-255, BOOTLOADER,TEE,SNP,MICROCODE, e.g. 3,0,8,115.")
        }
        if let nonce = self.nonce, decodeHex(nonce).map({ (1...64).contains($0.count) }) != true {
            throw ValidationError("--nonce must be 1 to 64 bytes of hex.")
        }
        // A bundle binds the nonce through EvidenceBinding, which takes 16 to 64 bytes; say so
        // before the VM is launched rather than after.
        if self.bundle != nil, let nonce = self.nonce.flatMap({ decodeHex($0) }), !EvidenceBinding.nonceLengths.contains(nonce.count) {
            throw ValidationError("--nonce with --bundle must be \(EvidenceBinding.nonceLengths.lowerBound) to \(EvidenceBinding.nonceLengths.upperBound) bytes of hex.")
        }
    }

    private func components(_ text: String) -> TCBComponents? {
        let values = text.split(separator: ",").compactMap { UInt8($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == 4 else { return nil }
        return TCBComponents(bootloader: values[0], tee: values[1], snp: values[2], microcode: values[3])
    }

    func run() throws {
        try reportingFailures {
            let firmware = try self.ovmf.map { EmulatedFirmware(image: try OVMFImage(bytes: try readBinaryFile($0))) }
            let tcb = self.tcb.flatMap(self.components)
            let platform: EmulatedPlatform
            if let directory = self.platform {
                let host = EmulatedHostDirectory(path: directory)
                let (chip, created) = try host.secureProcessor(tcb: tcb)
                platform = try EmulatedPlatform(secureProcessor: chip, firmware: firmware)
                print(created
                    ? "Created an emulated host in \(directory): \(EmulatedHostDirectory.keyFileName) (EMULATED TEST KEYS, mode 0600) and \(EmulatedHostDirectory.rootFileName)."
                    : "Using the emulated host in \(directory).")
                print("Trust its root with: cvm serve --allow-emulated --emulated-snp-root \(host.rootFile)")
            } else {
                platform = try EmulatedPlatform(tcb: tcb ?? EmulatedPlatform.defaultTCB, firmware: firmware)
            }
            let chain = self.debian ? try EmulatedBootChain.debian() : try EmulatedBootChain.synthetic()
            let configuration = EmulatedVMConfiguration(
                bootChain: chain, secureBoot: self.secureBoot == .on, debug: self.debug, tamperedKernel: self.tamperedKernel)

            if let referenceValues = self.referenceValues {
                let values = try platform.referenceValues(for: configuration)
                try Data(try values.json()).write(to: URL(fileURLWithPath: referenceValues))
                print("Wrote the reference values of an untampered VM to \(referenceValues): SNP measurement "
                    + "\(hexString(values.snpMeasurement).prefix(16))…, PCRs \(values.pcrs.keys.sorted().map(String.init).joined(separator: ", ")) "
                    + "(sha256), minimum TCB \(Self.describe(values.minimumTCB)).")
            }
            if let out = self.out {
                try self.launch(on: platform, configuration, out: out)
            }
        }
    }

    private func launch(on platform: EmulatedPlatform, _ configuration: EmulatedVMConfiguration, out: String) throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let directory = URL(fileURLWithPath: out)
        let vm = try platform.launch(configuration, diskPath: directory.appendingPathComponent("disk.img").path)
        let nonce = self.nonce.flatMap { decodeHex($0) } ?? (0..<32).map { _ in UInt8.random(in: 0...255) }
        let evidence = try vm.collectEvidence(nonce: nonce)

        var files = try evidence.files()
        files["emulated_root.pem"] = Array(platform.rootCertificatesPEM.utf8)
        files["vcek.pem"] = Array(platform.vcekPEM.utf8)
        for (name, bytes) in files {
            try Data(bytes).write(to: directory.appendingPathComponent(name))
        }

        print("Launched an emulated SEV-SNP confidential VM (\(platform.secureProcessor.product.rawValue), TCB \(Self.describe(platform.secureProcessor.tcb))).")
        print("  firmware     \(self.ovmf ?? "synthetic OVMF"), launch measurement \(hexString(vm.launchMeasurement))")
        print("  vTPM         fresh seeds; EK at 0x81010001, AK at 0x81000003 (RSA-2048, RSASSA-SHA256)")
        print("  HCL report   NV index 0x01400001, \(evidence.hclReport.count) bytes; REPORT_DATA binds the AK and EK; "
            + "policy \(self.debug ? "with" : "without") DEBUG")
        print("  boot         \(self.debian ? "Debian's signed" : "synthetic") shim, GRUB and "
            + "\(self.tamperedKernel ? "a CHANGED" : "the owner's") kernel; secure boot \(self.secureBoot.rawValue)")
        for pcr in [0, 4, 7, 8, 9] {
            print("  PCR \(pcr)\(pcr < 10 ? " " : "")      sha256 \(hexString(evidence.pcrValues[.sha256]?[pcr] ?? []))")
        }
        switch vm.diskUnlock {
        case .unlocked: print("  initrd       unsealed the disk key and read the root file system")
        case .refused(let error): print("  initrd       refused to unlock the disk: \(error)")
        }
        print("Wrote \(files.keys.sorted().joined(separator: ", ")) and disk.img to \(out).")

        if let bundle = self.bundle, let runtimeKey = self.runtimeKey {
            let (key, created) = try RuntimeKeyFile.loadOrCreate(path: runtimeKey)
            let source = VTPMEvidenceSource(tpm: vm.tpm, eventLog: vm.eventLog, certificates: platform.secureProcessor.certificates)
            try Data(try source.evidence(nonce: nonce, runtimeKey: RuntimeKey(key.publicKey)).jsonEncoded()).write(to: URL(fileURLWithPath: bundle))
            print("Wrote the azure-sev-snp-vtpm evidence bundle to \(bundle): nonce \(hexString(nonce)), runtime key "
                + "\(created ? "created in" : "from") \(runtimeKey).")
        }
        let path = { (name: String) in directory.appendingPathComponent(name).path }
        print("Verify with:\n  cvm azure verify \(path("hcl_report.bin")) --vcek \(path("vcek.pem")) --trust-root \(path("emulated_root.pem")) "
            + "--quote \(path("quote.tpms_attest.bin")) --signature \(path("quote.tpmt_signature.bin")) "
            + "--nonce \(hexString(nonce)) --pcrs \(path("pcrs.json"))")
    }

    private static func describe(_ tcb: TCBComponents) -> String {
        tcb.named.compactMap { name, value in value.map { "\(name) \($0)" } }.joined(separator: ", ")
    }
}
