/// The initial VMSA page QEMU/KVM gives an SEV-SNP vCPU: the register state at reset, encrypted
/// and measured as a PAGE_TYPE_VMSA page (SEV-SNP Firmware ABI, pub. 56860, §8.17.2).
///
/// The layout is the VMCB state save area of the AMD64 Architecture Programmer's Manual, Vol. 2,
/// Appendix B, Table B-4 "VMSA Layout, State Save Area for SEV-ES" (Linux `struct sev_es_save_area`).
/// Every field is zero except those KVM sets at vCPU reset (x86 reset state, APM Vol. 2 §14.1.3
/// "Processor Initialization State", with EFER.SVME, CR4.MCE and the x87/SSE defaults KVM applies):
/// this is the state the oracle tool `sev-snp-measure` reconstructs for QEMU.
enum SNPVMSA {
    /// The bootstrap processor starts at the x86 reset vector.
    static let bootstrapResetAddress: UInt32 = 0xFFFF_FFF0

    /// The VMSA page of a vCPU that starts at `resetAddress`.
    ///
    /// - Parameters:
    ///   - resetAddress: The linear address of the first instruction: CS.base takes its upper 16
    ///     bits and RIP its lower 16, as in real mode at reset.
    ///   - sevFeatures: SEV_FEATURES (offset 0x3B0), the guest features the hypervisor enables.
    ///   - vcpuSignature: CPUID Fn0000_0001_EAX, which KVM leaves in RDX at reset.
    static func page(resetAddress: UInt32, sevFeatures: UInt64, vcpuSignature: UInt32) -> [UInt8] {
        var page = SaveArea()
        // Segment attributes: 0x93 read/write data, 0x9B execute/read code, 0x82 LDT, 0x8B busy TSS.
        page.segment(at: 0x000, selector: 0, attributes: 0x93)                                          // ES
        page.segment(at: 0x010, selector: 0xF000, attributes: 0x9B, base: UInt64(resetAddress & 0xFFFF_0000)) // CS
        page.segment(at: 0x020, selector: 0, attributes: 0x93)                                          // SS
        page.segment(at: 0x030, selector: 0, attributes: 0x93)                                          // DS
        page.segment(at: 0x040, selector: 0, attributes: 0x93)                                          // FS
        page.segment(at: 0x050, selector: 0, attributes: 0x93)                                          // GS
        page.segment(at: 0x060, selector: 0, attributes: 0)                                             // GDTR
        page.segment(at: 0x070, selector: 0, attributes: 0x82)                                          // LDTR
        page.segment(at: 0x080, selector: 0, attributes: 0)                                             // IDTR
        page.segment(at: 0x090, selector: 0, attributes: 0x8B)                                          // TR
        page.put(UInt64(0x1000), at: 0x0D0)                  // EFER: SVME
        page.put(UInt64(0x40), at: 0x148)                    // CR4: MCE
        page.put(UInt64(0x10), at: 0x158)                    // CR0: ET
        page.put(UInt64(0x400), at: 0x160)                   // DR7
        page.put(UInt64(0xFFFF_0FF0), at: 0x168)             // DR6
        page.put(UInt64(0x2), at: 0x170)                     // RFLAGS: reserved bit 1
        page.put(UInt64(resetAddress & 0xFFFF), at: 0x178)   // RIP
        page.put(UInt64(0x0007_0406_0007_0406), at: 0x268)   // G_PAT: the PAT reset value (APM Vol. 2 §A.3)
        page.put(UInt64(vcpuSignature), at: 0x310)           // RDX
        page.put(sevFeatures, at: 0x3B0)                     // SEV_FEATURES
        page.put(UInt64(0x1), at: 0x3E8)                     // XCR0: x87
        page.put(UInt32(0x1F80), at: 0x408)                  // MXCSR
        page.put(UInt16(0x037F), at: 0x410)                  // x87 FCW
        return page.bytes
    }

    /// A zeroed 4 KiB save area written field by field, little-endian.
    private struct SaveArea {
        var bytes = [UInt8](repeating: 0, count: SNPLaunchDigest.pageSize)

        mutating func put<T: FixedWidthInteger & UnsignedInteger>(_ value: T, at offset: Int) {
            for index in 0..<MemoryLayout<T>.size {
                self.bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index))
            }
        }

        /// A VMCB segment register: u16 selector, u16 attributes, u32 limit (64 KiB at reset), u64 base.
        mutating func segment(at offset: Int, selector: UInt16, attributes: UInt16, base: UInt64 = 0) {
            self.put(selector, at: offset)
            self.put(attributes, at: offset + 2)
            self.put(UInt32(0xFFFF), at: offset + 4)
            self.put(base, at: offset + 8)
        }
    }
}
