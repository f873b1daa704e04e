import Crypto
import Foundation
import TPM2
import TPMClient
import VirtualTPM

/// A powered-on, started engine and a client talking to it in-process.
struct StartedTPM {
    let engine: TPMEngine
    let client: TPM2Client

    init(_ mode: TPMEngine.Mode = .ephemeral) throws {
        engine = try TPMEngine(mode: mode)
        client = TPM2Client(transport: EngineTransport(engine: engine))
        try boot()
    }

    /// _TPM_Init then TPM2_Startup(CLEAR).
    func boot() throws {
        engine.powerOn()
        try client.startup(.clear)
    }

    /// Power cycle: everything volatile is lost.
    func reboot() throws {
        engine.powerOff()
        try boot()
    }
}

/// Templates the tests create objects from (TPM 2.0 Part 2 §12.2.4).
enum Templates {
    /// An ECC P-256 storage parent (restricted decrypt, AES-128-CFB), like tpm2-tools' default
    /// "ecc" primary.
    static let storageParent = TPMTPublic(
        nameAlg: .sha256,
        objectAttributes: [.fixedTPM, .fixedParent, .sensitiveDataOrigin, .userWithAuth, .noDA, .restricted, .decrypt],
        parameters: .ecc(TPMSECCParms(symmetric: .aes128CFB, scheme: .null, curve: .nistP256, kdf: .null)),
        unique: .ecc(TPMSECCPoint(x: [], y: []))
    )

    /// An ECC P-256 restricted signing key with ECDSA-SHA256: an attestation key.
    static let attestationKey = TPMTPublic(
        nameAlg: .sha256,
        objectAttributes: [.fixedTPM, .fixedParent, .sensitiveDataOrigin, .userWithAuth, .noDA, .restricted, .signEncrypt],
        parameters: .ecc(TPMSECCParms(symmetric: .null, scheme: TPMTScheme(.ecdsa, hash: .sha256), curve: .nistP256, kdf: .null)),
        unique: .ecc(TPMSECCPoint(x: [], y: []))
    )

    /// A sealed data object (keyed-hash, null scheme) usable with `authPolicy`, or with its
    /// authValue when the policy is empty.
    static func sealed(policy: [UInt8] = []) -> TPMTPublic {
        var attributes: TPMAObject = [.fixedTPM, .fixedParent, .noDA]
        if policy.isEmpty { attributes.insert(.userWithAuth) }
        return TPMTPublic(nameAlg: .sha256, objectAttributes: attributes, authPolicy: policy, parameters: .keyedHash(.null), unique: .digest([]))
    }
}

/// A temporary directory removed when the value is released.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("cvmkit-vtpm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// SHA-256 of the concatenated parts, computed with swift-crypto (not the engine's hashing).
func sha256(_ parts: [UInt8]...) -> [UInt8] {
    var hasher = SHA256()
    for part in parts { hasher.update(data: part) }
    return Array(hasher.finalize())
}

/// A reproducible random generator (SplitMix64) for seeded tests.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
