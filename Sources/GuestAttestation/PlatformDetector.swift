import TPM2
import TPMClient

/// The kind of confidential guest evidence can be collected from.
public enum GuestPlatform: String, Sendable, Hashable, Codable, CaseIterable {
    /// An AMD SEV-SNP guest with a report interface (configfs-tsm sev_guest or /dev/sev-guest).
    case sevSNP = "sev-snp"
    /// An Intel TDX guest with a report interface (configfs-tsm tdx_guest or /dev/tdx_guest).
    case tdx
    /// An Azure confidential VM: the paravisor's vTPM holds the HCL report (SNP or TDX) in NV.
    case azureCVM = "azure-cvm"
    /// A TPM and nothing confidential-computing specific.
    case tpm
    /// None of the above.
    case none
}

/// One look at one interface, with what it found.
public struct PlatformProbe: Sendable, Hashable, Codable {
    /// What was probed, in a few words ("configfs-tsm provider").
    public var name: String
    /// The guest path or TPM object looked at.
    public var target: String
    /// Whether it was there, absent, or the look itself failed.
    public var outcome: Outcome
    /// What was found, or why not.
    public var detail: String

    public enum Outcome: String, Sendable, Hashable, Codable {
        case found, absent, failed
    }
}

/// The platform chosen and every probe behind the choice.
public struct PlatformDetection: Sendable, Hashable, Codable {
    public var platform: GuestPlatform
    /// Why this platform: the probes that decided it.
    public var reason: String
    public var probes: [PlatformProbe]
    /// The configfs-tsm provider, when configfs-tsm is there.
    public var tsmProvider: String?
    /// Whether a TPM answered.
    public var tpmAnswers: Bool
}

/// Decides what kind of guest this is from interfaces the kernel documents, never from dmesg or
/// CPUID: the configfs-tsm provider (Documentation/ABI/testing/configfs-tsm), the guest driver
/// device nodes, the SEV-SNP sysfs directory (Documentation/ABI/testing/sysfs-devices-system-cpu,
/// `/sys/devices/system/cpu/sev`), the CCEL ACPI table (sysfs-firmware-acpi), the DMI identity
/// (sysfs-class-dmi-id), the TPM resource manager device and, through the TPM, Azure's HCL report
/// NV index.
///
/// A guest whose own report interface is present is SEV-SNP or TDX; otherwise a readable HCL
/// report on a Microsoft-made VM is an Azure CVM; otherwise a TPM that answers is a plain TPM.
/// The SEV-SNP sysfs directory and CCEL are hints shown for information: without a report
/// interface there is nothing to collect from them.
public struct PlatformDetector: Sendable {
    public static let sevSysfs = "/sys/devices/system/cpu/sev"
    public static let ccelTable = "/sys/firmware/acpi/tables/CCEL"
    public static let dmiVendor = "/sys/class/dmi/id/sys_vendor"
    public static let dmiProduct = "/sys/class/dmi/id/product_name"
    public static let tpmDevice = "/dev/tpmrm0"
    public static let microsoft = "Microsoft Corporation"

    public let fileSystem: any GuestFileSystem
    /// The TPM to probe; nil when there is none to talk to.
    public let tpm: TPM2Client?

    public init(fileSystem: any GuestFileSystem, tpm: TPM2Client?) {
        self.fileSystem = fileSystem
        self.tpm = tpm
    }

    public func detect() -> PlatformDetection {
        var probes: [PlatformProbe] = []
        func record(_ name: String, _ target: String, _ look: () throws(GuestAttestationError) -> String?) -> String? {
            do {
                let found = try look()
                probes.append(PlatformProbe(name: name, target: target, outcome: found == nil ? .absent : .found, detail: found ?? "not present"))
                return found
            } catch {
                probes.append(PlatformProbe(name: name, target: target, outcome: .failed, detail: error.description))
                return nil
            }
        }
        func present(_ path: String) -> () throws(GuestAttestationError) -> String? {
            { () throws(GuestAttestationError) in try fileSystem.exists(path) ? "present" : nil }
        }
        func text(_ path: String) throws(GuestAttestationError) -> String? {
            try fileSystem.exists(path) ? try fileSystem.readText(path) : nil
        }

        let tsm = ConfigFSTSM(fileSystem: fileSystem)
        let provider = record("configfs-tsm provider", ConfigFSTSM.reportDirectory) { () throws(GuestAttestationError) in
            try tsm.isAvailable() ? try tsm.provider() : nil
        }
        let sevGuest = record("SEV-SNP guest device", SEVGuestDevice.path, present(SEVGuestDevice.path)) != nil
        let tdxGuest = record("TDX guest device", TDXGuestDevice.path, present(TDXGuestDevice.path)) != nil
        _ = record("SEV-SNP sysfs (hint)", Self.sevSysfs) { () throws(GuestAttestationError) in
            guard try fileSystem.exists(Self.sevSysfs) else { return nil }
            return "VMPL \(try text(Self.sevSysfs + "/vmpl") ?? "not shown")"
        }
        _ = record("CCEL ACPI table (TDX hint)", Self.ccelTable, present(Self.ccelTable))
        let vendor = record("DMI system vendor", Self.dmiVendor) { () throws(GuestAttestationError) in try text(Self.dmiVendor) }
        _ = record("DMI product name", Self.dmiProduct) { () throws(GuestAttestationError) in try text(Self.dmiProduct) }
        _ = record("TPM resource manager", Self.tpmDevice, present(Self.tpmDevice))
        var tpmAnswers = false
        var hclReport = false
        if let tpm {
            tpmAnswers = record("TPM answers", "TPM2_GetCapability(TPM_PT_NV_BUFFER_MAX)") { () throws(GuestAttestationError) in
                do throws(TPMClientError) {
                    return "NV buffer \(try tpm.tpmProperty(.nvBufferMax)) bytes"
                } catch {
                    throw .tpm(error)
                }
            } != nil
            if tpmAnswers {
                hclReport = record("Azure HCL report", "NV index \(GuestTPM.azureHCLReportIndex)") { () throws(GuestAttestationError) in
                    do throws(GuestAttestationError) {
                        return "\(try GuestTPM(client: tpm).readNV(GuestTPM.azureHCLReportIndex).count) bytes readable"
                    } catch .tpm(let error) where error.responseCode?.base == .handle {
                        return nil
                    }
                } != nil
            }
        }

        let platform: GuestPlatform
        let reason: String
        if provider == "sev_guest" || sevGuest {
            platform = .sevSNP
            reason = provider == "sev_guest" ? "configfs-tsm provider sev_guest" : "\(SEVGuestDevice.path) present"
        } else if provider == "tdx_guest" || tdxGuest {
            platform = .tdx
            reason = provider == "tdx_guest" ? "configfs-tsm provider tdx_guest" : "\(TDXGuestDevice.path) present"
        } else if hclReport, vendor == Self.microsoft {
            platform = .azureCVM
            reason = "HCL report in NV index \(GuestTPM.azureHCLReportIndex) on a \(Self.microsoft) VM"
        } else if tpmAnswers {
            platform = .tpm
            reason = hclReport ? "a TPM with an HCL report NV index, but the DMI vendor is not \(Self.microsoft)" : "a TPM answers and no confidential-computing interface is present"
        } else {
            platform = .none
            reason = "no report interface and no TPM"
        }
        return PlatformDetection(platform: platform, reason: reason, probes: probes, tsmProvider: provider, tpmAnswers: tpmAnswers)
    }
}
