import Crypto
import DiskEncryption
import Foundation
import TPM2
import TPMClient
import _CryptoExtras

/// A LUKS2 token (LUKS2 On-Disk Format §3.4) of type `systemd-tpm2`, in the JSON layout
/// `systemd-cryptenroll --tpm2-device=` writes (systemd `src/shared/tpm2-util.c`,
/// `tpm2_make_luks2_json`, and `tpm2_parse_luks2_json` for the reading side):
///
/// - `keyslots`: the one keyslot whose passphrase is the base64 of the sealed secret;
/// - `tpm2-blob`: base64 of TPM2B_PRIVATE ‖ TPM2B_PUBLIC of the sealed data object, each
///   marshaled with its UINT16 size (TPM 2.0 Part 2 §12.3.7, §12.2.5), as `Tss2_MU_*_Marshal` does;
/// - `tpm2-pcrs`: the PCR indices of the PolicyPCR, as JSON numbers;
/// - `tpm2-pcr-bank`: `"sha256"`; `tpm2-primary-alg`: `"ecc"`;
/// - `tpm2-policy-hash`: lowercase hex of the sealed object's authPolicy;
/// - `tpm2-pin`: whether the policy ends in PolicyAuthValue, the object's authValue being derived
///   from a PIN (see ``authValue(pin:salt:)``); `tpm2_salt` (systemd ≥ 254): base64 of the PIN's
///   PBKDF2 salt.
/// - `tpm2_pubkey` and `tpm2_pubkey_pcrs` (systemd ≥ 252, `--tpm2-public-key`): base64 of the PEM
///   public key whose signatures authorize PolicyPCR digests of those PCRs (see
///   ``SignedPCRPolicy``), so that a new kernel needs a new signature rather than a reseal.
///
/// - `tpm2_srk` (systemd ≥ 255): base64 of the `Esys_TR_Serialize` record of the SRK made
///   persistent at 0x81000001; systemd loads the blob under that handle. Without it systemd
///   re-creates a primary from its legacy template (no noDA), a different key, so enrollment
///   persists the SRK and writes the field. Unlocking here re-creates the SRK from its template
///   instead, which gives the same key without relying on the persistent copy.
/// `cvmkit-pcr-values` is this implementation's own field, ignored by systemd: the SHA-256 value
/// of each selected PCR at seal time, keyed by index as a decimal string, hex encoded. From it the
/// PCRs that changed since sealing are named (see ``changedPCRs(current:)``).
public struct SystemdTPM2Token: Sendable, Equatable {
    public static let type = "systemd-tpm2"
    static let pcrValuesField = "cvmkit-pcr-values"

    public var keyslot: Int
    /// Ascending PCR indices of the SHA-256 bank the secret is sealed to.
    public var pcrs: [Int]
    /// The sealed data object: its wrapped sensitive area and its public area.
    public var sealed: TPMCreatedObject
    /// PolicyPCR over `pcrs` (TPM 2.0 Part 3 §23.7), the sealed object's authPolicy.
    public var policyHash: [UInt8]
    /// The `tpm2_srk` record, when the token has one.
    public var srk: [UInt8]?
    /// The PCR values the policy was computed from, when the token records them.
    public var pcrValues: [Int: [UInt8]]?
    /// Whether unsealing needs the PIN (`tpm2-pin`).
    public var pin: Bool
    /// The PIN's PBKDF2 salt (`tpm2_salt`); nil for systemd < 254's unsalted PINs.
    public var pinSalt: [UInt8]?
    /// The key whose signed PolicyPCR digests over `publicKeyPCRs` the policy admits
    /// (`tpm2_pubkey`, `tpm2_pubkey_pcrs`), when the token has one.
    public var publicKey: PCRPolicyKey?
    public var publicKeyPCRs: [Int]

    public init(
        keyslot: Int, pcrs: [Int], sealed: TPMCreatedObject, policyHash: [UInt8], srk: [UInt8]?, pcrValues: [Int: [UInt8]]?,
        pin: Bool = false, pinSalt: [UInt8]? = nil, publicKey: PCRPolicyKey? = nil, publicKeyPCRs: [Int] = []
    ) {
        self.keyslot = keyslot
        self.pcrs = pcrs
        self.sealed = sealed
        self.policyHash = policyHash
        self.srk = srk
        self.pcrValues = pcrValues
        self.pin = pin
        self.pinSalt = pinSalt
        self.publicKey = publicKey
        self.publicKeyPCRs = publicKeyPCRs
    }

    /// systemd's PBKDF2 iteration count for salted PINs (`PBKDF2_HMAC_SHA256_ITERATIONS`).
    static let pinIterations = 10_000

    /// The sealed object's authValue for `pin`, derived as systemd does (`tpm2-util.c`): the
    /// SHA-256 of the PIN text; with a `salt` (systemd ≥ 254), the SHA-256 of the base64 text of
    /// PBKDF2-HMAC-SHA256(PIN, salt, 10000 iterations, 32 bytes) (RFC 8018 §5.2).
    public static func authValue(pin: [UInt8], salt: [UInt8]?) throws(TPM2TokenError) -> [UInt8] {
        guard !pin.isEmpty else { throw .invalidArgument("the PIN is empty") }
        guard let salt else { return Array(SHA256.hash(data: pin)) }
        let derived: SymmetricKey
        do {
            derived = try KDF.Insecure.PBKDF2.deriveKey(from: pin, salt: salt, using: .sha256, outputByteCount: 32, unsafeUncheckedRounds: pinIterations)
        } catch {
            throw .invalidArgument("PBKDF2 of the PIN failed: \(error)")
        }
        var text = derived.withUnsafeBytes { Array(Data($0).base64EncodedString().utf8) }
        defer { text.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
        return Array(SHA256.hash(data: text))
    }

    /// The PolicyPCR selection of `pcrs` in the SHA-256 bank, with the 3-byte bitmap systemd uses.
    public static func selection(_ pcrs: [Int]) -> TPMLPCRSelection {
        TPMLPCRSelection([TPMSPCRSelection(hash: TPMHashAlgorithm.sha256.id, indices: pcrs)])
    }

    /// The sealed object's authPolicy for `values` of the token's PCRs.
    public func policy(values: [Int: [UInt8]]) throws(TPM2TokenError) -> [UInt8] {
        try Self.policy(pcrs: pcrs, values: values, pin: pin, publicKey: publicKey)
    }

    /// A sealing policy built in systemd's order (`tpm2_build_sealing_policy`): with a
    /// `publicKey`, PolicyAuthorize of its Name with an empty policyRef (Part 3 §23.16); then
    /// PolicyPCR over `pcrs` holding `values` when there are any (§23.7: pcrDigest = SHA-256 of the
    /// values in ascending index order); then PolicyAuthValue (§23.17) with a PIN.
    public static func policy(pcrs: [Int], values: [Int: [UInt8]], pin: Bool = false, publicKey: PCRPolicyKey? = nil) throws(TPM2TokenError) -> [UInt8] {
        let ordered = try pcrs.map { pcr throws(TPM2TokenError) in
            guard let value = values[pcr], value.count == TPMHashAlgorithm.sha256.digestSize else {
                throw .invalidToken("no SHA-256 value for PCR \(pcr)")
            }
            return value
        }
        var policy = PolicyDigest(.sha256)
        if let publicKey { policy.policyAuthorize(keyName: publicKey.name) }
        if !pcrs.isEmpty { policy.policyPCR(selection: selection(pcrs), values: ordered) }
        if pin { policy.policyAuthValue() }
        return policy.digest
    }

    /// Whether the secret is sealed to `values` of the token's PCRs: the policy over them is the
    /// object's authPolicy. This needs no recorded values, so it holds for systemd's tokens too.
    public func isSealed(to values: [Int: [UInt8]]) throws(TPM2TokenError) -> Bool {
        constantTimeEqual(try policy(values: values), policyHash)
    }

    /// The PCRs among `pcrs` whose `current` value differs from the recorded one. Throws when the
    /// token records no values, or values that do not give `policyHash`.
    public func changedPCRs(current: [Int: [UInt8]]) throws(TPM2TokenError) -> [Int] {
        guard let pcrValues else { throw .policyRefused(pcrs: pcrs) }
        guard try isSealed(to: pcrValues) else {
            throw .invalidToken("\(Self.pcrValuesField) do not give tpm2-policy-hash")
        }
        return pcrs.filter { pcr in !constantTimeEqual(current[pcr] ?? [], pcrValues[pcr] ?? []) }
    }

    // MARK: JSON

    /// TPM2B_PRIVATE ‖ TPM2B_PUBLIC.
    public var blob: [UInt8] {
        var writer = TPMWriter()
        writer.sized(sealed.privateBlob)
        sealed.publicArea.marshalSized(into: &writer)
        return writer.bytes
    }

    public var luks2Token: LUKS2Token {
        var properties: [String: JSONValue] = [
            "tpm2-blob": .string(Data(blob).base64EncodedString()),
            "tpm2-pcrs": .array(pcrs.map { .integer(Int64($0)) }),
            "tpm2-pcr-bank": .string("sha256"),
            "tpm2-primary-alg": .string("ecc"),
            "tpm2-policy-hash": .string(Self.hex(policyHash)),
            "tpm2-pin": .bool(pin),
        ]
        if let pinSalt { properties["tpm2_salt"] = .string(Data(pinSalt).base64EncodedString()) }
        if let publicKey {
            properties["tpm2_pubkey"] = .string(Data(publicKey.pem).base64EncodedString())
            properties["tpm2_pubkey_pcrs"] = .array(publicKeyPCRs.map { .integer(Int64($0)) })
        }
        if let srk { properties["tpm2_srk"] = .string(Data(srk).base64EncodedString()) }
        if let pcrValues {
            properties[Self.pcrValuesField] = .object(Dictionary(uniqueKeysWithValues: pcrValues.map { (String($0.key), .string(Self.hex($0.value))) }))
        }
        return LUKS2Token(type: Self.type, keyslots: [String(keyslot)], properties: properties)
    }

    /// Parses a `systemd-tpm2` token, refusing the variants this implementation cannot unseal.
    public init(_ token: LUKS2Token) throws(TPM2TokenError) {
        guard token.type == Self.type else { throw .invalidToken("type \(token.type)") }
        guard token.keyslots.count == 1, let keyslot = Int(token.keyslots[0]) else { throw .invalidToken("keyslots \(token.keyslots)") }
        let properties = token.properties
        guard case .array(let pcrArray)? = properties["tpm2-pcrs"] else { throw .invalidToken("no tpm2-pcrs") }
        let pcrs = try pcrArray.map { value throws(TPM2TokenError) in
            guard case .integer(let pcr) = value, (0..<24).contains(pcr) else { throw .invalidToken("tpm2-pcrs entry \(value)") }
            return Int(pcr)
        }
        guard properties["tpm2-pcr-bank"] == .string("sha256") else { throw .invalidToken("PCR bank other than sha256") }
        guard properties["tpm2-primary-alg"] == .string("ecc") else { throw .invalidToken("primary algorithm other than ecc") }
        var pin = false
        if let value = properties["tpm2-pin"] {
            guard case .bool(let flag) = value else { throw .invalidToken("tpm2-pin is not a boolean") }
            pin = flag
        }
        var pinSalt: [UInt8]?
        if let value = properties["tpm2_salt"] {
            guard case .string(let text) = value, let salt = Data(base64Encoded: text), !salt.isEmpty else { throw .invalidToken("tpm2_salt is not base64") }
            guard pin else { throw .invalidToken("tpm2_salt without tpm2-pin") }
            pinSalt = Array(salt)
        }
        var publicKeyPCRs: [Int] = []
        if let value = properties["tpm2_pubkey_pcrs"] {
            guard case .array(let items) = value else { throw .invalidToken("tpm2_pubkey_pcrs is not an array") }
            publicKeyPCRs = try items.map { item throws(TPM2TokenError) in
                guard case .integer(let pcr) = item, (0..<24).contains(pcr) else { throw .invalidToken("tpm2_pubkey_pcrs entry \(item)") }
                return Int(pcr)
            }.sorted()
        }
        var publicKey: PCRPolicyKey?
        if !publicKeyPCRs.isEmpty {
            guard case .string(let text)? = properties["tpm2_pubkey"], let pem = Data(base64Encoded: text) else {
                throw .invalidToken("tpm2_pubkey_pcrs without a base64 tpm2_pubkey")
            }
            do {
                publicKey = try PCRPolicyKey(pem: Array(pem))
            } catch {
                throw .invalidToken("tpm2_pubkey: \(error)")
            }
        }
        if properties["tpm2_pcrlock"] == .bool(true) { throw .invalidToken("pcrlock policies are not supported") }
        guard let blobText = Self.single(properties["tpm2-blob"]), let blob = Data(base64Encoded: blobText) else { throw .invalidToken("tpm2-blob is not base64") }
        guard let policyText = Self.single(properties["tpm2-policy-hash"]), let policyHash = Self.bytes(hex: policyText) else {
            throw .invalidToken("tpm2-policy-hash is not hex")
        }
        var srk: [UInt8]?
        if let value = properties["tpm2_srk"] {
            guard case .string(let text) = value, let record = Data(base64Encoded: text) else { throw .invalidToken("tpm2_srk is not base64") }
            srk = Array(record)
        }
        var values: [Int: [UInt8]]?
        if case .object(let recorded)? = properties[Self.pcrValuesField] {
            values = try Dictionary(uniqueKeysWithValues: recorded.map { entry throws(TPM2TokenError) in
                guard let pcr = Int(entry.key), case .string(let text) = entry.value, let value = Self.bytes(hex: text) else {
                    throw .invalidToken("\(Self.pcrValuesField) entry \(entry.key)")
                }
                return (pcr, value)
            })
        }
        var reader = TPMReader(Array(blob))
        let sealed: TPMCreatedObject
        do {
            let privateBlob = try reader.sized("TPM2B_PRIVATE", maximum: TPMLimits.maxPrivate)
            sealed = TPMCreatedObject(privateBlob: privateBlob, publicArea: try TPMTPublic.sized(from: &reader))
            try reader.expectEnd()
        } catch {
            throw .invalidToken("tpm2-blob: \(error)")
        }
        self.init(
            keyslot: keyslot, pcrs: pcrs.sorted(), sealed: sealed, policyHash: policyHash, srk: srk, pcrValues: values, pin: pin, pinSalt: pinSalt,
            publicKey: publicKey, publicKeyPCRs: publicKeyPCRs)
    }

    /// A string, or the only string of an array (systemd ≥ 256 writes `tpm2-blob` and
    /// `tpm2-policy-hash` as arrays when a secret is sharded over several TPMs).
    private static func single(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let text)?: text
        case .array(let items)? where items.count == 1: single(items[0])
        default: nil
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
