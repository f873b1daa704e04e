import Foundation
@testable import SEVSNP
import TestSupport
import Testing

/// The SEV-SNP launch measurement against its oracle, `sev-snp-measure`, run on synthetic OVMF
/// images (see ``SyntheticOVMF``) with and without generated kernels, on Debian's OVMF builds,
/// and on its VMSA pages.
@Suite("SEV-SNP launch measurement")
struct LaunchMeasurementTests {
    static let amdSev = SyntheticOVMF.amdSev.file
    static let ovmfX64 = SyntheticOVMF.ovmfX64.file

    /// One launch, as both our calculator and the tool's command line take it.
    struct Launch: Sendable, CustomTestStringConvertible {
        var ovmf: String
        var vcpus: Int
        var vcpuType: SNPVCPUType
        var guestFeatures: UInt64 = 0x1
        var kernel: [UInt8]? = nil
        var initrd: [UInt8]? = nil
        var append: String? = nil

        var testDescription: String {
            "\(URL(fileURLWithPath: ovmf).lastPathComponent) \(vcpus)×\(vcpuType.rawValue) features 0x\(String(guestFeatures, radix: 16))"
                + (kernel.map { " kernel \($0.count) B" } ?? "") + (initrd.map { " initrd \($0.count) B" } ?? "")
                + (append.map { " append \"\($0)\"" } ?? "")
        }

        func digest() throws -> String {
            let hashes = kernel.map { SEVKernelHashes(kernel: $0, initrd: initrd, commandLine: append) }
            let launch = SNPLaunchMeasurement(firmware: try OVMFImage(bytes: try Self.read(ovmf)), vcpus: vcpus,
                                              vcpuSignature: vcpuType.cpuid.signature, guestFeatures: guestFeatures,
                                              kernelHashes: hashes)
            return try launch.digest().hex
        }

        /// Runs the oracle on the same inputs, writing the kernel and initrd to a scratch directory.
        func oracle() throws -> MeasureOracle.Outcome {
            try MeasureOracle.withScratchDirectory { scratch in try self.oracle(in: scratch) }
        }

        private func oracle(in scratch: URL) throws -> MeasureOracle.Outcome {
            var arguments = ["--ovmf", ovmf, "--vcpus", String(vcpus), "--vcpu-type", vcpuType.rawValue,
                             "--guest-features", "0x" + String(guestFeatures, radix: 16)]
            for (option, contents) in [("--kernel", kernel), ("--initrd", initrd)] {
                guard let contents else { continue }
                let file = scratch.appendingPathComponent(String(option.dropFirst(2)))
                try Data(contents).write(to: file)
                arguments += [option, file.path]
            }
            if let append {
                arguments += ["--append", append]
            }
            return try MeasureOracle.run(arguments, in: scratch)
        }

        static func read(_ path: String) throws -> [UInt8] {
            Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        }
    }

    // MARK: The tool run live

    /// vCPU counts, models and SEV features to try on every image.
    static let shapes: [(Int, SNPVCPUType, UInt64)] = [
        (1, .epycV4, 0x1), (2, .epyc, 0x1), (3, .epycRomeV2, 0x21), (4, .epycMilan, 0x21),
        (8, .epycGenoa, 0x1), (16, .epycTurin, 0x21), (64, .epycMilanV2, 0x1),
    ]

    /// Every shape on every image, without a kernel.
    static func launches(on images: [String]) -> [Launch] {
        images.flatMap { ovmf in
            shapes.map { Launch(ovmf: ovmf, vcpus: $0.0, vcpuType: $0.1, guestFeatures: $0.2) }
        }
    }

    @Test("Debian's OVMF images measure byte for byte as sev-snp-measure measures them",
          .enabled(if: MeasureOracle.executable != nil && !MeasureOracle.debianOVMF.isEmpty, "needs sev-snp-measure and Debian's ovmf"),
          arguments: launches(on: MeasureOracle.debianOVMF))
    func debianOVMF(launch: Launch) throws {
        #expect(try launch.oracle() == .measurement(try launch.digest()))
    }

    @Test("Debian's OVMF.fd carries SEV metadata, so the comparison covers the metadata pages",
          .enabled(if: MeasureOracle.debianOVMF.contains("/usr/share/ovmf/OVMF.fd"), "needs Debian's ovmf"))
    func debianOVMFHasMetadata() throws {
        let image = try OVMFImage(bytes: try Launch.read("/usr/share/ovmf/OVMF.fd"))
        #expect(Set(image.sevMetadata.map(\.kind)).isSuperset(of: [.snpSecureMemory, .snpSecrets, .cpuid]))
    }

    @Test("The synthetic images are read by sev-snp-measure's parser as they were generated",
          .enabled(if: MeasureOracle.executable != nil, "needs sev-snp-measure"),
          arguments: [SyntheticOVMF.amdSev, .ovmfX64])
    func syntheticImagesAsGenerated(image: SyntheticOVMF) throws {
        #expect(try MeasureOracle.layouts(of: [image.file]) == [Self.layout(apResetAddress: image.apResetAddress, sections: image.sections,
                                                                            hashTableAddress: image.hashTableAddress)])
    }

    @Test("The synthetic images measure as sev-snp-measure measures them",
          .enabled(if: MeasureOracle.executable != nil, "needs sev-snp-measure"), arguments: launches(on: [amdSev, ovmfX64]))
    func syntheticOVMF(launch: Launch) throws {
        #expect(try launch.oracle() == .measurement(try launch.digest()))
    }

    @Test("The digest of an image's pages alone is sev-snp-measure's OVMF hash",
          .enabled(if: MeasureOracle.executable != nil, "needs sev-snp-measure"), arguments: [amdSev, ovmfX64])
    func ovmfPagesDigest(ovmf: String) throws {
        let image = try OVMFImage(bytes: try Launch.read(ovmf))
        var digest = SNPLaunchDigest()
        digest.addNormalPages(image.bytes, gpa: image.gpa)
        #expect(try MeasureOracle.run(["--ovmf", ovmf], mode: "snp:ovmf-hash") == .measurement(digest.digest.hex))
    }

    /// Generated kernels and initrds.
    static func artifact(_ count: Int, seed: UInt32) -> [UInt8] {
        SyntheticOVMF.pseudoRandom(count, seed: seed)
    }

    /// The first four are the shapes of sev-snp-measure's own QEMU cases, whose kernel and initrd are empty.
    static let kernelLaunches: [Launch] = [
        Launch(ovmf: amdSev, vcpus: 1, vcpuType: .epycV4, guestFeatures: 0x21, kernel: [], initrd: [], append: "console=ttyS0 loglevel=7"),
        Launch(ovmf: amdSev, vcpus: 1, vcpuType: .epycV4, guestFeatures: 0x1, kernel: [], initrd: [], append: "console=ttyS0 loglevel=7"),
        Launch(ovmf: amdSev, vcpus: 4, vcpuType: .epycV4, guestFeatures: 0x21, kernel: [], initrd: [], append: ""),
        Launch(ovmf: amdSev, vcpus: 4, vcpuType: .epycV4, guestFeatures: 0x1, kernel: [], initrd: [], append: ""),
        Launch(ovmf: amdSev, vcpus: 1, vcpuType: .epycV4, kernel: artifact(70_000, seed: 1), initrd: artifact(5_000, seed: 2),
               append: "console=ttyS0 root=/dev/vda1"),
        Launch(ovmf: amdSev, vcpus: 2, vcpuType: .epycMilan, guestFeatures: 0x21, kernel: artifact(4096, seed: 3)),
        Launch(ovmf: amdSev, vcpus: 4, vcpuType: .epycGenoa, kernel: artifact(1, seed: 4), initrd: [], append: "quiet"),
        Launch(ovmf: amdSev, vcpus: 3, vcpuType: .epycTurin, guestFeatures: 0x21, kernel: artifact(12_345, seed: 5),
               append: "init=/sbin/init ünïcode=✓"),
    ]

    @Test("Measured direct boot: the kernel hashes page matches sev-snp-measure",
          .enabled(if: MeasureOracle.executable != nil, "needs sev-snp-measure"), arguments: kernelLaunches)
    func kernelHashes(launch: Launch) throws {
        #expect(try launch.oracle() == .measurement(try launch.digest()))
    }

    @Test("Changing any one input changes the digest the way it changes sev-snp-measure's",
          .enabled(if: MeasureOracle.executable != nil, "needs sev-snp-measure"))
    func perturbations() throws {
        let base = Self.kernelLaunches[4]
        var others = [base, base, base, base, base]
        others[0].append = "console=ttyS0 root=/dev/vda2"
        others[1].initrd = nil
        others[2].kernel?[0] ^= 1
        others[3].guestFeatures = 0x3
        others[4].ovmf = Self.perturbedAmdSev
        for launch in others {
            let ours = try launch.digest()
            #expect(ours != (try base.digest()))
            #expect(try launch.oracle() == .measurement(ours), "\(launch)")
        }
    }

    /// The AmdSev image with one byte of its code changed.
    static let perturbedAmdSev: String = {
        var bytes = SyntheticOVMF.amdSev.bytes
        bytes[0] ^= 1
        return SyntheticOVMF.file(named: "AmdSev-perturbed", bytes: bytes)
    }()

    /// Images lacking SNP_KERNEL_HASHES: the synthetic OvmfX64 and, when installed, Debian's OVMF.fd.
    static let imagesWithoutKernelHashes = [ovmfX64] + MeasureOracle.debianOVMF.filter { $0 == "/usr/share/ovmf/OVMF.fd" }

    @Test("A kernel with an image lacking SNP_KERNEL_HASHES fails in both tools",
          .enabled(if: MeasureOracle.executable != nil, "needs sev-snp-measure"), arguments: imagesWithoutKernelHashes)
    func kernelRefusedLikeOracle(ovmf: String) throws {
        let launch = Launch(ovmf: ovmf, vcpus: 1, vcpuType: .epycV4, kernel: Self.artifact(100, seed: 6))
        #expect(try launch.oracle() == .failure("Error: Kernel specified but OVMF metadata doesn't include SNP_KERNEL_HASHES section"))
        #expect(throws: SNPMeasurementError.kernelHashesUnsupported) { try launch.digest() }
    }

    @Test("The BSP and AP VMSA pages equal the ones sev-snp-measure dumps",
          .enabled(if: MeasureOracle.executable != nil, "needs sev-snp-measure"),
          arguments: [(SNPVCPUType.epycV4, UInt64(0x1)), (.epycGenoa, 0x21), (.epycTurin, 0x1)])
    func vmsaPages(vcpuType: SNPVCPUType, features: UInt64) throws {
        try MeasureOracle.withScratchDirectory { scratch in
            _ = try MeasureOracle.run(["--ovmf", Self.amdSev, "--vcpus", "2", "--vcpu-type", vcpuType.rawValue,
                                       "--guest-features", String(features), "--dump-vmsa"], in: scratch)
            let apResetAddress = try OVMFImage(bytes: try Launch.read(Self.amdSev)).apResetAddress
            for (index, address) in [SNPVMSA.bootstrapResetAddress, apResetAddress].enumerated() {
                let dumped = try Launch.read(scratch.appendingPathComponent("vmsa\(index).bin").path)
                #expect(SNPVMSA.page(resetAddress: address, sevFeatures: features, vcpuSignature: vcpuType.cpuid.signature) == dumped,
                        "vmsa\(index).bin")
            }
        }
    }

    // MARK: Specification values and malformed images

    @Test("CPUID signatures of the QEMU models (AMD pub. 25481 Fn0000_0001_EAX)")
    func signatures() {
        // Values as /proc/cpuinfo-reading tools show them: Naples 0x800F12, Milan 0xA00F11, Genoa 0xA10F10, Turin 0xB00F00.
        #expect(SNPVCPUType.epyc.cpuid.signature == 0x0080_0F12)
        #expect(SNPVCPUType.epycRome.cpuid.signature == 0x0083_0F10)
        #expect(SNPVCPUType.epycMilan.cpuid.signature == 0x00A0_0F11)
        #expect(SNPVCPUType.epycGenoa.cpuid.signature == 0x00A1_0F10)
        #expect(SNPVCPUType.epycTurin.cpuid.signature == 0x00B0_0F00)
    }

    @Test("The footer table and SEV metadata read as sev-snp-measure's parser reads them",
          .enabled(if: MeasureOracle.executable != nil, "needs sev-snp-measure"),
          arguments: [amdSev, ovmfX64] + MeasureOracle.debianOVMF)
    func layout(ovmf: String) throws {
        #expect(try MeasureOracle.layouts(of: [ovmf]) == [try Self.layout(of: OVMFImage(bytes: try Launch.read(ovmf)))])
    }

    /// A layout as sev-snp-measure's parser reports it.
    static func layout(apResetAddress: UInt32, sections: [SEVMetadataSection], hashTableAddress: UInt32?) -> MeasureOracle.Layout {
        MeasureOracle.Layout(apResetAddress: Int(apResetAddress),
                             sections: sections.map { [Int($0.gpa), Int($0.size), Int($0.kind.rawValue)] },
                             hashTableAddress: hashTableAddress.map(Int.init))
    }

    /// What our parser reads from an image, with the hash table GPA only when a SNP_KERNEL_HASHES section exists.
    static func layout(of image: OVMFImage) throws(SNPMeasurementError) -> MeasureOracle.Layout {
        let kernel = image.sevMetadata.contains { $0.kind == .snpKernelHashes }
        return layout(apResetAddress: try image.apResetAddress, sections: image.sevMetadata,
                      hashTableAddress: kernel ? try image.sevHashTableAddress : nil)
    }

    @Test("Flipping any byte of the AmdSev image reads as sev-snp-measure's parser reads it; only its tables can make us refuse",
          .enabled(if: MeasureOracle.executable != nil, "needs sev-snp-measure"))
    func flipEveryByte() throws {
        let synthetic = SyntheticOVMF.amdSev
        let flipped = synthetic.bytes.indices.map { offset in
            var bytes = synthetic.bytes
            bytes[offset] ^= 0xFF
            return bytes
        }
        let oracle = try MeasureOracle.withImageFiles(flipped) { try MeasureOracle.layouts(of: $0) }
        for (offset, (bytes, theirs)) in zip(flipped, oracle).enumerated() {
            let place = "offset 0x\(String(offset, radix: 16))"
            if let ours = try? Self.layout(of: OVMFImage(bytes: bytes)) {
                #expect(ours == theirs, "\(place)")
            } else {
                #expect(synthetic.metadata.contains(offset) || synthetic.footerTable.contains(offset), "\(place)")
            }
        }
    }

    @Test("Malformed images are refused with the field and offset concerned, and sev-snp-measure refuses them too",
          .enabled(if: MeasureOracle.executable != nil, "needs sev-snp-measure"))
    func malformed() throws {
        let synthetic = SyntheticOVMF.amdSev
        let original = synthetic.bytes
        let header = synthetic.metadata.lowerBound
        let footer = synthetic.footerTable.upperBound - 18
        func patched(_ offset: Int, _ change: (inout UInt8) -> Void) -> [UInt8] {
            var bytes = original
            change(&bytes[offset])
            return bytes
        }
        // Each image, the error we refuse it with, and whether sev-snp-measure refuses it too: it
        // reads a footer table larger than the image from the image's first byte (Python slicing)
        // and measures it.
        let cases: [(String, [UInt8], SNPMeasurementError, oracleRefuses: Bool)] = [
            ("a partial page", Array(original.dropFirst()), .imageNotPageMultiple(size: 4095), true),
            ("no bytes", [], .imageSizeOutOfRange(size: 0), true),
            ("a bad signature", patched(header) { $0 ^= 0x20 },
             .metadataHeaderInvalid(offset: header, reason: "the signature is not \"ASEV\""), true),
            ("version 2", patched(header + 8) { $0 = 2 }, .metadataHeaderInvalid(offset: header, reason: "version 2 is not 1"), true),
            ("section type 7", patched(header + 16 + 8) { $0 = 7 }, .unknownSectionType(7, offset: header + 24), true),
            ("a section size off the page", patched(header + 16 + 4) { $0 |= 1 },
             .sectionNotPageAligned(gpa: 0x80_0000, size: 0x9001), true),
            ("255 sections", patched(header + 12) { $0 = 0xFF },
             .truncated(structure: "SEV metadata of 255 sections", offset: header), true),
            ("a footer entry shorter than its trailer", patched(footer) { $0 = 17 },
             .footerEntryMalformed(guid: "96b582de-1fb2-45f7-baea-a366c55a082d", size: 17), true),
            ("a footer table larger than the image", patched(footer + 1) { $0 = 0xFF },
             .footerEntryMalformed(guid: "96b582de-1fb2-45f7-baea-a366c55a082d", size: 0xFF00 | Int(original[footer])), false),
            ("no footer GUID", patched(footer + 2) { $0 ^= 0xFF },
             .missingFooterEntry(name: "SEV-ES reset block", guid: "00f771de-1a7e-4fcb-890e-68c77e2fb44e"), true),
        ]
        let (vcpus, signature) = (2, SNPVCPUType.epycV4.cpuid.signature)
        let oracle = try MeasureOracle.withImageFiles(cases.map(\.1)) { files in
            try MeasureOracle.digests(of: files, vcpus: vcpus, vcpuSignature: signature,
                                      guestFeatures: SNPLaunchMeasurement.defaultGuestFeatures)
        }
        for ((name, bytes, error, oracleRefuses), oracle) in zip(cases, oracle) {
            #expect(throws: error, "\(name)") {
                try SNPLaunchMeasurement(firmware: try OVMFImage(bytes: bytes), vcpus: vcpus, vcpuSignature: signature).digest()
            }
            #expect((oracle == nil) == oracleRefuses, "sev-snp-measure's digest of an image with \(name): \(oracle ?? "none")")
        }
        #expect(throws: SNPMeasurementError.noVCPUs) {
            try SNPLaunchMeasurement(firmware: try OVMFImage(bytes: original), vcpus: 0, vcpuSignature: 0).digest()
        }
    }
}
