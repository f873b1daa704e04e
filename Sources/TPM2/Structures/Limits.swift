/// Implementation limits that bound sized buffers (TPM 2.0 Part 2 §10.4 and the PC Client
/// platform profile's minimums). They cap what a parser will accept.
public enum TPMLimits {
    /// sizeof(TPMU_HA): the largest digest (SHA-512).
    public static let maxDigest = 64
    /// sizeof(TPMU_NAME): an algorithm identifier and the largest digest, or a handle.
    public static let maxName = 2 + maxDigest
    /// MAX_RSA_KEY_BYTES for 4096-bit keys.
    public static let maxRSAKeyBytes = 512
    /// MAX_ECC_KEY_BYTES for P-521.
    public static let maxECCKeyBytes = 66
    /// MAX_SYM_DATA (Part 2 §10.4.7).
    public static let maxSymData = 128
    /// MAX_DIGEST_BUFFER / MAX_BUFFER used by TPM2B_MAX_BUFFER.
    public static let maxBuffer = 1024
    /// MAX_NV_BUFFER_SIZE.
    public static let maxNVBuffer = 2048
    /// MAX_NV_INDEX_SIZE (TPM_PT_NV_INDEX_MAX): the largest ordinary NV index. Azure's vTPM holds
    /// its 2600-byte attestation report in one index (0x01400001), so it is larger than a buffer.
    public static let maxNVIndexSize = 4096
    /// MAX_SYM_KEY_BYTES.
    public static let maxSymKeyBytes = 32
    /// sizeof(TPMU_ENCRYPTED_SECRET).
    public static let maxEncryptedSecret = 512
    /// Room for a wrapped private area: integrity HMAC and encrypted TPMT_SENSITIVE.
    public static let maxPrivate = 2 + maxDigest + 2 + 2 + maxDigest + 2 + maxDigest + 2 + maxRSAKeyBytes / 2 + 16
    /// sizeof(TPMS_ID_OBJECT) wrapped in TPM2B_ID_OBJECT.
    public static let maxIDObject = 2 + maxDigest + 2 + maxDigest
    /// MAX_CONTEXT_SIZE of a saved context blob.
    public static let maxContextData = 5120
    /// TPM2B_EVENT (Part 2 §10.4.7).
    public static let maxEvent = 1024
    /// PCR_SELECT_MAX for 24 PCRs.
    public static let maxPCRSelect = 3
    /// HASH_COUNT: banks in a TPML_DIGEST_VALUES or TPML_PCR_SELECTION.
    public static let maxHashCount = 16
    /// TPML_DIGEST holds at most eight digests (Part 2 §10.9.3).
    public static let maxDigestList = 8
}
