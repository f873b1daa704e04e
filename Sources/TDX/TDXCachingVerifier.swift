import Foundation
import Synchronization

/// A ``TDXVerifier`` for a service that sees many quotes from few platforms, with the collateral
/// for them fixed up front: the collateral's signatures are checked once, at creation, and each
/// PCK chain's signatures and revocation once, the first time a quote presents it. Every quote
/// still gets its own QE report and quote signature checks, its binding check, validity checks
/// of every certificate, CRL and collateral document at the given time, and its TCB evaluation.
///
/// Only chains that verified are remembered, keyed by the exact certification data bytes.
public final class TDXCachingVerifier: Sendable {
    /// The verifier whose trust anchor and checks apply.
    public let verifier: TDXVerifier
    /// The collateral every quote is evaluated against.
    public let collateral: TDXCollateral
    private let checkedCollateral: CheckedCollateral
    private let chains = Mutex<[[UInt8]: CheckedChain]>([:])

    /// Creates a caching verifier, checking the collateral's signatures now.
    public init(verifier: TDXVerifier = TDXVerifier(), collateral: TDXCollateral = TDXCollateral()) throws(TDXError) {
        self.verifier = verifier
        self.collateral = collateral
        self.checkedCollateral = try verifier.check(collateral)
    }

    /// Verifies a quote as ``TDXVerifier/verify(_:collateral:at:)`` does with this verifier's
    /// collateral, reusing the chain checks of an earlier quote with the same certification data.
    public func verify(_ quote: TDXQuote, at time: Date) throws(TDXError) -> VerifiedTDXQuote {
        let certification = quote.signatureData.qeReportCertificationData.certificationData
        let key = certification.data
        let chain: CheckedChain
        if certification.type == .pckCertificateChain, let cached = self.chains.withLock({ $0[key] }) {
            chain = cached
        } else {
            chain = try self.verifier.checkChain(of: quote, collateral: self.checkedCollateral)
            self.chains.withLock { $0[key] = chain }
        }
        return try self.verifier.verify(quote, chain: chain, collateral: self.checkedCollateral, at: time)
    }
}
