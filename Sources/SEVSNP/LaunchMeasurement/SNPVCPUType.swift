/// A QEMU x86 CPU model an SEV-SNP guest can run as (QEMU `target/i386/cpu.c`, `builtin_x86_defs`),
/// named as `-cpu` names it. The model matters to the launch measurement because QEMU puts its
/// CPUID signature into RDX of every initial VMSA.
public enum SNPVCPUType: String, Sendable, Hashable, Codable, CaseIterable {
    case epyc = "EPYC"
    case epycV1 = "EPYC-v1"
    case epycV2 = "EPYC-v2"
    case epycIBPB = "EPYC-IBPB"
    case epycV3 = "EPYC-v3"
    case epycV4 = "EPYC-v4"
    case epycRome = "EPYC-Rome"
    case epycRomeV1 = "EPYC-Rome-v1"
    case epycRomeV2 = "EPYC-Rome-v2"
    case epycRomeV3 = "EPYC-Rome-v3"
    case epycMilan = "EPYC-Milan"
    case epycMilanV1 = "EPYC-Milan-v1"
    case epycMilanV2 = "EPYC-Milan-v2"
    case epycGenoa = "EPYC-Genoa"
    case epycGenoaV1 = "EPYC-Genoa-v1"
    case epycTurin = "EPYC-Turin"

    /// Looks a model up by its QEMU name.
    public init(named name: String) throws(SNPMeasurementError) {
        guard let type = Self(rawValue: name) else {
            throw .unknownVCPUType(name)
        }
        self = type
    }

    /// The family, model and stepping QEMU's definition of this CPU model reports.
    public var familyModelStepping: (family: UInt32, model: UInt32, stepping: UInt32) {
        switch self {
        case .epyc, .epycV1, .epycV2, .epycIBPB, .epycV3, .epycV4: return (23, 1, 2)
        case .epycRome, .epycRomeV1, .epycRomeV2, .epycRomeV3: return (23, 49, 0)
        case .epycMilan, .epycMilanV1, .epycMilanV2: return (25, 1, 1)
        case .epycGenoa, .epycGenoaV1: return (25, 17, 0)
        case .epycTurin: return (26, 0, 0)
        }
    }

    /// CPUID Fn0000_0001_EAX for this model (AMD CPUID Specification, pub. 25481, "CPUID
    /// Fn0000_0001_EAX Family, Model, Stepping Identifiers").
    public var signature: UInt32 {
        let (family, model, stepping) = self.familyModelStepping
        return Self.signature(family: family, model: model, stepping: stepping)
    }

    /// Encodes a family, model and stepping as CPUID Fn0000_0001_EAX does: a family above 0Fh is
    /// BaseFamily 0Fh plus ExtFamily (bits 27:20); the model's high nibble is ExtModel (19:16),
    /// its low nibble BaseModel (7:4); BaseFamily is bits 11:8 and Stepping bits 3:0.
    public static func signature(family: UInt32, model: UInt32, stepping: UInt32) -> UInt32 {
        let baseFamily = min(family, 0xF)
        let extendedFamily = family > 0xF ? (family - 0xF) & 0xFF : 0
        return extendedFamily << 20 | ((model >> 4) & 0xF) << 16 | baseFamily << 8 | (model & 0xF) << 4 | (stepping & 0xF)
    }
}
