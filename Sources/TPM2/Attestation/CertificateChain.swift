import Foundation
import SwiftASN1
import X509

/// Checks EK and AK certificates (TCG EK Credential Profile for TPM 2.0 §3; TCG Infrastructure
/// WG) up to a trusted root by issuer Name and signature. Unlike a full RFC 5280 path builder it
/// does not require the extensions and name forms that vTPM certificates get wrong (GCE leaf
/// certificates have an empty subject and common names longer than 64 characters); it checks
/// that every certificate is signed by the next one's key, that every issuer is not marked as a
/// non-CA, and, when given a time, every validity period.
public struct TPMCertificateChainVerifier: Sendable {
    /// The trust anchors.
    public let roots: [Certificate]
    /// Certificates a chain may pass through.
    public let intermediates: [Certificate]
    /// The most certificates a chain may hold, leaf and root included.
    public let maximumLength: Int

    public init(roots: [Certificate], intermediates: [Certificate] = [], maximumLength: Int = 8) {
        self.roots = roots
        self.intermediates = intermediates
        self.maximumLength = maximumLength
    }

    /// Parses a DER certificate.
    public static func certificate(der: [UInt8]) throws(TPMVerificationError) -> Certificate {
        do { return try Certificate(derEncoded: der) } catch { throw .certificateMalformed("\(error)") }
    }

    /// Parses a PEM certificate.
    public static func certificate(pem: String) throws(TPMVerificationError) -> Certificate {
        do { return try Certificate(pemEncoded: pem) } catch { throw .certificateMalformed("\(error)") }
    }

    /// Builds the chain from `leaf` to a root: `[leaf, intermediates..., root]`. A certificate
    /// that is itself a root yields a chain of one.
    public func verify(_ leaf: Certificate, at time: Date? = nil) throws(TPMVerificationError) -> TPMCertificateChain {
        var chain = [leaf]
        while chain.count <= maximumLength {
            let current = chain[chain.count - 1]
            if let time, !(current.notValidBefore...current.notValidAfter).contains(time) {
                throw .certificateNotValidAtTime(subject: current.subject.description)
            }
            if roots.contains(current) { return TPMCertificateChain(certificates: chain) }
            let issuer = (roots + intermediates).first { candidate in
                candidate.subject == current.issuer
                    && !chain.contains(candidate)
                    && (try? candidate.extensions.basicConstraints) != .notCertificateAuthority
                    && candidate.publicKey.isValidSignature(current.signature, for: current)
            }
            guard let issuer else {
                throw .certificateIssuerNotFound(subject: current.subject.description, issuer: current.issuer.description)
            }
            chain.append(issuer)
        }
        throw .certificateChainTooLong(maximumLength)
    }
}

/// A certificate path (RFC 5280 §6.1) whose signatures verified, from the EK or AK certificate
/// (TCG EK Credential Profile §3) to the trusted root it ended at.
public struct TPMCertificateChain: Hashable, Sendable {
    /// Leaf first, root last.
    public let certificates: [Certificate]

    init(certificates: [Certificate]) { self.certificates = certificates }

    /// The EK or AK certificate the chain was built for.
    public var leaf: Certificate { certificates[0] }
    /// The trust anchor the chain ended at.
    public var root: Certificate { certificates[certificates.count - 1] }
}
