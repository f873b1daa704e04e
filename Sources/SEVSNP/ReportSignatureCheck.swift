import CLibCrypto
import Crypto

/// A VCEK's or VLEK's P-384 public key, prepared once per verified chain for checking report
/// signatures (SEV-SNP ABI §7.3: ECDSA P-384 with SHA-384) through OpenSSL's libcrypto
/// (Debian's libssl-dev). swift-crypto parses and validates the certificate's key; only the
/// curve arithmetic runs in libcrypto, whose P-384 is about twice as fast as the portable code
/// bundled with swift-crypto — report verification is the attestation service's hot path.
final class ReportSigningKey: @unchecked Sendable {
    private let key: OpaquePointer

    init(_ endorsement: AMDCertificate) throws(SNPError) {
        guard let publicKey = P384.Signing.PublicKey(endorsement.publicKey), let key = EC_KEY_new_by_curve_name(NID_secp384r1) else {
            throw .endorsementKeyNotP384(subject: endorsement.commonName)
        }
        let point = Array(publicKey.x963Representation)
        guard point.withUnsafeBufferPointer({ EC_KEY_oct2key(key, $0.baseAddress, $0.count, nil) }) == 1 else {
            EC_KEY_free(key)
            throw .endorsementKeyNotP384(subject: endorsement.commonName)
        }
        self.key = key
    }

    deinit { EC_KEY_free(key) }

    /// Whether (r, s), big-endian, signs `digest`.
    func isValidSignature(digest: [UInt8], r: [UInt8], s: [UInt8]) -> Bool {
        guard let signature = ECDSA_SIG_new() else { return false }
        defer { ECDSA_SIG_free(signature) }
        let br = r.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        let bs = s.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        guard let br, let bs, ECDSA_SIG_set0(signature, br, bs) == 1 else {
            BN_free(br)
            BN_free(bs)
            return false
        }
        return digest.withUnsafeBufferPointer { ECDSA_do_verify($0.baseAddress, Int32($0.count), signature, key) } == 1
    }
}
