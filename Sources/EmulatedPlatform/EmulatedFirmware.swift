import Authenticode
import Crypto
import EventLog
import Foundation
import PCRPrediction
import SEVSNP
import SwiftASN1
import TPM2
import TPMClient
import X509

/// The emulated UEFI firmware: an OVMF image, whose SEV-SNP launch measurement SEVSNP computes,
/// and a model of what OVMF, shim and GRUB measure while they boot an ``EmulatedBootChain``
/// (TCG PC Client Platform Firmware Profile v1.06 §3.3.4, §10.4.4; the GRUB manual, "Measured
/// Boot"):
///
/// | PCR | events |
/// |---|---|
/// | 0 | EV_S_CRTM_VERSION; EV_EFI_PLATFORM_FIRMWARE_BLOB with the hash of the OVMF image |
/// | 7 | SecureBoot, PK, KEK, db, dbx (EV_EFI_VARIABLE_DRIVER_CONFIG); with secure boot, the db entry that allowed shim (EV_EFI_VARIABLE_AUTHORITY) |
/// | 4 | "Calling EFI Application from Boot Option"; shim, GRUB and the kernel (EV_EFI_BOOT_SERVICES_APPLICATION) |
/// | 0–7 | EV_SEPARATOR |
/// | 8 | GRUB's `linux` and `initrd` commands and the kernel command line (EV_IPL) |
/// | 9 | grub.cfg, the kernel and the initrd as GRUB reads them (EV_IPL) |
/// | 5 | "Exit Boot Services Invocation", "Exit Boot Services Returned with Success" |
///
/// The firmware only records: it does not refuse an image the db does not allow (an image is
/// logged without an authority event instead), so a verifier sees what booted.
/// The digests of the boot applications (PCR 4: Authenticode) and of GRUB's files (PCR 9) are not
/// computed here: the log is written with those events empty and ``PCRPrediction`` fills them in
/// for the chain's files, as it would for a prediction of the next boot.
public struct EmulatedFirmware: Sendable {
    /// The PCR banks the vTPM allocates, which the firmware extends and logs.
    public static let banks: [TPMAlgorithm] = [.sha1, .sha256, .sha384]
    /// The firmware version OVMF logs in PCR 0.
    static let version = "CVMKit emulated OVMF 1.0"
    /// Where GRUB finds its configuration and the kernel, as the log names them.
    static let grubConfigPath = "(hd0,gpt1)/EFI/debian/grub.cfg"
    static let kernelPath = "(hd0,gpt2)/vmlinuz"
    static let initrdPath = "(hd0,gpt2)/initrd.img"
    /// The owner GUID of the emulated platform's db entries and keys.
    static let signatureOwner = EFIGUID("43564D4B-6974-456D-B55C-6174656450CB")!

    /// The firmware image.
    public let image: OVMFImage

    /// Firmware from an OVMF image (an edk2 `OVMF.fd`).
    public init(image: OVMFImage) {
        self.image = image
    }

    /// A synthetic 64 KiB image: deterministic filler and, before the reset vector, the GUIDed
    /// footer table edk2's `ResetVectorVtf0.asm` ends with holding one entry, the SEV-ES reset
    /// block (GUID 00f771de-1a7e-4fcb-890e-68c77e2fb44e: the AP reset address QEMU needs for a
    /// guest with more than one vCPU), and the footer (GUID 96b582de-1fb2-45f7-baea-a366c55a082d).
    public static func synthetic() throws(EmulatedPlatformError) -> EmulatedFirmware {
        let size = 16 * 4096
        var bytes = (0..<size).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }
        var table: [UInt8] = []
        table.appendLittleEndian(UInt32(0xFFFF_F804))
        table.appendLittleEndian(UInt16(4 + 18))
        table += EFIGUID("00F771DE-1A7E-4FCB-890E-68C77E2FB44E")!.bytes
        table.appendLittleEndian(UInt16(table.count + 18))
        table += EFIGUID("96B582DE-1FB2-45F7-BAEA-A366C55A082D")!.bytes
        bytes.replaceSubrange((size - 32 - table.count)..<(size - 32), with: table)
        do { return EmulatedFirmware(image: try OVMFImage(bytes: bytes)) } catch { throw .firmware(error) }
    }

    /// The SEV-SNP launch digest of this firmware on `vcpus` vCPUs of `vcpuType` (SEV-SNP Firmware
    /// ABI §8.17.2, as QEMU launches OVMF): the MEASUREMENT the Secure Processor reports.
    public func launchMeasurement(vcpus: Int, vcpuType: SNPVCPUType) throws(EmulatedPlatformError) -> [UInt8] {
        do {
            return try SNPLaunchMeasurement(firmware: self.image, vcpus: vcpus, vcpuSignature: vcpuType.cpuid.signature).digest()
        } catch {
            throw .firmware(error)
        }
    }

    /// The event log of a boot of `chain`, every digest computed.
    public func bootLog(_ chain: EmulatedBootChain, secureBoot: Bool) throws(EmulatedPlatformError) -> EventLog {
        let keys = secureBoot ? try Self.secureBootKeys(allowing: chain.shim) : SecureBootKeys.none
        let log: EventLog
        do throws(EventLogError) {
            log = try self.skeletonLog(chain, keys)
        } catch {
            throw .eventLog(error)
        }
        return try Self.filled(log, chain)
    }

    /// Every event of the boot, with the boot applications' and GRUB's file measurements empty.
    private func skeletonLog(_ chain: EmulatedBootChain, _ keys: SecureBootKeys) throws(EventLogError) -> EventLog {
        var log = try EventLog(algorithms: Self.banks)
        let empty = Self.banks.map { TCGDigest(algorithm: $0, bytes: [UInt8](repeating: 0, count: $0.digestSize ?? 0)) }
        try log.appendMeasurement(pcrIndex: 0, eventType: .sCRTMVersion, data: FirmwareEventData.utf16(Self.version))
        try log.appendMeasurement(
            pcrIndex: 0, eventType: .efiPlatformFirmwareBlob,
            data: FirmwareEventData.firmwareBlob(base: self.image.gpa, length: self.image.bytes.count), measured: self.image.bytes)
        for (guid, name, data) in keys.variables {
            try log.appendMeasurement(pcrIndex: 7, eventType: .efiVariableDriverConfig, data: FirmwareEventData.variable(guid, name, data))
        }
        try log.appendMeasurement(pcrIndex: 4, eventType: .efiAction, data: Array("Calling EFI Application from Boot Option".utf8))
        for pcr in UInt32(0)...7 {
            try log.appendMeasurement(pcrIndex: pcr, eventType: .separator, data: [0, 0, 0, 0])
        }
        if let authority = keys.authority {
            try log.appendMeasurement(pcrIndex: 7, eventType: .efiVariableAuthority, data: authority)
        }
        let images: [(PEImage, String)] = [(chain.shim, "\\EFI\\BOOT\\BOOTX64.EFI"), (chain.grub, "\\EFI\\BOOT\\grubx64.efi")]
        var address: UInt64 = 0x7E00_0000
        for (image, path) in images {
            try log.append(pcrIndex: 4, eventType: .efiBootServicesApplication, digests: empty,
                           data: FirmwareEventData.imageLoad(address: address, length: image.bytes.count, path: path))
            address += 0x0100_0000
        }
        try log.append(pcrIndex: 9, eventType: .ipl, digests: empty, data: FirmwareEventData.cString(Self.grubConfigPath))
        let linux = "linux \(Self.kernelPath) \(chain.commandLine)"
        try log.appendMeasurement(pcrIndex: 8, eventType: .ipl, data: FirmwareEventData.cString("grub_cmd: " + linux), measured: Array(linux.utf8))
        try log.append(pcrIndex: 9, eventType: .ipl, digests: empty, data: FirmwareEventData.cString(Self.kernelPath))
        let commandLine = "\(Self.kernelPath) \(chain.commandLine)"
        try log.appendMeasurement(
            pcrIndex: 8, eventType: .ipl, data: FirmwareEventData.cString("kernel_cmdline: " + commandLine), measured: Array(commandLine.utf8))
        let initrd = "initrd \(Self.initrdPath)"
        try log.appendMeasurement(pcrIndex: 8, eventType: .ipl, data: FirmwareEventData.cString("grub_cmd: " + initrd), measured: Array(initrd.utf8))
        try log.append(pcrIndex: 9, eventType: .ipl, digests: empty, data: FirmwareEventData.cString(Self.initrdPath))
        try log.append(pcrIndex: 4, eventType: .efiBootServicesApplication, digests: empty,
                       data: FirmwareEventData.imageLoad(address: address, length: chain.kernel.bytes.count, path: "\\vmlinuz"))
        for action in ["Exit Boot Services Invocation", "Exit Boot Services Returned with Success"] {
            try log.appendMeasurement(pcrIndex: 5, eventType: .efiAction, data: Array(action.utf8))
        }
        return log
    }

    /// `log` with the boot applications' and GRUB's file measurements computed for `chain`.
    private static func filled(_ log: EventLog, _ chain: EmulatedBootChain) throws(EmulatedPlatformError) -> EventLog {
        do {
            return try PCRPrediction(log: log, replacing: [chain.shim, chain.grub, chain.kernel], files: [
                BootFile(target: .path(grubConfigPath), contents: grubConfig(chain)),
                BootFile(target: .kernel, contents: chain.kernel.bytes),
                BootFile(target: .initrd, contents: chain.initrd),
            ]).predictedLog
        } catch {
            throw .measurement(error)
        }
    }

    /// The grub.cfg GRUB reads: one entry booting the kernel and initrd with the command line.
    static func grubConfig(_ chain: EmulatedBootChain) -> [UInt8] {
        Array("""
            set default=0
            menuentry 'Debian GNU/Linux (CVMKit emulated)' {
              linux \(kernelPath) \(chain.commandLine)
              initrd \(initrdPath)
            }

            """.utf8)
    }

    /// Extends every event of `log` into the vTPM, as the firmware, shim and GRUB do while they
    /// boot (TPM2_PCR_Extend, TPM 2.0 Part 3 §22.2, every bank at once). EV_NO_ACTION events are
    /// only logged (PFP v1.06 §10.4.5).
    static func extend(_ log: EventLog, into tpm: TPM2Client) throws(EmulatedPlatformError) {
        for event in log.events.dropFirst() where event.eventType != .noAction {
            let digests = event.digests.compactMap { digest in
                TPMHashAlgorithm(TPMAlgorithmID(rawValue: digest.algorithm.rawValue)).map { TPMTHA(algorithm: $0, digest: digest.bytes) }
            }
            do { try tpm.pcrExtend(pcr: Int(event.pcrIndex), digests: TPMLDigestValues(digests)) } catch {
                throw .tpm(step: "measuring event \(event.index) into PCR \(event.pcrIndex)", error)
            }
        }
    }

    /// The secure boot variables OVMF measures into PCR 7, in its order, and the authority event
    /// for shim.
    struct SecureBootKeys {
        var variables: [(EFIGUID, String, [UInt8])]
        var authority: [UInt8]?

        /// Secure boot off and no keys enrolled: OVMF measures the variables empty.
        static let none = SecureBootKeys(
            variables: [(.globalVariable, "SecureBoot", [0]), (.globalVariable, "PK", []), (.globalVariable, "KEK", []),
                        (.imageSecurityDatabase, "db", []), (.imageSecurityDatabase, "dbx", [])],
            authority: nil)
    }

    /// Secure boot on: the emulated platform key as PK and KEK, a db that allows exactly `shim`
    /// (its Authenticode SHA-256, an EFI_CERT_SHA256 entry), an empty dbx, and that db entry as
    /// the authority that allowed shim.
    static func secureBootKeys(allowing shim: PEImage) throws(EmulatedPlatformError) -> SecureBootKeys {
        let shimDigest = shim.authenticodeDigest(.sha256)
        let certificate = try platformKeyCertificate()
        let keyList = FirmwareEventData.signatureList(type: .certX509, owner: signatureOwner, entries: [certificate])
        let db = FirmwareEventData.signatureList(type: .certSHA256, owner: signatureOwner, entries: [shimDigest])
        return SecureBootKeys(
            variables: [(.globalVariable, "SecureBoot", [1]), (.globalVariable, "PK", keyList), (.globalVariable, "KEK", keyList),
                        (.imageSecurityDatabase, "db", db), (.imageSecurityDatabase, "dbx", [])],
            authority: FirmwareEventData.variable(.imageSecurityDatabase, "db", FirmwareEventData.signatureData(owner: signatureOwner, shimDigest)))
    }

    /// The emulated platform owner's certificate (PK and KEK): Ed25519, whose signatures are
    /// deterministic, with a key derived from a fixed label and fixed dates, so every launch
    /// measures the same PCR 7. It is no secret and proves nothing; it is what the log shows.
    static func platformKeyCertificate() throws(EmulatedPlatformError) -> [UInt8] {
        do {
            let key = try Curve25519.Signing.PrivateKey(rawRepresentation: SHA256.hash(data: Array("CVMKit emulated platform key".utf8)))
            let name = try DistinguishedName { CommonName("CVMKit emulated platform key (untrusted)") }
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(bytes: [1]), publicKey: Certificate.PublicKey(key.publicKey),
                notValidBefore: Date(timeIntervalSince1970: 1_704_067_200), notValidAfter: Date(timeIntervalSince1970: 2_524_608_000),
                issuer: name, subject: name, signatureAlgorithm: .ed25519,
                extensions: try Certificate.Extensions { Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil)) },
                issuerPrivateKey: Certificate.PrivateKey(key))
            var serializer = DER.Serializer()
            try serializer.serialize(certificate)
            return serializer.serializedBytes
        } catch {
            throw .firmwareKeys(reason: String(describing: error))
        }
    }
}
