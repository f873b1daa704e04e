import Foundation
@testable import SEVSNP
import Testing

/// The SEV-SNP launch measurement against its oracle, `sev-snp-measure`: the digests that tool's
/// own test suite pins for its sample OVMF files, then the tool run live on Debian's OVMF builds,
/// on its samples with generated kernels, and on its VMSA pages.
@Suite("SEV-SNP launch measurement")
struct LaunchMeasurementTests {
    /// `Tests/Fixtures/sev-snp-measure`, found from this file.
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/sev-snp-measure")
    static let amdSev = fixtures.appendingPathComponent("ovmf_AmdSev_suffix.bin").path
    static let ovmfX64 = fixtures.appendingPathComponent("ovmf_OvmfX64_suffix.bin").path

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
            return try launch.digest().map { String(format: "%02x", $0) }.joined()
        }

        /// Runs the oracle on the same inputs, writing the kernel and initrd to a scratch directory.
        func oracle() throws -> MeasureOracle.Outcome {
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("snp-measure-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: scratch) }
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

    // MARK: The tool's own test vectors

    /// `tests/test_guest.py` of sev-snp-measure at 8f2b337: the QEMU SNP cases, whose kernel and
    /// initrd are /dev/null (empty).
    static let pinned: [(Launch, String)] = [
        (Launch(ovmf: amdSev, vcpus: 1, vcpuType: .epycV4, guestFeatures: 0x21, kernel: [], initrd: [], append: "console=ttyS0 loglevel=7"),
         "803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977"),
        (Launch(ovmf: amdSev, vcpus: 1, vcpuType: .epycV4, guestFeatures: 0x1, kernel: [], initrd: [], append: "console=ttyS0 loglevel=7"),
         "6d287813eb5222d770f75005c664e34c204f385ce832cc2ce7d0d6f354454362f390ef83a92046c042e706363b4b08fa"),
        (Launch(ovmf: amdSev, vcpus: 1, vcpuType: .epycV4, guestFeatures: 0x21),
         "e1e1ca029dd7973ab9513295be68198472dcd4fc834bd9af9b63f6e8a1674dbf281a9278a4a2ebe0eed9f22adbcd0e2b"),
        (Launch(ovmf: amdSev, vcpus: 1, vcpuType: .epycV4, guestFeatures: 0x1),
         "19358ba9a7615534a9a1e2f0dfc29384dcd4dcb7062ff9c6013b26869a5fc6ecabe033c48dd6f6db5d6d76e7c5df632d"),
        (Launch(ovmf: amdSev, vcpus: 4, vcpuType: .epycV4, guestFeatures: 0x21, kernel: [], initrd: [], append: ""),
         "4953b1fb416fa874980e8442b3706d345926d5f38879134e00813c5d7abcbe78eafe7b422907be0b4698e2414a631942"),
        (Launch(ovmf: amdSev, vcpus: 4, vcpuType: .epycV4, guestFeatures: 0x1, kernel: [], initrd: [], append: ""),
         "5061fffb019493a903613d56d54b94912a1a2f9e4502385f5c194616753720a92441310ba6c4933de877c36e23046ad5"),
        (Launch(ovmf: ovmfX64, vcpus: 1, vcpuType: .epycV4, guestFeatures: 0x21),
         "28797ae0afaba4005a81e629acebfb59e6687949d6be44007cd5506823b0dd66f146aaae26ff291eed7b493d8a64c385"),
        (Launch(ovmf: ovmfX64, vcpus: 1, vcpuType: .epycV4, guestFeatures: 0x1),
         "da0296de8193586a5512078dcd719eccecbd87e2b825ad4148c44f665dc87df21e5b49e21523a9ad993afdb6a30b4005"),
    ]

    @Test("The digests sev-snp-measure's test suite pins for its sample OVMF files", arguments: pinned)
    func pinnedVectors(launch: Launch, expected: String) throws {
        #expect(try launch.digest() == expected)
    }

    @Test("The digest of the AmdSev sample's pages alone is the OVMF hash sev-snp-measure's test suite pins")
    func ovmfPagesDigest() throws {
        let image = try OVMFImage(bytes: try Launch.read(Self.amdSev))
        var digest = SNPLaunchDigest()
        digest.addNormalPages(image.bytes, gpa: image.gpa)
        #expect(digest.digest == [UInt8](hex: "086e2e9149ebf45abdc3445fba5b2da8270bdbb04094d7a2c37faaa4b24af3aa16aff8c374c2a55c467a50da6d466b74"))
    }

    @Test("The standard OVMF build refuses a kernel, as sev-snp-measure's test suite requires")
    func ovmfX64RefusesKernel() {
        let launch = Launch(ovmf: Self.ovmfX64, vcpus: 1, vcpuType: .epycV4, guestFeatures: 0x21, kernel: [], initrd: [], append: "")
        #expect(throws: SNPMeasurementError.kernelHashesUnsupported) { try launch.digest() }
    }

    // MARK: The tool run live

    /// vCPU counts, models and SEV features to try on every image.
    static let shapes: [(Int, SNPVCPUType, UInt64)] = [
        (1, .epycV4, 0x1), (2, .epyc, 0x1), (3, .epycRomeV2, 0x21), (4, .epycMilan, 0x21),
        (8, .epycGenoa, 0x1), (16, .epycTurin, 0x21), (64, .epycMilanV2, 0x1),
    ]

    static var debianLaunches: [Launch] {
        MeasureOracle.debianOVMF.flatMap { ovmf in
            shapes.map { Launch(ovmf: ovmf, vcpus: $0.0, vcpuType: $0.1, guestFeatures: $0.2) }
        }
    }

    @Test("Debian's OVMF images measure byte for byte as sev-snp-measure measures them",
          .enabled(if: MeasureOracle.executable != nil && !MeasureOracle.debianOVMF.isEmpty, "needs sev-snp-measure and Debian's ovmf"),
          arguments: debianLaunches)
    func debianOVMF(launch: Launch) throws {
        #expect(try launch.oracle() == .measurement(try launch.digest()))
    }

    @Test("Debian's OVMF.fd carries SEV metadata, so the comparison covers the metadata pages",
          .enabled(if: MeasureOracle.debianOVMF.contains("/usr/share/ovmf/OVMF.fd"), "needs Debian's ovmf"))
    func debianOVMFHasMetadata() throws {
        let image = try OVMFImage(bytes: try Launch.read("/usr/share/ovmf/OVMF.fd"))
        #expect(Set(image.sevMetadata.map(\.kind)).isSuperset(of: [.snpSecureMemory, .snpSecrets, .cpuid]))
    }

    /// Generated artifacts: bytes from a linear congruential generator, so every run is the same.
    static func artifact(_ count: Int, seed: UInt32) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return UInt8(truncatingIfNeeded: state >> 24)
        }
    }

    static let kernelLaunches: [Launch] = [
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
        let base = Self.kernelLaunches[0]
        var others = [base, base, base, base]
        others[0].append = "console=ttyS0 root=/dev/vda2"
        others[1].initrd = nil
        others[2].kernel?[0] ^= 1
        others[3].guestFeatures = 0x3
        for launch in others {
            let ours = try launch.digest()
            #expect(ours != (try base.digest()))
            #expect(try launch.oracle() == .measurement(ours), "\(launch)")
        }
    }

    @Test("A kernel with an image lacking SNP_KERNEL_HASHES fails in both tools",
          .enabled(if: MeasureOracle.executable != nil && MeasureOracle.debianOVMF.contains("/usr/share/ovmf/OVMF.fd"),
                   "needs sev-snp-measure and Debian's ovmf"))
    func kernelRefusedLikeOracle() throws {
        let launch = Launch(ovmf: "/usr/share/ovmf/OVMF.fd", vcpus: 1, vcpuType: .epycV4, kernel: Self.artifact(100, seed: 6))
        #expect(try launch.oracle() == .failure("Error: Kernel specified but OVMF metadata doesn't include SNP_KERNEL_HASHES section"))
        #expect(throws: SNPMeasurementError.kernelHashesUnsupported) { try launch.digest() }
    }

    @Test("The BSP and AP VMSA pages equal the ones sev-snp-measure dumps",
          .enabled(if: MeasureOracle.executable != nil, "needs sev-snp-measure"),
          arguments: [(SNPVCPUType.epycV4, UInt64(0x1)), (.epycGenoa, 0x21), (.epycTurin, 0x1)])
    func vmsaPages(vcpuType: SNPVCPUType, features: UInt64) throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("snp-vmsa-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        _ = try MeasureOracle.run(["--ovmf", Self.amdSev, "--vcpus", "2", "--vcpu-type", vcpuType.rawValue,
                                   "--guest-features", String(features), "--dump-vmsa"], in: scratch)
        let apResetAddress = try OVMFImage(bytes: try Launch.read(Self.amdSev)).apResetAddress
        for (index, address) in [SNPVMSA.bootstrapResetAddress, apResetAddress].enumerated() {
            let dumped = try Launch.read(scratch.appendingPathComponent("vmsa\(index).bin").path)
            #expect(SNPVMSA.page(resetAddress: address, sevFeatures: features, vcpuSignature: vcpuType.cpuid.signature) == dumped,
                    "vmsa\(index).bin")
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
        let image = try OVMFImage(bytes: try Launch.read(ovmf))
        let sections = image.sevMetadata.map { [Int($0.gpa), Int($0.size), Int($0.kind.rawValue)] }
        let hashTable = image.sevMetadata.contains { $0.kind == .snpKernelHashes } ? Int(try image.sevHashTableAddress) : nil
        #expect(try MeasureOracle.layout(of: ovmf) == .init(apResetAddress: Int(try image.apResetAddress), sections: sections,
                                                            hashTableAddress: hashTable))
    }

    @Test("The AmdSev sample's layout: the image ends at 4 GiB and its kernel hashes table is inside its section")
    func amdSevLayout() throws {
        let image = try OVMFImage(bytes: try Launch.read(Self.amdSev))
        #expect(image.gpa == 0xFFFF_F000)
        let section = try #require(image.sevMetadata.first { $0.kind == .snpKernelHashes })
        #expect((section.gpa..<(section.gpa + section.size)).contains(try image.sevHashTableAddress))
    }

    /// The offset of the "ASEV" header in the AmdSev sample.
    static func metadataOffset(_ bytes: [UInt8]) throws -> Int {
        try #require((0..<(bytes.count - 4)).first { Array(bytes[$0..<($0 + 4)]) == Array("ASEV".utf8) })
    }

    @Test("Flipping any byte of the AmdSev sample parses or fails with a typed error; outside its tables nothing changes")
    func flipEveryByte() throws {
        let original = try Launch.read(Self.amdSev)
        let parsed = try OVMFImage(bytes: original)
        let header = try Self.metadataOffset(original)
        let metadata = header..<(header + 16 + 12 * parsed.sevMetadata.count)
        let tableSize = Int(original[original.count - 50]) | Int(original[original.count - 49]) << 8
        let table = (original.count - 32 - tableSize)..<(original.count - 32)
        for offset in original.indices {
            var bytes = original
            bytes[offset] ^= 0xFF
            let result = Result { () throws(SNPMeasurementError) in try OVMFImage(bytes: bytes) }
            if !metadata.contains(offset), !table.contains(offset) {
                #expect(try result.get().sevMetadata == parsed.sevMetadata, "offset 0x\(String(offset, radix: 16))")
            }
        }
    }

    @Test("Malformed images are refused with the field and offset concerned")
    func malformed() throws {
        let original = try Launch.read(Self.amdSev)
        let header = try Self.metadataOffset(original)

        #expect(throws: SNPMeasurementError.imageNotPageMultiple(size: 4095)) { try OVMFImage(bytes: Array(original.dropFirst())) }
        #expect(throws: SNPMeasurementError.imageSizeOutOfRange(size: 0)) { try OVMFImage(bytes: []) }

        var badSignature = original
        badSignature[header] ^= 0x20
        #expect(throws: SNPMeasurementError.metadataHeaderInvalid(offset: header, reason: "the signature is not \"ASEV\"")) {
            try OVMFImage(bytes: badSignature)
        }
        var badVersion = original
        badVersion[header + 8] = 2
        #expect(throws: SNPMeasurementError.metadataHeaderInvalid(offset: header, reason: "version 2 is not 1")) {
            try OVMFImage(bytes: badVersion)
        }
        var unknownType = original
        unknownType[header + 16 + 8] = 7
        #expect(throws: SNPMeasurementError.unknownSectionType(7, offset: header + 24)) { try OVMFImage(bytes: unknownType) }
        var unaligned = original
        unaligned[header + 16] |= 0x01
        #expect(throws: SNPMeasurementError.self) { try OVMFImage(bytes: unaligned) }
        var tooManySections = original
        tooManySections[header + 12] = 0xFF
        #expect(throws: SNPMeasurementError.truncated(structure: "SEV metadata of 255 sections", offset: header)) {
            try OVMFImage(bytes: tooManySections)
        }

        // The footer entry's u16 size sits 32 + 18 bytes before the end.
        var oversizedTable = original
        oversizedTable[original.count - 50 + 1] = 0xFF
        #expect(throws: SNPMeasurementError.self) { try OVMFImage(bytes: oversizedTable) }

        var noFooter = original
        noFooter[original.count - 48] ^= 0xFF
        let bare = try OVMFImage(bytes: noFooter)
        #expect(bare.sevMetadata.isEmpty)
        #expect(throws: SNPMeasurementError.missingFooterEntry(name: "SEV-ES reset block", guid: "00f771de-1a7e-4fcb-890e-68c77e2fb44e")) {
            try SNPLaunchMeasurement(firmware: bare, vcpus: 1, vcpuSignature: 0).digest()
        }
        #expect(throws: SNPMeasurementError.noVCPUs) {
            try SNPLaunchMeasurement(firmware: try OVMFImage(bytes: original), vcpus: 0, vcpuSignature: 0).digest()
        }
    }
}
