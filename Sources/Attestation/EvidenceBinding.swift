import Crypto

/// How a verifier's nonce and a VM's runtime key are bound into hardware-signed evidence: the
/// one definition both the producer (the guest agent filling REPORT_DATA or a quote's
/// qualifying data) and ``AttestationVerifier`` use, so the two cannot drift. docs/evidence.md
/// states the same construction for implementations in other languages.
///
/// The hashed message is
///
///     label ‖ 0x00 ‖ len(nonce) ‖ nonce ‖ len(key) ‖ key
///
/// where `label` is an ASCII string naming the field the digest goes into, each length is a
/// 16-bit big-endian integer, and `key` is the runtime key's 65-byte uncompressed point
/// (``RuntimeKey/x963Representation``) or nothing when the VM sends no key. The lengths make the
/// split between nonce and key unambiguous; the distinct labels keep a value made for one field
/// from being accepted in the other.
public enum EvidenceBinding {
    /// The label for SEV-SNP REPORT_DATA (SEV-SNP Firmware ABI, pub. 56860, Table 23, 0x050).
    public static let reportDataLabel = "CVMKit evidence binding v1: SEV-SNP REPORT_DATA"
    /// The label for a TPM2_Quote's qualifyingData, which the TPM returns as TPMS_ATTEST.extraData
    /// (TPM 2.0 Part 3 §18.4, Part 2 §10.12.12).
    public static let qualifyingDataLabel = "CVMKit evidence binding v1: TPM2_Quote qualifyingData"
    /// The nonce lengths accepted: at least 128 bits, at most the 64 bytes of REPORT_DATA.
    public static let nonceLengths = 16...64

    /// REPORT_DATA for an SEV-SNP report: SHA-512 of the bound message, which fills the 64-byte
    /// field exactly.
    public static func reportData(nonce: [UInt8], runtimeKey: RuntimeKey?) throws(AttestationError) -> [UInt8] {
        Array(SHA512.hash(data: try message(label: reportDataLabel, nonce: nonce, runtimeKey: runtimeKey)))
    }

    /// The qualifyingData for TPM2_Quote (`tpm` and vTPM evidence): SHA-256 of the bound message,
    /// 32 bytes, within TPM2B_DATA's limit of a digest and its algorithm identifier.
    public static func qualifyingData(nonce: [UInt8], runtimeKey: RuntimeKey?) throws(AttestationError) -> [UInt8] {
        Array(SHA256.hash(data: try message(label: qualifyingDataLabel, nonce: nonce, runtimeKey: runtimeKey)))
    }

    private static func message(label: String, nonce: [UInt8], runtimeKey: RuntimeKey?) throws(AttestationError) -> [UInt8] {
        guard nonceLengths.contains(nonce.count) else { throw .nonceLengthInvalid(nonce.count) }
        let key = runtimeKey?.x963Representation ?? []
        return Array(label.utf8) + [0] + bigEndian16(nonce.count) + nonce + bigEndian16(key.count) + key
    }

    private static func bigEndian16(_ value: Int) -> [UInt8] {
        [UInt8(value >> 8), UInt8(value & 0xFF)]
    }
}
