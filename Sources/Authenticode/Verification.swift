import EventLog
import SwiftASN1
import X509

/// Something a signature may chain to, or an image hash that is allowed outright: the entries of
/// a UEFI authorized signature database (db, UEFI 2.10 §32.4.1 EFI_CERT_X509_GUID and
/// EFI_CERT_SHA256_GUID), or a certificate the caller trusts.
public enum TrustAnchor: Sendable, Hashable, CustomStringConvertible {
    case certificate(Certificate)
    /// The SHA-256 Authenticode digest of an allowed image.
    case sha256(imageDigest: [UInt8])

    /// The certificates and SHA-256 image hashes of EFI signature lists (as `EFISignatureList`
    /// decodes them); other signature types are ignored.
    public static func anchors(db: [EFISignatureList]) -> [TrustAnchor] {
        db.flatMap { list in list.certificates.map(Self.certificate) + list.sha256Hashes.map { .sha256(imageDigest: $0) } }
    }

    public var description: String {
        switch self {
        case .certificate(let certificate): "certificate \(certificate.subject)"
        case .sha256(let digest): "SHA-256 image hash \(hex(digest))"
        }
    }
}

/// A successful verification: which signature holds, who signed it and which anchor it chained to.
public struct AuthenticodeVerification: Sendable {
    /// The WIN_CERTIFICATE index of the verified signature; nil when the image is allowed by its hash.
    public var signatureIndex: Int?
    /// The signer certificate first, then each issuer up to the one the anchor equals or issued.
    public var chain: [Certificate]
    public var anchor: TrustAnchor

    public var signer: Certificate? { chain.first }
}

extension PEImage {
    /// Every signature in the attribute certificate table, decoded.
    public func signatures() throws(AuthenticodeError) -> [AuthenticodeSignature] {
        var signatures: [AuthenticodeSignature] = []
        for (index, entry) in try winCertificates().enumerated() {
            signatures.append(try AuthenticodeSignature(der: entry.certificate, index: index))
        }
        return signatures
    }

    /// Verifies the image the way UEFI Secure Boot does with db (UEFI 2.10 §32.5.3.3): allowed if its
    /// SHA-256 digest is an anchor, or if one of its signatures verifies and chains to an anchor
    /// certificate. Certificate validity periods are not checked (firmware has no trusted time).
    ///
    /// For each signature, in order: the SpcIndirectDataContent digest must be the image's
    /// Authenticode digest; the messageDigest attribute must be the hash of SpcIndirectDataContent
    /// and the contentType attribute SPC_INDIRECT_DATA_OBJID (RFC 5652 §11); the signer certificate
    /// must verify the signature over the authenticated attributes (RFC 5652 §5.4); the signer must
    /// be an anchor or chain through the SignedData certificates to one. When no signature
    /// succeeds, the first signature's error is thrown.
    public func verify(trusting anchors: [TrustAnchor]) throws(AuthenticodeError) -> AuthenticodeVerification {
        let byHash = TrustAnchor.sha256(imageDigest: authenticodeDigest(.sha256))
        if anchors.contains(byHash) {
            return AuthenticodeVerification(signatureIndex: nil, chain: [], anchor: byHash)
        }
        let certificates = anchors.compactMap { anchor -> Certificate? in
            if case .certificate(let certificate) = anchor { return certificate }
            return nil
        }
        var firstError: AuthenticodeError?
        for signature in try signatures() {
            do throws(AuthenticodeError) {
                let signer = try verifySignature(signature)
                guard let (chain, anchor) = Self.chain(from: signer, through: signature.certificates, to: certificates) else {
                    throw .untrusted(signature: signature.index, signer: signer.subject.description)
                }
                return AuthenticodeVerification(signatureIndex: signature.index, chain: chain, anchor: .certificate(anchor))
            } catch {
                firstError = firstError ?? error
            }
        }
        throw firstError ?? .notSigned
    }

    /// Checks one signature against this image and returns its signer certificate, without
    /// looking at trust.
    public func verifySignature(_ signature: AuthenticodeSignature) throws(AuthenticodeError) -> Certificate {
        let index = signature.index
        let computed = authenticodeDigest(signature.digestAlgorithm)
        guard computed == signature.imageDigest else {
            throw .imageDigestMismatch(signature: index, algorithm: signature.digestAlgorithm, signed: signature.imageDigest, computed: computed)
        }
        guard signature.signerInfos.count == 1, let signerInfo = signature.signerInfos.first else {
            throw .malformedSignature(signature: index, reason: "\(signature.signerInfos.count) SignerInfos, Authenticode requires exactly one")
        }
        guard signerInfo.contentType == AuthenticodeSignature.indirectDataOID, let messageDigest = signerInfo.messageDigest else {
            throw .malformedSignature(signature: index, reason: "the authenticated attributes lack contentType SPC_INDIRECT_DATA_OBJID or messageDigest")
        }
        let contentDigest = signerInfo.digestAlgorithm.hash(CollectionOfOne(signature.indirectDataContent[...]))
        guard messageDigest == contentDigest else {
            throw .messageDigestMismatch(signature: index, signed: messageDigest, computed: contentDigest)
        }
        guard let signer = signature.certificates.first(where: signerInfo.identifies) else {
            throw .signerCertificateMissing(signature: index)
        }
        let algorithm = try Self.signatureAlgorithm(signerInfo, signature: index)
        guard signer.publicKey.isValidSignature(signerInfo.signature, for: signerInfo.signedAttributes, signatureAlgorithm: algorithm) else {
            throw .signatureInvalid(signature: index, signer: signer.subject.description)
        }
        return signer
    }

    /// The X.509 signature algorithm for a SignerInfo: its signatureAlgorithm names the key type
    /// (rsaEncryption, or a combined OID such as sha256WithRSAEncryption, RFC 8017 Appendix C),
    /// its digestAlgorithm the hash.
    static func signatureAlgorithm(_ signerInfo: AuthenticodeSignature.SignerInfo, signature: Int) throws(AuthenticodeError) -> Certificate.SignatureAlgorithm {
        let rsa: [ASN1ObjectIdentifier] = [[1, 2, 840, 113549, 1, 1, 1], [1, 2, 840, 113549, 1, 1, 5],
                                           [1, 2, 840, 113549, 1, 1, 11], [1, 2, 840, 113549, 1, 1, 12], [1, 2, 840, 113549, 1, 1, 13]]
        guard rsa.contains(signerInfo.signatureAlgorithm) else {
            throw .unsupportedAlgorithm(signature: signature, oid: signerInfo.signatureAlgorithm.description)
        }
        switch signerInfo.digestAlgorithm {
        case .sha1: return .sha1WithRSAEncryption
        case .sha256: return .sha256WithRSAEncryption
        case .sha384: return .sha384WithRSAEncryption
        case .sha512: return .sha512WithRSAEncryption
        }
    }

    /// The chain from `signer` through `intermediates` to the first anchor that equals a
    /// certificate of the chain or issued it (subject/issuer names match and the anchor's key
    /// verifies the certificate's signature), and that anchor.
    static func chain(from signer: Certificate, through intermediates: [Certificate], to anchors: [Certificate]) -> ([Certificate], Certificate)? {
        func issued(_ certificate: Certificate, by issuer: Certificate) -> Bool {
            certificate.issuer == issuer.subject && issuer.publicKey.isValidSignature(certificate.signature, for: certificate)
        }
        var chain = [signer]
        while let current = chain.last {
            if let anchor = anchors.first(where: { $0 == current || issued(current, by: $0) }) {
                return (chain, anchor)
            }
            guard let issuer = intermediates.first(where: { !chain.contains($0) && issued(current, by: $0) }) else { return nil }
            chain.append(issuer)
        }
        return nil
    }
}
