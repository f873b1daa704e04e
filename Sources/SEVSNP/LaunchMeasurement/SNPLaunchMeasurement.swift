/// The inputs of an SEV-SNP guest launch under QEMU, from which the expected MEASUREMENT of its
/// attestation reports follows (SEV-SNP Firmware ABI, pub. 56860, §8.17.2 "Launch Digest
/// Calculation"). It gives reference values from the artifacts themselves rather than from a
/// running VM.
///
/// QEMU adds, in this order, each an SNP_LAUNCH_UPDATE (§8.17):
/// 1. every page of the OVMF image as a normal page, at the GPAs that end the image at 4 GiB;
/// 2. each SEV metadata section in OVMF's order: SNP_SEC_MEM and SVSM_CAA as zero pages, the
///    secrets page, the CPUID page, and SNP_KERNEL_HASHES as the normal page holding the kernel
///    hashes table when a kernel is given (zero pages otherwise);
/// 3. one VMSA page per vCPU: the bootstrap processor starts at the reset vector 0xFFFFFFF0,
///    the others at OVMF's SEV-ES AP reset address.
public struct SNPLaunchMeasurement: Sendable {
    /// The firmware image.
    public var firmware: OVMFImage
    /// The number of vCPUs, each contributing one VMSA page.
    public var vcpus: Int
    /// CPUID Fn0000_0001_EAX of the vCPU model (see ``SNPCPUID/signature`` and ``SNPVCPUType/cpuid``).
    public var vcpuSignature: UInt32
    /// SEV_FEATURES of every VMSA (AMD64 APM Vol. 2, the VMSA field SEV_FEATURES): bit 0 SNPActive,
    /// bit 5 DebugSwap and so on, as the hypervisor enables them; `sev-snp-measure` defaults to 0x1.
    public var guestFeatures: UInt64
    /// The kernel, initrd and command line hashes for measured direct boot, or nil for none.
    public var kernelHashes: SEVKernelHashes?

    /// The default SEV_FEATURES: SNPActive only.
    public static let defaultGuestFeatures: UInt64 = 0x1

    /// Describes a launch.
    public init(firmware: OVMFImage, vcpus: Int, vcpuSignature: UInt32,
                guestFeatures: UInt64 = Self.defaultGuestFeatures, kernelHashes: SEVKernelHashes? = nil) {
        self.firmware = firmware
        self.vcpus = vcpus
        self.vcpuSignature = vcpuSignature
        self.guestFeatures = guestFeatures
        self.kernelHashes = kernelHashes
    }

    /// The 48-byte launch digest the firmware will report as MEASUREMENT.
    public func digest() throws(SNPMeasurementError) -> [UInt8] {
        guard self.vcpus >= 1 else {
            throw .noVCPUs
        }
        var digest = SNPLaunchDigest()
        digest.addNormalPages(self.firmware.bytes, gpa: self.firmware.gpa)
        try self.addMetadataSections(to: &digest)
        let apResetAddress = try self.firmware.apResetAddress
        guard self.vcpus == 1 || apResetAddress != 0 else {
            throw .missingAPResetAddress
        }
        let bootstrap = SNPVMSA.page(resetAddress: SNPVMSA.bootstrapResetAddress, sevFeatures: self.guestFeatures,
                                     vcpuSignature: self.vcpuSignature)
        digest.add(.vmsa, gpa: SNPLaunchDigest.vmsaGPA, page: bootstrap)
        if self.vcpus > 1 {
            let application = SNPVMSA.page(resetAddress: apResetAddress, sevFeatures: self.guestFeatures,
                                           vcpuSignature: self.vcpuSignature)
            for _ in 1..<self.vcpus {
                digest.add(.vmsa, gpa: SNPLaunchDigest.vmsaGPA, page: application)
            }
        }
        return digest.digest
    }

    private func addMetadataSections(to digest: inout SNPLaunchDigest) throws(SNPMeasurementError) {
        let sections = self.firmware.sevMetadata
        if self.kernelHashes != nil, !sections.contains(where: { $0.kind == .snpKernelHashes }) {
            throw .kernelHashesUnsupported
        }
        for section in sections {
            let gpa = UInt64(section.gpa)
            switch (section.kind, self.kernelHashes) {
            case (.snpSecureMemory, _), (.svsmCallingArea, _), (.snpKernelHashes, nil):
                digest.addUnhashedPages(.zero, gpa: gpa, size: UInt64(section.size))
            case (.snpSecrets, _):
                digest.add(.secrets, gpa: gpa)
            case (.cpuid, _):
                digest.add(.cpuid, gpa: gpa)
            case (.snpKernelHashes, let hashes?):
                let offset = Int(try self.firmware.sevHashTableAddress) % SNPLaunchDigest.pageSize
                guard section.size == UInt32(SNPLaunchDigest.pageSize),
                      offset + hashes.table.count <= SNPLaunchDigest.pageSize else {
                    throw .kernelHashesSectionInvalid(size: section.size, tableOffset: offset)
                }
                digest.add(.normal, gpa: gpa, page: hashes.page(tableOffset: offset))
            }
        }
    }
}
