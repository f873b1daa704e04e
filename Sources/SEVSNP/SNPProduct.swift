/// An AMD EPYC generation that runs SEV-SNP, as named by AMD's Key Distribution Service
/// (VCEK Certificate and KDS Interface Specification, pub. 57230, "Determining the Product Name").
///
/// The product fixes the TCB_VERSION layout and the ARK/ASK chain that endorses the chip.
public enum SNPProduct: String, Sendable, Hashable, Codable, CaseIterable {
    case milan = "Milan"
    case genoa = "Genoa"
    case turin = "Turin"

    /// The product whose CPUID(1).EAX family and model are given, as a v3+ report records them at
    /// 0x188–0x189 (family 19h models 00h–0Fh Milan, 10h–1Fh and A0h–AFh Genoa; family 1Ah Turin).
    public init?(family: UInt8, model: UInt8) {
        switch (family, model) {
        case (0x19, 0x00...0x0F): self = .milan
        case (0x19, 0x10...0x1F), (0x19, 0xA0...0xAF): self = .genoa
        case (0x1A, 0x00...0x1F): self = .turin
        default: return nil
        }
    }
}

/// A TCB_VERSION: the security patch levels of the firmware components, packed in 8 bytes
/// (SEV-SNP Firmware ABI, pub. 56860 rev 1.57, Table 3 "TCB_VERSION Structure", with its Milan/Genoa
/// and Turin layouts). The layout depends on the product, so this keeps the raw value and decodes
/// it on request.
public struct TCBVersion: Sendable, Hashable, Codable {
    /// The 64-bit value as stored little-endian in the report.
    public let rawValue: UInt64

    /// Wraps a raw TCB_VERSION value.
    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// Packs `components` in the given product's layout; the inverse of ``components(for:)``.
    public init(_ components: TCBComponents, product: SNPProduct) {
        let bytes: [(index: Int, value: UInt8)]
        switch product {
        case .milan, .genoa:
            bytes = [(0, components.bootloader), (1, components.tee), (6, components.snp), (7, components.microcode)]
        case .turin:
            bytes = [(0, components.fmc ?? 0), (1, components.bootloader), (2, components.tee), (3, components.snp),
                     (7, components.microcode)]
        }
        self.rawValue = bytes.reduce(0) { $0 | UInt64($1.value) << (8 * $1.index) }
    }

    /// Decodes the components with the given product's layout: Milan and Genoa keep the boot loader,
    /// TEE, SNP and microcode SPLs in bytes 0, 1, 6 and 7; Turin keeps the FMC, boot loader, TEE and
    /// SNP SPLs in bytes 0–3 and microcode in byte 7.
    public func components(for product: SNPProduct) -> TCBComponents {
        let byte = { (index: Int) in UInt8(truncatingIfNeeded: self.rawValue >> (8 * index)) }
        switch product {
        case .milan, .genoa:
            return TCBComponents(fmc: nil, bootloader: byte(0), tee: byte(1), snp: byte(6), microcode: byte(7))
        case .turin:
            return TCBComponents(fmc: byte(0), bootloader: byte(1), tee: byte(2), snp: byte(3), microcode: byte(7))
        }
    }
}

/// The decoded security patch levels (SPLs) of one TCB_VERSION (SEV-SNP Firmware ABI, pub. 56860,
/// Table 3 "TCB_VERSION Structure"). `fmc` exists only on Turin and later.
public struct TCBComponents: Sendable, Hashable, Codable {
    public var fmc: UInt8?
    public var bootloader: UInt8
    public var tee: UInt8
    public var snp: UInt8
    public var microcode: UInt8

    /// Creates components from their SPLs.
    public init(fmc: UInt8? = nil, bootloader: UInt8, tee: UInt8, snp: UInt8, microcode: UInt8) {
        self.fmc = fmc
        self.bootloader = bootloader
        self.tee = tee
        self.snp = snp
        self.microcode = microcode
    }

    /// Each component's name and SPL, FMC first when present, in TCB byte order.
    public var named: [(name: String, value: UInt8?)] {
        [("fmc", self.fmc), ("bootloader", self.bootloader), ("tee", self.tee), ("snp", self.snp),
         ("microcode", self.microcode)]
    }
}
