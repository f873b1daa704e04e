import Foundation
import Synchronization

/// An ``SNPVerifier`` for a service that sees many reports from few chips: it checks each
/// VCEK/VLEK's certificate chain (two RSASSA-PSS signatures) once and remembers it, while every
/// report still gets its own ECDSA P-384 signature check, validity check at the given time, and
/// TCB and chip match against the certificate.
///
/// Only chains that verified are remembered, keyed by the certificates as presented.
public final class SNPCachingVerifier: Sendable {
    /// The verifier whose trusted roots and checks apply.
    public let verifier: SNPVerifier
    private let chains = Mutex<[SNPCertificateChain: VerifiedChain]>([:])

    /// Creates a caching verifier around `verifier`.
    public init(verifier: SNPVerifier = SNPVerifier()) {
        self.verifier = verifier
    }

    /// Verifies a report as ``SNPVerifier/verify(_:certificates:at:product:)`` does, reusing
    /// the chain verification from an earlier report with the same certificates.
    public func verify(
        _ report: SNPReport, certificates: SNPCertificateChain, at time: Date, product: SNPProduct? = nil
    ) throws(SNPError) -> VerifiedSNPReport {
        let endorsement = try self.verifier.endorsementCertificate(of: report, in: certificates)
        let chain: VerifiedChain
        if let cached = self.chains.withLock({ $0[certificates] }) {
            chain = cached
        } else {
            chain = try self.verifier.verifyChain(of: endorsement, presented: certificates)
            self.chains.withLock { $0[certificates] = chain }
        }
        return try self.verifier.verify(report, chain: chain, at: time, product: product)
    }
}
