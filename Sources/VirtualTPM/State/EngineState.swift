import Foundation
import TPM2

/// Everything a TPM keeps in non-volatile memory (TPM 2.0 Part 1 §37): primary seeds,
/// hierarchy authorizations and policies, NV indices, persistent objects, clock and the
/// dictionary-attack counters. A persistent vTPM writes this to its state store; an ephemeral
/// one never does, and draws new seeds at every power-on.
struct PersistentState: Codable, Sendable {
    var endorsementSeed: [UInt8]
    var storageSeed: [UInt8]
    var platformSeed: [UInt8]
    var ownerAuth: [UInt8] = []
    var endorsementAuth: [UInt8] = []
    var lockoutAuth: [UInt8] = []
    var ownerPolicy: PolicyValue = .init()
    var endorsementPolicy: PolicyValue = .init()
    var lockoutPolicy: PolicyValue = .init()
    var disableClear = false
    var nvIndices: [UInt32: NVIndex] = [:]
    var persistentObjects: [UInt32: StoredObject] = [:]
    /// Milliseconds the TPM has been powered, across power cycles (Part 1 §36.4).
    var clock: UInt64 = 0
    var resetCount: UInt32 = 0
    var restartCount: UInt32 = 0
    var maxTries: UInt32 = 3
    var recoveryTime: UInt32 = 1000
    var lockoutRecovery: UInt32 = 1000
    var failedTries: UInt32 = 0
    var lockoutAuthEnabled = true
    /// Unix time in seconds at which `lockoutAuthEnabled` may return.
    var lockoutAuthRecoverAt: UInt64 = 0
    /// TPMA_PERMANENT.tpmGeneratedEPS.
    var totalResetCount: UInt64 = 0
    /// Saved by Shutdown(STATE) for a later Startup(STATE).
    var savedPCRs: [UInt16: [[UInt8]]]? = nil
    var orderlyShutdown: UInt16? = nil

    static func fresh() -> PersistentState {
        PersistentState(endorsementSeed: SystemRandom.bytes(64), storageSeed: SystemRandom.bytes(64), platformSeed: SystemRandom.bytes(64))
    }
}

/// An authorization policy with its hash algorithm (SetPrimaryPolicy / NV / object policies).
struct PolicyValue: Codable, Sendable, Equatable {
    var hashAlg: UInt16 = TPMAlgorithmID.null.rawValue
    var digest: [UInt8] = []
}

/// An NV index: its public area (TPMS_NV_PUBLIC), auth value and data.
struct NVIndex: Codable, Sendable {
    var publicArea: [UInt8]
    var authValue: [UInt8]
    var data: [UInt8]

    var nvPublic: TPMSNVPublic {
        get { try! TPMSNVPublic(tpmBytes: publicArea) }
        set { publicArea = newValue.tpmBytes }
    }
}

/// An object as it is kept in NV by EvictControl: public and sensitive areas and its
/// hierarchy. Persistent objects are stored unwrapped because NV is inside the TPM's boundary;
/// the state store encrypts the whole state.
struct StoredObject: Codable, Sendable {
    var publicArea: [UInt8]
    var sensitive: [UInt8]
    var hierarchy: UInt32
    var qualifiedName: [UInt8]
}
