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
    public var cpuid: SNPCPUID {
        switch self {
        case .epyc, .epycV1, .epycV2, .epycIBPB, .epycV3, .epycV4: return SNPCPUID(family: 0x17, model: 0x01, stepping: 2)
        case .epycRome, .epycRomeV1, .epycRomeV2, .epycRomeV3: return SNPCPUID(family: 0x17, model: 0x31, stepping: 0)
        case .epycMilan, .epycMilanV1, .epycMilanV2: return SNPCPUID(family: 0x19, model: 0x01, stepping: 1)
        case .epycGenoa, .epycGenoaV1: return SNPCPUID(family: 0x19, model: 0x11, stepping: 0)
        case .epycTurin: return SNPCPUID(family: 0x1A, model: 0x00, stepping: 0)
        }
    }
}

extension SNPCPUID {
    /// CPUID Fn0000_0001_EAX for this family, model and stepping (AMD CPUID Specification,
    /// pub. 25481, "CPUID Fn0000_0001_EAX Family, Model, Stepping Identifiers"): a family above 0Fh
    /// is BaseFamily 0Fh (bits 11:8) plus ExtFamily (27:20); the model's high nibble is ExtModel
    /// (19:16) and its low nibble BaseModel (7:4); Stepping is bits 3:0.
    public var signature: UInt32 {
        let family = UInt32(self.family), model = UInt32(self.model)
        let extendedFamily = family > 0xF ? family - 0xF : 0
        return extendedFamily << 20 | (model >> 4) << 16 | min(family, 0xF) << 8 | (model & 0xF) << 4 | UInt32(self.stepping & 0xF)
    }
}
