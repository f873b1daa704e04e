import AzureCVM
import DiskEncryption
import DiskEncryptionTPM
import EventLog
import Foundation
import SEVSNP
import SwiftASN1
import TPM2
import TPMClient
import VirtualTPM

/// An emulated confidential computing host that launches Azure-style confidential VMs, for tests
/// and demonstrations: an AMD Secure Processor stand-in (``EmulatedSNPChain``), OVMF-like
/// firmware that measures a boot (``EmulatedFirmware``), a fresh in-process vTPM per VM
/// (``TPMEngine``), Azure's paravisor writing the HCL report (AzureCVM's ``HCLReportBuilder``), and
/// a LUKS2 disk whose key is sealed to the vTPM's PCRs (DiskEncryptionTPM's `systemd-tpm2` token).
///
/// Nothing it produces is trusted by anyone by default: its reports verify only with a verifier
/// that was given ``trustAnchor`` explicitly, which names the root "emulated (untrusted)".
public struct EmulatedPlatform: Sendable {
    /// The emulated Secure Processor and its ARK, ASK and VCEK.
    public let secureProcessor: EmulatedSNPChain
    /// The firmware every VM boots.
    public let firmware: EmulatedFirmware

    /// A host with a fresh emulated chip of `product` whose VCEK certifies `tcb` (REPORTED_TCB),
    /// running `firmware` (a synthetic OVMF image when nil).
    public init(
        product: SNPProduct = .milan, tcb: TCBComponents = EmulatedPlatform.defaultTCB, firmware: EmulatedFirmware? = nil
    ) throws(EmulatedPlatformError) {
        let chip: EmulatedSNPChain
        do { chip = try EmulatedSNPChain(product: product, tcb: tcb) } catch { throw .secureProcessor(error) }
        try self.init(secureProcessor: chip, firmware: firmware)
    }

    /// A host with the given emulated chip, one restored from a file (``EmulatedHostDirectory``)
    /// for instance, running `firmware` (a synthetic OVMF image when nil).
    public init(secureProcessor: EmulatedSNPChain, firmware: EmulatedFirmware? = nil) throws(EmulatedPlatformError) {
        self.secureProcessor = secureProcessor
        if let firmware {
            self.firmware = firmware
        } else {
            self.firmware = try EmulatedFirmware.synthetic()
        }
    }

    /// The TCB an emulated Milan chip reports unless told otherwise (the SEVSNP emulator's default).
    public static let defaultTCB = TCBComponents(bootloader: 4, tee: 0, snp: 22, microcode: 213)

    /// The anchor a verifier must be handed, explicitly, to accept this host's reports.
    public var trustAnchor: SNPTrustAnchor { .emulated(self.secureProcessor) }

    /// The emulated ARK and ASK in PEM: what a verifier opts in to (`cvm azure verify --trust-root`).
    public var rootCertificatesPEM: String { Self.pem([self.secureProcessor.ark, self.secureProcessor.ask]) }
    /// The emulated VCEK in PEM, as Azure's host serves a VM its VCEK.
    public var vcekPEM: String { Self.pem([self.secureProcessor.vcek]) }

    /// Certificates as consecutive PEM blocks.
    static func pem(_ certificates: [AMDCertificate]) -> String {
        certificates.map { PEMDocument(type: "CERTIFICATE", derBytes: $0.derBytes).pemString + "\n" }.joined()
    }

    /// Launches a VM: powers on a vTPM with fresh seeds; the paravisor creates the EK and AK and
    /// writes the HCL report; the owner's reference boot (``EmulatedVMConfiguration/bootChain``
    /// with secure boot) runs once, during which the initrd formats the disk at `diskPath` and
    /// seals its key to that boot's PCRs; the VM resets (PCRs cleared, vTPM keys kept) and boots
    /// what `configuration` says, and its initrd tries to unlock the disk.
    public func launch(_ configuration: EmulatedVMConfiguration, diskPath: String) throws(EmulatedPlatformError) -> EmulatedVM {
        guard configuration.vcpus >= 1 else { throw .invalidConfiguration("a VM needs at least one vCPU") }
        guard !configuration.sealedPCRs.isEmpty, configuration.sealedPCRs.allSatisfy({ (0..<24).contains($0) }) else {
            throw .invalidConfiguration("the disk must be sealed to PCRs among 0...23, not \(configuration.sealedPCRs)")
        }
        let engine: TPMEngine
        do { engine = try TPMEngine(mode: .ephemeral) } catch { throw .invalidConfiguration("the vTPM cannot start: \(error)") }
        engine.powerOn()
        let tpm = TPM2Client(transport: EngineTransport(engine: engine))
        try Self.step("starting the vTPM") { () throws(TPMClientError) in try tpm.startup(.clear) }

        let paravisor = EmulatedParavisor(
            secureProcessor: self.secureProcessor,
            measurement: try self.firmware.launchMeasurement(vcpus: configuration.vcpus, vcpuType: configuration.vcpuType),
            policy: EmulatedVMConfiguration.azurePolicy | (configuration.debug ? EmulatedVMConfiguration.debugPolicyBit : 0),
            vmConfiguration: HCLVMConfiguration(
                consoleEnabled: false, secureBoot: configuration.secureBoot, tpmEnabled: true, tpmPersisted: false,
                vmUniqueID: configuration.vmUniqueID))
        try paravisor.provision(tpm)
        try paravisor.writeReport(tpm)

        let referenceLog = try self.firmware.bootLog(configuration.bootChain, secureBoot: true)
        try EmulatedFirmware.extend(referenceLog, into: tpm)
        try Self.provisionDisk(at: diskPath, tpm: tpm, pcrs: configuration.sealedPCRs)

        // A platform reset without power loss: _TPM_Init (TPM 2.0 Part 1 §12.2) and a TPM Reset
        // clear the PCRs, while the vTPM keeps its seeds, NV indices and persistent keys.
        try Self.step("resetting the VM") { () throws(TPMClientError) in
            try tpm.shutdown(.clear)
            engine.powerOn()
            try tpm.startup(.clear)
        }
        let chain = configuration.tamperedKernel ? try configuration.bootChain.tamperingKernel() : configuration.bootChain
        let log = try self.firmware.bootLog(chain, secureBoot: configuration.secureBoot)
        try EmulatedFirmware.extend(log, into: tpm)
        return EmulatedVM(
            engine: engine, tpm: tpm, paravisor: paravisor, eventLog: log.encoded(), diskPath: diskPath,
            diskUnlock: Self.unlockDisk(at: diskPath, tpm: tpm), bootChain: chain)
    }

    /// What the owner's first boot does in its initrd: formats the disk with one keyslot, sealed
    /// in this vTPM to the current values of `pcrs`, and writes the root file system's first sector.
    static func provisionDisk(at path: String, tpm: TPM2Client, pcrs: [Int]) throws(EmulatedPlatformError) {
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw .io(path: path, reason: "the file cannot be created")
        }
        do {
            try handle.truncate(atOffset: diskSize)
            try handle.close()
        } catch {
            throw .io(path: path, reason: "\(error)")
        }
        let options = LUKS2Volume.FormatOptions(kdf: .pbkdf2(iterations: 1000), digestIterations: 1000, label: "cvmkit-emulated-root")
        do throws(TPM2TokenError) {
            let (volume, volumeKey) = try LUKS2Volume.formatTPM2(path: path, client: tpm, pcrs: pcrs, options: options)
            do {
                try LUKS2DataSegment(volume: volume, volumeKey: volumeKey).write(rootSector, sector: 0)
            } catch {
                throw TPM2TokenError.luks(error)
            }
        } catch {
            throw .disk(error)
        }
    }

    /// What every boot's initrd does: unseals the key through the `systemd-tpm2` token and reads
    /// the root file system's first sector with it.
    static func unlockDisk(at path: String, tpm: TPM2Client) -> InitrdDiskUnlock {
        do throws(TPM2TokenError) {
            let volume: LUKS2Volume
            do { volume = try LUKS2Volume(path: path) } catch { throw .luks(error) }
            let unlocked = try volume.unlockTPM2(client: tpm)
            let sector: [UInt8]
            do {
                sector = try LUKS2DataSegment(volume: volume, volumeKey: unlocked.volumeKey).read(sector: 0, count: 1)
            } catch {
                throw .luks(error)
            }
            guard sector == rootSector else { throw .invalidArgument("the unlocked disk does not hold the root file system") }
            return .unlocked
        } catch {
            return .refused(error)
        }
    }

    /// The disk image's size: LUKS2's 16 MiB header area and 1 MiB of data.
    static let diskSize: UInt64 = 17 << 20
    /// The first sector of the emulated root file system.
    static let rootSector = Array("CVMKit emulated root file system".utf8) + [UInt8](repeating: 0, count: 4096 - 32)

    static func step<T>(_ description: String, _ body: () throws(TPMClientError) -> T) throws(EmulatedPlatformError) -> T {
        do { return try body() } catch { throw .tpm(step: description, error) }
    }
}

/// What to launch: the boot chain and the knobs that make each refusal path appear.
public struct EmulatedVMConfiguration: Sendable {
    /// The owner's boot chain: what the reference boot runs and the disk is sealed to.
    public var bootChain: EmulatedBootChain
    /// UEFI secure boot in the measured boot (the reference boot always has it): off changes
    /// PCR 7 and the report's `secure-boot` claim.
    public var secureBoot: Bool
    /// The guest policy's DEBUG bit (SEV-SNP Firmware ABI, pub. 56860, Table 9, bit 19).
    public var debug: Bool
    /// Boot a kernel with one byte changed instead of the owner's: PCRs 4 and 9 change.
    public var tamperedKernel: Bool
    /// The PCRs (SHA-256 bank) the disk key is sealed to.
    public var sealedPCRs: [Int]
    /// The vCPUs, each adding a VMSA to the launch measurement.
    public var vcpus: Int
    /// The QEMU CPU model whose CPUID signature the VMSAs carry.
    public var vcpuType: SNPVCPUType
    /// The VM's `vmUniqueId` claim.
    public var vmUniqueID: String

    /// A configuration booting `bootChain` with secure boot, no debugging, the owner's kernel, and
    /// the disk sealed to PCRs 4, 7, 8 and 9 (the boot applications, secure boot policy, GRUB's
    /// commands and the files GRUB read).
    public init(
        bootChain: EmulatedBootChain, secureBoot: Bool = true, debug: Bool = false, tamperedKernel: Bool = false,
        sealedPCRs: [Int] = [4, 7, 8, 9], vcpus: Int = 2, vcpuType: SNPVCPUType = .epycMilan,
        vmUniqueID: String = UUID().uuidString
    ) {
        self.bootChain = bootChain
        self.secureBoot = secureBoot
        self.debug = debug
        self.tamperedKernel = tamperedKernel
        self.sealedPCRs = sealedPCRs
        self.vcpus = vcpus
        self.vcpuType = vcpuType
        self.vmUniqueID = vmUniqueID
    }

    /// The guest policy of Azure's confidential VMs (0x3001F in every report seen): ABI 0.31,
    /// SMT allowed, the reserved bit 17 set.
    static let azurePolicy: UInt64 = 0x3_001F
    /// POLICY.DEBUG (bit 19).
    static let debugPolicyBit: UInt64 = 1 << 19
}

/// What the emulated initrd found when it tried to unlock the disk.
public enum InitrdDiskUnlock: Sendable, Equatable {
    /// The vTPM released the key and the root file system was read with it.
    case unlocked
    /// The vTPM did not release the key; the error names the PCRs that differ from the sealed ones.
    case refused(TPM2TokenError)
}
