import Attestation
import EmulatedPlatform
import Foundation
import ReferenceValueDerivation
import SEVSNP
import Testing

/// `snpMeasurements` derived from firmware images against the peer tool sev-snp-measure (PyPI,
/// run as a process) on the same inputs, and against what an emulated VM's reports carry.
@Suite("SNP measurements derived from firmware images")
struct SNPMeasurementTests {
    /// One launch: an OVMF image file and the VM's shape.
    struct Launch: Sendable, CustomTestStringConvertible {
        let ovmf: String
        let vcpus: Int
        let vcpuType: SNPVCPUType
        let guestFeatures: UInt64

        var testDescription: String {
            "\(URL(fileURLWithPath: ovmf).lastPathComponent) \(vcpus)×\(vcpuType.rawValue) 0x\(String(guestFeatures, radix: 16))"
        }

        func measurement() throws -> SNPLaunchMeasurement {
            SNPLaunchMeasurement(firmware: try OVMFImage(bytes: try Peers.read(ovmf)), vcpus: vcpus,
                                 vcpuSignature: vcpuType.cpuid.signature, guestFeatures: guestFeatures)
        }

        /// What `sev-snp-measure --mode snp` prints for the same launch, or its complaint.
        func oracle(_ extra: [String] = []) throws -> (measured: Bool, text: String) {
            let (status, output, errors) = try Peers.run(try #require(Peers.sevSNPMeasure), [
                "--mode", "snp", "--ovmf", ovmf, "--vcpus", String(vcpus), "--vcpu-type", vcpuType.rawValue,
                "--guest-features", "0x" + String(guestFeatures, radix: 16),
            ] + extra)
            return (status == 0, (status == 0 ? String(decoding: output, as: UTF8.self) : errors).trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    static let shapes: [(Int, SNPVCPUType, UInt64)] = [(1, .epycV4, 0x1), (4, .epycMilan, 0x21), (16, .epycGenoa, 0x1)]
    static let debianLaunches = Peers.debianOVMF.flatMap { ovmf in shapes.map { Launch(ovmf: ovmf, vcpus: $0.0, vcpuType: $0.1, guestFeatures: $0.2) } }

    @Test("Debian's OVMF images: the derived measurement is sev-snp-measure's",
          .enabled(if: Peers.sevSNPMeasure != nil && !Peers.debianOVMF.isEmpty, "needs sev-snp-measure (pip) and Debian's ovmf"),
          arguments: debianLaunches)
    func debianOVMF(launch: Launch) throws {
        let derived = try ReferenceValueSources(snpLaunches: [try launch.measurement()]).derive()
        let oracle = try launch.oracle()
        #expect(oracle.measured, "sev-snp-measure failed: \(oracle.text)")
        #expect(derived.document.snpMeasurements.map(Peers.hex) == [oracle.text])
        #expect(derived.snpMeasurements == derived.document.snpMeasurements)
    }

    @Test("Several launches make one allowlist, in order and without repeats, each equal to sev-snp-measure's",
          .enabled(if: Peers.sevSNPMeasure != nil && !Peers.debianOVMF.isEmpty, "needs sev-snp-measure (pip) and Debian's ovmf"))
    func allowlist() throws {
        let launches = Array(Self.debianLaunches.prefix(3))
        let derived = try ReferenceValueSources(snpLaunches: try (launches + [launches[0]]).map { try $0.measurement() }).derive()
        #expect(derived.document.snpMeasurements.map(Peers.hex) == (try launches.map { try $0.oracle().text }))
        #expect(derived.snpMeasurements.count == 4)
        let decoded = try ReferenceValues(json: try derived.document.jsonEncoded())
        #expect(decoded == derived.document)
    }

    @Test("A kernel for an image that cannot measure one is refused, as sev-snp-measure refuses it, naming the launch",
          .enabled(if: Peers.sevSNPMeasure != nil && !Peers.debianOVMF.isEmpty, "needs sev-snp-measure (pip) and Debian's ovmf"))
    func kernelHashesUnsupported() throws {
        let launch = try #require(Self.debianLaunches.first)
        var withKernel = try launch.measurement()
        withKernel.kernelHashes = SEVKernelHashes(kernel: Array("kernel".utf8), initrd: nil, commandLine: "console=ttyS0")
        #expect(throws: ReferenceValueDerivationError.snpLaunch(number: 2, .kernelHashesUnsupported)) {
            try ReferenceValueSources(snpLaunches: [try launch.measurement(), withKernel]).derive()
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cvmkit-refvals-kernel-\(UUID().uuidString)")
        try Data("kernel".utf8).write(to: scratch)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let oracle = try launch.oracle(["--kernel", scratch.path, "--append", "console=ttyS0"])
        #expect(!oracle.measured && oracle.text.contains("SNP_KERNEL_HASHES"), "sev-snp-measure: \(oracle.text)")
    }

    @Test("The emulated platform's firmware: the derived measurement is sev-snp-measure's and the one its VMs report",
          .enabled(if: Peers.sevSNPMeasure != nil, "needs sev-snp-measure (pip)"))
    func emulatedFirmware() throws {
        let firmware = try EmulatedFirmware.synthetic()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("cvmkit-refvals-emulated-\(UUID().uuidString).fd")
        try Data(firmware.image.bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let launch = Launch(ovmf: file.path, vcpus: 2, vcpuType: .epycMilan, guestFeatures: SNPLaunchMeasurement.defaultGuestFeatures)
        let derived = try ReferenceValueSources(snpLaunches: [try launch.measurement()]).derive()
        #expect(derived.document.snpMeasurements.map(Peers.hex) == [try launch.oracle().text])
        #expect(derived.document.snpMeasurements == [try firmware.launchMeasurement(vcpus: 2, vcpuType: .epycMilan)])
    }

    @Test("No vCPUs is refused")
    func noVCPUs() throws {
        let firmware = try EmulatedFirmware.synthetic()
        #expect(throws: ReferenceValueDerivationError.snpLaunch(number: 1, .noVCPUs)) {
            try ReferenceValueSources(snpLaunches: [SNPLaunchMeasurement(firmware: firmware.image, vcpus: 0, vcpuSignature: 0)]).derive()
        }
    }
}
