import ArgumentParser
import Foundation
import SEVSNP

/// `cvm snp measure`: the expected launch measurement of an SEV-SNP guest under QEMU, computed
/// from its OVMF image, vCPUs and directly booted kernel. Formatting only; the work is
/// ``SNPLaunchMeasurement`` in the SEVSNP library.
struct SNPMeasureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "measure",
        abstract: "Compute the launch measurement (MEASUREMENT) an SEV-SNP guest will report.",
        discussion: "Gives the same digest as `sev-snp-measure --mode snp` for QEMU guests."
    )

    @Option(help: "The OVMF firmware image (OVMF.fd, or the AmdSev build for measured direct boot).")
    var ovmf: String

    @Option(help: "The number of vCPUs.")
    var vcpus: Int

    @Option(help: "The QEMU CPU model (-cpu), e.g. EPYC-v4, EPYC-Milan, EPYC-Genoa.")
    var vcpuType: SNPVCPUType

    @Option(help: "The kernel booted directly with QEMU's -kernel.")
    var kernel: String?

    @Option(help: "The initrd given with -initrd (needs --kernel).")
    var initrd: String?

    @Option(help: "The kernel command line given with -append (needs --kernel).")
    var append: String?

    @Option(help: "SEV_FEATURES of the VMSAs, e.g. 0x1 (SNPActive, the default) or 0x21 (SNPActive and DebugSwap).",
            transform: { text in
                guard let value = text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text) else {
                    throw ValidationError("--guest-features must be a number such as 0x1 or 33.")
                }
                return value
            })
    var guestFeatures: UInt64 = SNPLaunchMeasurement.defaultGuestFeatures

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        if self.kernel == nil, self.initrd != nil || self.append != nil {
            throw ValidationError("--initrd and --append need --kernel.")
        }
        if self.vcpus < 1 {
            throw ValidationError("--vcpus must be at least 1.")
        }
    }

    /// The launch the options describe, its files read; `cvm reference-values` takes the same options.
    func launch() throws -> SNPLaunchMeasurement {
        let hashes = try self.kernel.map { kernel in
            SEVKernelHashes(kernel: try readBinaryFile(kernel), initrd: try self.initrd.map { try readBinaryFile($0) }, commandLine: self.append)
        }
        return SNPLaunchMeasurement(
            firmware: try OVMFImage(bytes: try readBinaryFile(self.ovmf)), vcpus: self.vcpus,
            vcpuSignature: self.vcpuType.cpuid.signature, guestFeatures: self.guestFeatures, kernelHashes: hashes)
    }

    func run() throws {
        try reportingFailures {
            let measurement = try self.launch().digest().map { String(format: "%02x", $0) }.joined()
            guard self.json else {
                print(measurement)
                return
            }
            let output = Output(measurement: measurement, ovmf: self.ovmf, vcpus: self.vcpus, vcpuType: self.vcpuType,
                                guestFeatures: "0x" + String(self.guestFeatures, radix: 16),
                                kernel: self.kernel, initrd: self.initrd, append: self.append)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(output), as: UTF8.self))
        }
    }

    /// The `--json` output: the measurement and the inputs it was computed from.
    private struct Output: Encodable {
        let measurement: String
        let ovmf: String
        let vcpus: Int
        let vcpuType: SNPVCPUType
        let guestFeatures: String
        let kernel: String?
        let initrd: String?
        let append: String?
    }
}

extension SNPVCPUType: ExpressibleByArgument {}
