import EvidenceCore

/// Every way computing an SEV-SNP launch measurement from artifacts can fail, each naming the
/// structure, field or offset concerned so the sentence in ``description`` is actionable.
public enum SNPMeasurementError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The firmware image is not a whole number of 4 KiB pages; SNP_LAUNCH_UPDATE measures pages.
    case imageNotPageMultiple(size: Int)
    /// The firmware image is empty or larger than the 4 GiB below which it is mapped.
    case imageSizeOutOfRange(size: Int)
    /// A structure of the firmware image ended before the named field could be read.
    case truncated(structure: String, offset: Int)
    /// An entry of the OVMF footer GUID table declares a size that does not fit the table.
    case footerEntryMalformed(guid: String, size: Int)
    /// The SEV metadata header lacks the "ASEV" signature or has a version other than 1.
    case metadataHeaderInvalid(offset: Int, reason: String)
    /// An SEV metadata section has a type OVMF does not define.
    case unknownSectionType(UInt32, offset: Int)
    /// An SEV metadata section's address or size is not page-aligned.
    case sectionNotPageAligned(gpa: UInt32, size: UInt32)
    /// The firmware image lacks a footer table entry the measurement needs.
    case missingFooterEntry(name: String, guid: String)
    /// A kernel was given, but the firmware's SEV metadata has no SNP_KERNEL_HASHES section.
    case kernelHashesUnsupported
    /// The SNP_KERNEL_HASHES section is not the single page the hash table is written into, or
    /// the table does not fit that page at the offset the SEV hash table entry gives.
    case kernelHashesSectionInvalid(size: UInt32, tableOffset: Int)
    /// The vCPU count is below one.
    case noVCPUs
    /// More than one vCPU was requested but the firmware records no AP reset address.
    case missingAPResetAddress
    /// The vCPU type names no CPU model QEMU defines.
    case unknownVCPUType(String)

    public var description: String {
        switch self {
        case .imageNotPageMultiple(let size):
            return "The firmware image is \(size) bytes, not a multiple of the 4096-byte page SNP measures."
        case .imageSizeOutOfRange(let size):
            return "The firmware image is \(size) bytes; it must be non-empty and fit below 4 GiB."
        case .truncated(let structure, let offset):
            return "The firmware image ends at offset 0x\(hex(offset)) before the end of the \(structure)."
        case .footerEntryMalformed(let guid, let size):
            return "The OVMF footer table entry \(guid) declares \(size) bytes, which do not fit the table."
        case .metadataHeaderInvalid(let offset, let reason):
            return "The SEV metadata header at offset 0x\(hex(offset)) is invalid: \(reason)."
        case .unknownSectionType(let type, let offset):
            return "The SEV metadata section at offset 0x\(hex(offset)) has the unknown type \(type)."
        case .sectionNotPageAligned(let gpa, let size):
            return "The SEV metadata section at GPA 0x\(hex(gpa)) of \(size) bytes is not page-aligned."
        case .missingFooterEntry(let name, let guid):
            return "The firmware image's OVMF footer table has no \(name) entry (GUID \(guid))."
        case .kernelHashesUnsupported:
            return "A kernel was given, but the firmware's SEV metadata has no SNP_KERNEL_HASHES section: "
                + "this OVMF build cannot measure a kernel (use the AmdSev build)."
        case .kernelHashesSectionInvalid(let size, let tableOffset):
            return "The SNP_KERNEL_HASHES section of \(size) bytes cannot hold the hash table at page offset 0x\(hex(tableOffset)); "
                + "it must be one 4096-byte page."
        case .noVCPUs:
            return "A guest needs at least one vCPU."
        case .missingAPResetAddress:
            return "The firmware records no SEV-ES AP reset address, so a guest with more than one vCPU cannot be measured."
        case .unknownVCPUType(let name):
            return "'\(name)' is not a known vCPU type; use one of \(SNPVCPUType.allCases.map(\.rawValue).joined(separator: ", "))."
        }
    }
}
