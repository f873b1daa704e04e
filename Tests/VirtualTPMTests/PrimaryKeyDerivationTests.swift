import Crypto
import Foundation
import Testing
import TPM2
import TPMClient
import VirtualTPM

/// A primary key is a function of its hierarchy's seed and its template (TPM 2.0 Part 1
/// §26.3), so the same seeds must give the same RSA keys in every version of the engine: an EK
/// certificate, or anything sealed to an SRK, is bound to them. The expected moduli were
/// produced by the engine at commit a3cc8ed (before the prime search was rewritten), running
/// `cvm vtpm serve` on the state below and answering tpm2-tools 5.4 (`tpm2_createek -G rsa`,
/// `tpm2_createprimary -C o -G rsa2048` and `-G rsa3072`); each value is the SHA-256 of the
/// modulus as `openssl rsa -modulus` printed it from tpm2-tools' PEM output.
@Suite struct PrimaryKeyDerivationTests {
    static let stateKey = [UInt8](repeating: 0x42, count: 32)

    /// tpm2-tools' default RSA primary: a storage parent, AES-128-CFB, exponent 0 (65537), an
    /// empty unique field.
    static func storageParent(bits: UInt16) -> TPMTPublic {
        TPMTPublic(
            nameAlg: .sha256, objectAttributes: [.fixedTPM, .fixedParent, .sensitiveDataOrigin, .userWithAuth, .restricted, .decrypt],
            parameters: .rsa(TPMSRSAParms(symmetric: .aes128CFB, scheme: .null, keyBits: bits, exponent: 0)), unique: .rsa([])
        )
    }

    static let cases: [(label: String, hierarchy: TPMHandle, template: TPMTPublic, modulusSHA256: String)] = [
        ("EK RSA-2048 (L-1)", .endorsement, .ekRSA2048, "86a26517ada1827b4aa5006373343444fb96a40fe83eeafc56bcf5e262780993"),
        ("SRK RSA-2048", .owner, storageParent(bits: 2048), "a827b756211d9ab551dc954d77f13213e36d91812a8275bbe7ae906087733688"),
        ("SRK RSA-3072", .owner, storageParent(bits: 3072), "ef55641f912e9a1f7c21e6af184b8e50fca60779c14435b2dc9453be70154d42"),
    ]

    /// Writes a persistent state whose endorsement seed is 00 01 ... 3F and whose storage seed
    /// is A0 A1 ... (0xA0 XOR i), sealed as `VTPMStateStore` seals it (the magic, then
    /// AES-256-GCM nonce, ciphertext and tag over the JSON state, the magic authenticated).
    static func stateWithFixedSeeds(in directory: URL) throws -> VTPMStateStore {
        let store = try VTPMStateStore(directory: directory, key: stateKey)
        _ = try TPMEngine(mode: .persistent(store))
        let file = directory.appendingPathComponent("vtpm-state.sealed")
        let magic = Data("CVMKIT-VTPM-1".utf8)
        let key = SymmetricKey(data: stateKey)
        let sealed = try Data(contentsOf: file)
        let plain = try AES.GCM.open(AES.GCM.SealedBox(combined: sealed.dropFirst(magic.count)), using: key, authenticating: magic)
        var state = try #require(try JSONSerialization.jsonObject(with: plain) as? [String: Any])
        state["endorsementSeed"] = (0..<64).map { $0 }
        state["storageSeed"] = (0..<64).map { 0xA0 ^ $0 }
        let resealed = try AES.GCM.seal(try JSONSerialization.data(withJSONObject: state), using: key, authenticating: magic)
        try (magic + resealed.combined!).write(to: file)
        return try VTPMStateStore(directory: directory, key: stateKey)
    }

    @Test(arguments: cases.indices)
    func rsaPrimaryIsTheOneDerivedBefore(_ index: Int) throws {
        let (label, hierarchy, template, expected) = Self.cases[index]
        let directory = try TemporaryDirectory()
        let tpm = try StartedTPM(.persistent(try Self.stateWithFixedSeeds(in: directory.url)))
        let key = try tpm.client.createPrimary(hierarchy: hierarchy, template: template)
        guard case let .rsa(modulus) = key.publicArea.unique else {
            Issue.record("\(label): not an RSA key")
            return
        }
        #expect(modulus.count * 8 == Int(template.rsaKeyBits), "\(label)")
        #expect(sha256(modulus).map { String(format: "%02x", $0) }.joined() == expected, "\(label)")
    }
}

extension TPMTPublic {
    /// The key size of an RSA template.
    fileprivate var rsaKeyBits: UInt16 {
        if case let .rsa(parms) = parameters { parms.keyBits } else { 0 }
    }
}
