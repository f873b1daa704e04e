import TPM2

extension TPMTPublic {
    /// The EK policy of the TCG EK Credential Profile (v2.5 §B.6, "PolicyA" for SHA-256):
    /// PolicySecret(TPM_RH_ENDORSEMENT).
    public static let ekPolicySHA256: [UInt8] = [
        0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xB3, 0xF8, 0x1A, 0x90, 0xCC, 0x8D, 0x46, 0xA5, 0xD7, 0x24,
        0xFD, 0x52, 0xD7, 0x6E, 0x06, 0x52, 0x0B, 0x64, 0xF2, 0xA1, 0xDA, 0x1B, 0x33, 0x14, 0x69, 0xAA,
    ]

    /// EK attributes of the TCG EK Credential Profile low-range templates (§B.3.3):
    /// fixedTPM, fixedParent, sensitiveDataOrigin, adminWithPolicy, restricted, decrypt.
    static let ekAttributes: TPMAObject = [.fixedTPM, .fixedParent, .sensitiveDataOrigin, .adminWithPolicy, .restricted, .decrypt]

    /// Template L-1 of the TCG EK Credential Profile (§B.3.3): RSA 2048 storage EK, AES-128-CFB,
    /// a 256-byte zero unique field.
    public static let ekRSA2048 = TPMTPublic(
        nameAlg: .sha256, objectAttributes: ekAttributes, authPolicy: ekPolicySHA256,
        parameters: .rsa(TPMSRSAParms(symmetric: .aes128CFB, scheme: .null, keyBits: 2048, exponent: 0)),
        unique: .rsa([UInt8](repeating: 0, count: 256))
    )

    /// Template L-2 of the TCG EK Credential Profile (§B.3.4): ECC NIST P-256 storage EK,
    /// AES-128-CFB, 32-byte zero x and y in the unique field.
    public static let ekECCP256 = TPMTPublic(
        nameAlg: .sha256, objectAttributes: ekAttributes, authPolicy: ekPolicySHA256,
        parameters: .ecc(TPMSECCParms(symmetric: .aes128CFB, scheme: .null, curve: .nistP256, kdf: .null)),
        unique: .ecc(TPMSECCPoint(x: [UInt8](repeating: 0, count: 32), y: [UInt8](repeating: 0, count: 32)))
    )
}

extension TPMTPublic {
    /// An ECC NIST P-256 storage parent (restricted decrypt, AES-128-CFB, userWithAuth, noDA),
    /// as tpm2-tools' default "ecc" primary (Part 2 §12.2.4; Part 1 §27.1 storage keys).
    public static let eccStorageParent = TPMTPublic(
        nameAlg: .sha256,
        objectAttributes: [.fixedTPM, .fixedParent, .sensitiveDataOrigin, .userWithAuth, .noDA, .restricted, .decrypt],
        parameters: .ecc(TPMSECCParms(symmetric: .aes128CFB, scheme: .null, curve: .nistP256, kdf: .null)),
        unique: .ecc(TPMSECCPoint(x: [], y: []))
    )

    /// An ECC NIST P-256 restricted signing key with ECDSA-SHA256: an attestation key for
    /// TPM2_Quote and TPM2_Certify (Part 2 §8.3.3.1 restricted signing keys).
    public static let eccAttestationKey = TPMTPublic(
        nameAlg: .sha256,
        objectAttributes: [.fixedTPM, .fixedParent, .sensitiveDataOrigin, .userWithAuth, .noDA, .restricted, .signEncrypt],
        parameters: .ecc(TPMSECCParms(symmetric: .null, scheme: TPMTScheme(.ecdsa, hash: .sha256), curve: .nistP256, kdf: .null)),
        unique: .ecc(TPMSECCPoint(x: [], y: []))
    )

    /// A sealed data object (keyed-hash with the null scheme, Part 2 §12.2.3.3) whose data is
    /// released by TPM2_Unseal: under `policy` when one is given (adminWithPolicy-style, no
    /// userWithAuth), otherwise with its authValue. With `dictionaryAttackProtected` (no noDA,
    /// Part 1 §19.8) every wrong authValue counts toward the TPM's lockout.
    public static func sealedData(policy: [UInt8] = [], dictionaryAttackProtected: Bool = false) -> TPMTPublic {
        var attributes: TPMAObject = [.fixedTPM, .fixedParent]
        if !dictionaryAttackProtected { attributes.insert(.noDA) }
        if policy.isEmpty { attributes.insert(.userWithAuth) }
        return TPMTPublic(nameAlg: .sha256, objectAttributes: attributes, authPolicy: policy, parameters: .keyedHash(.null), unique: .digest([]))
    }
}
