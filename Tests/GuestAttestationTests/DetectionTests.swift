import Foundation
import GuestAttestation
import TPM2
import TPMClient
import TestSupport
import Testing

@Suite("Platform detection")
struct DetectionTests {
    static func outcome(_ detection: PlatformDetection, _ name: String) -> PlatformProbe.Outcome? {
        detection.probes.first { $0.name == name }?.outcome
    }

    @Test("configfs-tsm provider sev_guest, with the SEV sysfs hint: SEV-SNP")
    func snpByConfigfs() throws {
        let (guest, _) = try ConfigFSTSMTests.snpGuest()
        try guest.tree.file("/sys/devices/system/cpu/sev/vmpl", text: "0\n")
        let detection = PlatformDetector(fileSystem: guest, tpm: nil).detect()
        #expect(detection.platform == .sevSNP)
        #expect(detection.reason == "configfs-tsm provider sev_guest")
        #expect(detection.tsmProvider == "sev_guest")
        #expect(detection.probes.first { $0.name == "SEV-SNP sysfs (hint)" }?.detail == "VMPL 0")
        #expect(Self.outcome(detection, "TPM answers") == nil)
    }

    @Test("/dev/sev-guest alone: SEV-SNP; /dev/tdx_guest alone: TDX, with the CCEL hint")
    func byDeviceNodes() throws {
        let snp = try GuestTree()
        try snp.file("/dev/sev-guest")
        let snpDetection = PlatformDetector(fileSystem: snp.fileSystem, tpm: nil).detect()
        #expect(snpDetection.platform == .sevSNP)
        #expect(snpDetection.reason == "/dev/sev-guest present")
        #expect(Self.outcome(snpDetection, "configfs-tsm provider") == .absent)

        let tdx = try GuestTree()
        try tdx.file("/dev/tdx_guest")
        try tdx.file("/sys/firmware/acpi/tables/CCEL", [0x43, 0x43, 0x45, 0x4C])
        let tdxDetection = PlatformDetector(fileSystem: tdx.fileSystem, tpm: nil).detect()
        #expect(tdxDetection.platform == .tdx)
        #expect(Self.outcome(tdxDetection, "CCEL ACPI table (TDX hint)") == .found)
    }

    @Test("configfs-tsm provider tdx_guest: TDX")
    func tdxByConfigfs() throws {
        let tsm = EmulatedTSM(provider: "tdx_guest", showsPrivlevel: false) { _, _ in (try TestData.tdxQuote, nil) }
        let detection = PlatformDetector(fileSystem: FakeGuest(try GuestTree(), tsm: tsm), tpm: nil).detect()
        #expect(detection.platform == .tdx)
        #expect(detection.reason == "configfs-tsm provider tdx_guest")
    }

    /// A tree with DMI identity and a TPM device node, and a vTPM holding the real HCL report.
    static func azureGuest(vendor: String = "Microsoft Corporation\n") throws -> (GuestTree, TPM2Client) {
        let tree = try GuestTree()
        try tree.file("/sys/class/dmi/id/sys_vendor", text: vendor)
        try tree.file("/sys/class/dmi/id/product_name", text: "Virtual Machine\n")
        try tree.file("/dev/tpmrm0")
        let (_, client) = try startedTPM()
        try defineHCLIndex(client, report: try TestData.azureHCLReport)
        return (tree, client)
    }

    @Test("A readable HCL report NV index on a Microsoft VM: Azure CVM")
    func azure() throws {
        let (tree, client) = try Self.azureGuest()
        let detection = PlatformDetector(fileSystem: tree.fileSystem, tpm: client).detect()
        #expect(detection.platform == .azureCVM)
        #expect(detection.reason == "HCL report in NV index 0x1400001 on a Microsoft Corporation VM")
        #expect(detection.probes.first { $0.name == "Azure HCL report" }?.detail == "2048 bytes readable")
        #expect(detection.probes.first { $0.name == "DMI product name" }?.detail == "Virtual Machine")
        #expect(detection.tpmAnswers)
    }

    @Test("The HCL index on another vendor's VM, or a TPM without it: plain TPM")
    func plainTPM() throws {
        let (tree, client) = try Self.azureGuest(vendor: "QEMU\n")
        let detection = PlatformDetector(fileSystem: tree.fileSystem, tpm: client).detect()
        #expect(detection.platform == .tpm)
        #expect(detection.reason == "a TPM with an HCL report NV index, but the DMI vendor is not Microsoft Corporation")

        let (_, bare) = try startedTPM()
        let plain = PlatformDetector(fileSystem: try GuestTree().fileSystem, tpm: bare).detect()
        #expect(plain.platform == .tpm)
        #expect(Self.outcome(plain, "Azure HCL report") == .absent)
        #expect(Self.outcome(plain, "TPM resource manager") == .absent)
    }

    @Test("Nothing at all: none, every probe absent")
    func nothing() throws {
        let detection = PlatformDetector(fileSystem: try GuestTree().fileSystem, tpm: nil).detect()
        #expect(detection.platform == .none)
        #expect(detection.probes.allSatisfy { $0.outcome == .absent })
        #expect(detection.probes.count == 8)
    }

    @Test("A probe that cannot look is reported as failed with the reason, and the rest still run")
    func failedProbes() throws {
        let guest = FakeGuest(try GuestTree())
        try guest.tree.file("/dev/sev-guest")
        guest.failures[PlatformDetector.dmiVendor] = EACCES
        guest.failures[ConfigFSTSM.reportDirectory] = EACCES
        let detection = PlatformDetector(fileSystem: guest, tpm: nil).detect()
        #expect(detection.platform == .sevSNP)
        let vendor = try #require(detection.probes.first { $0.name == "DMI system vendor" })
        #expect(vendor.outcome == .failed)
        #expect(vendor.detail == "cannot examine /sys/class/dmi/id/sys_vendor: Permission denied")
        #expect(Self.outcome(detection, "configfs-tsm provider") == .failed)
    }

    @Test("A TPM that does not answer is a failed probe, not a TPM platform")
    func silentTPM() throws {
        let tree = try GuestTree()
        try tree.file("/dev/tpmrm0")
        let client = TPM2Client(transport: DeviceTransport(path: tree.fileSystem.hostPath("/dev/tpmrm0")))
        let detection = PlatformDetector(fileSystem: tree.fileSystem, tpm: client).detect()
        #expect(detection.platform == .none)
        #expect(Self.outcome(detection, "TPM resource manager") == .found)
        #expect(Self.outcome(detection, "TPM answers") == .failed)
        #expect(!detection.tpmAnswers)
    }
}
