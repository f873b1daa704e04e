import Crypto
import DiskEncryption
import Foundation
import TPM2
import _CryptoExtras

/// The RSA public key that signs a token's PCR policies (`systemd-cryptenroll
/// --tpm2-public-key`, the token's `tpm2_pubkey`), and the TPM object it loads as.
///
/// The object is systemd's (`openssl_pubkey_to_tpm2_pubkey` in `tpm2-util.c`): an RSA public
/// area (Part 2 §12.2.4) with nameAlg SHA-256, attributes decrypt | sign | userWithAuth, null
/// symmetric and scheme, keyBits the modulus size and the exponent written out (65537, not 0).
/// Its Name (Part 1 §16) enters the sealed object's PolicyAuthorize, so any other encoding of the
/// same key would be a different policy.
public struct PCRPolicyKey: Sendable, Equatable {
    /// The PEM text, stored in the token as given.
    public let pem: [UInt8]
    /// SHA-256 of the DER RSAPublicKey (RFC 8017 §A.1.1, as OpenSSL's `i2d_PublicKey` writes it):
    /// the `pkfp` of signature entries.
    public let fingerprint: [UInt8]
    public let publicArea: TPMTPublic

    public init(pem: [UInt8]) throws(TPM2TokenError) {
        let key: _RSA.Signing.PublicKey
        let primitives: _RSA.Signing.PublicKey.Primitives
        do {
            key = try _RSA.Signing.PublicKey(pemRepresentation: String(decoding: pem, as: UTF8.self))
            primitives = try key.getKeyPrimitives()
        } catch {
            throw .invalidArgument("the PCR policy key is not an RSA public key in PEM: \(error)")
        }
        let modulus = Array(primitives.modulus.drop { $0 == 0 })
        let exponent = primitives.publicExponent.drop { $0 == 0 }.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard !modulus.isEmpty, modulus.count <= TPMLimits.maxRSAKeyBytes, exponent > 1, exponent <= UInt64(UInt32.max) else {
            throw .invalidArgument("the PCR policy key's modulus or exponent does not fit a TPM RSA key")
        }
        self.pem = pem
        fingerprint = Array(SHA256.hash(data: key.pkcs1DERRepresentation))
        publicArea = TPMTPublic(
            nameAlg: .sha256, objectAttributes: [.decrypt, .signEncrypt, .userWithAuth],
            parameters: .rsa(TPMSRSAParms(symmetric: .null, scheme: .null, keyBits: UInt16(modulus.count * 8), exponent: UInt32(exponent))),
            unique: .rsa(modulus))
    }

    /// The key's Name: 0x000B ‖ SHA-256(TPMT_PUBLIC).
    public var name: [UInt8] { publicArea.name ?? [] }
}

/// Signed PCR policies in the JSON of `systemd-measure sign` (systemd-cryptsetup's
/// `tpm2-signature=`, by default `/run/systemd/tpm2-pcr-signature.json`): per PCR bank, entries
/// `{"pcrs": [...], "pkfp": hex, "pol": hex, "sig": base64}`. `pol` is the PolicyPCR digest of
/// the PCRs' expected values (Part 3 §23.7) and `sig` an RSASSA-PKCS1-v1_5 SHA-256 signature over
/// it (RFC 8017 §8.2), which the TPM checks (TPM2_VerifySignature over SHA-256(pol)) before
/// TPM2_PolicyAuthorize admits the policy. Only the SHA-256 bank is read and written; other
/// banks are kept as they are.
public struct SignedPCRPolicy: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var pcrs: [Int]
        public var fingerprint: [UInt8]
        public var policy: [UInt8]
        public var signature: [UInt8]
    }

    public var entries: [Entry]
    private var otherBanks: [String: JSONValue]

    public init() {
        entries = []
        otherBanks = [:]
    }

    public init(json: [UInt8]) throws(TPM2TokenError) {
        let document: JSONValue
        do {
            document = try JSONDecoder().decode(JSONValue.self, from: Data(json))
        } catch {
            throw .invalidArgument("the PCR signature file is not JSON: \(error)")
        }
        guard case .object(var banks) = document else { throw .invalidArgument("the PCR signature file is not a JSON object") }
        var entries: [Entry] = []
        if let bank = banks.removeValue(forKey: "sha256") {
            guard case .array(let items) = bank else { throw .invalidArgument("the sha256 signatures are not an array") }
            for (index, item) in items.enumerated() {
                guard case .object(let fields) = item, case .array(let pcrValues)? = fields["pcrs"],
                    case .string(let fingerprint)? = fields["pkfp"], case .string(let policy)? = fields["pol"],
                    case .string(let signature)? = fields["sig"],
                    let fingerprintBytes = SystemdTPM2Token.bytes(hex: fingerprint), let policyBytes = SystemdTPM2Token.bytes(hex: policy),
                    let signatureBytes = Data(base64Encoded: signature)
                else { throw .invalidArgument("sha256 signature entry \(index) lacks pcrs, pkfp, pol or sig") }
                let pcrs = try pcrValues.map { value throws(TPM2TokenError) in
                    guard case .integer(let pcr) = value, (0..<24).contains(pcr) else { throw .invalidArgument("sha256 signature entry \(index): PCR \(value)") }
                    return Int(pcr)
                }
                entries.append(Entry(pcrs: pcrs.sorted(), fingerprint: fingerprintBytes, policy: policyBytes, signature: Array(signatureBytes)))
            }
        }
        self.entries = entries
        otherBanks = banks
    }

    /// The JSON text, entries in order, keys sorted.
    public var json: [UInt8] {
        var banks = otherBanks
        banks["sha256"] = .array(entries.map { entry in
            .object([
                "pcrs": .array(entry.pcrs.map { .integer(Int64($0)) }), "pkfp": .string(SystemdTPM2Token.hex(entry.fingerprint)),
                "pol": .string(SystemdTPM2Token.hex(entry.policy)), "sig": .string(Data(entry.signature).base64EncodedString()),
            ])
        })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(JSONValue.object(banks))) ?? Data())
    }

    /// The entry for `pcrs` signed by the key with `fingerprint` over `policy`, as systemd looks
    /// it up (`find_signature`).
    public func entry(pcrs: [Int], fingerprint: [UInt8], policy: [UInt8]) -> Entry? {
        entries.first { $0.pcrs == pcrs.sorted() && $0.fingerprint == fingerprint && $0.policy == policy }
    }

    /// Adds `entry`, replacing one for the same PCRs, key and policy.
    public mutating func add(_ entry: Entry) {
        entries.removeAll { $0.pcrs == entry.pcrs && $0.fingerprint == entry.fingerprint && $0.policy == entry.policy }
        entries.append(entry)
    }

    /// Signs the PolicyPCR of `pcrs` holding `values` with the RSA private key in `privateKeyPEM`,
    /// as `systemd-measure sign` does for each boot phase.
    public static func sign(pcrs: [Int], values: [Int: [UInt8]], privateKeyPEM: [UInt8]) throws(TPM2TokenError) -> Entry {
        let key: _RSA.Signing.PrivateKey
        do {
            key = try _RSA.Signing.PrivateKey(pemRepresentation: String(decoding: privateKeyPEM, as: UTF8.self))
        } catch {
            throw .invalidArgument("the signing key is not an RSA private key in PEM: \(error)")
        }
        let sorted = Array(Set(pcrs)).sorted()
        guard !sorted.isEmpty else { throw .invalidArgument("a signed PCR policy needs PCRs") }
        let policy = try SystemdTPM2Token.policy(pcrs: sorted, values: values)
        let signature: _RSA.Signing.RSASignature
        do {
            signature = try key.signature(for: policy, padding: .insecurePKCS1v1_5)
        } catch {
            throw .invalidArgument("RSA signing failed: \(error)")
        }
        return Entry(
            pcrs: sorted, fingerprint: Array(SHA256.hash(data: key.publicKey.pkcs1DERRepresentation)), policy: policy,
            signature: Array(signature.rawRepresentation))
    }
}
