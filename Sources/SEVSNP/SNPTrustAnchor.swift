/// A root the verifier may chain to: an ARK and the intermediates (ASK, ASVK) it signed
/// (VCEK Certificate and KDS Interface Specification, pub. 57230, "Certificate Chain").
///
/// ``amd`` holds AMD's genuine Milan, Genoa and Turin roots and is what ``SNPVerifier`` trusts by
/// default; any other anchor (an emulator's, a test's) is trusted only when a caller passes it in.
public struct SNPTrustAnchor: Sendable, Hashable {
    /// How verified reports name this root, e.g. "AMD ARK-Milan".
    public let name: String
    /// The product whose chips this root endorses, if it is tied to one.
    public let product: SNPProduct?
    /// The self-signed root certificate.
    public let root: AMDCertificate
    /// Intermediates the root signed, used when the evidence brings none.
    public let intermediates: [AMDCertificate]

    /// Creates an anchor, checking that `root` is self-signed and that it signed every intermediate.
    public init(name: String, product: SNPProduct?, root: AMDCertificate, intermediates: [AMDCertificate]) throws(SNPError) {
        try root.requireSigned(by: root)
        for intermediate in intermediates {
            try intermediate.requireSigned(by: root)
        }
        self.name = name
        self.product = product
        self.root = root
        self.intermediates = intermediates
    }

    /// AMD's root for Milan (EPYC 7003) with the SEV-Milan ASK and SEV-VLEK-Milan ASVK.
    public static let amdMilan = embedded(.milan, AMDCertificatePEM.milanARK, AMDCertificatePEM.milanASK, AMDCertificatePEM.milanASVK)
    /// AMD's root for Genoa (EPYC 9004) with the SEV-Genoa ASK and SEV-VLEK-Genoa ASVK.
    public static let amdGenoa = embedded(.genoa, AMDCertificatePEM.genoaARK, AMDCertificatePEM.genoaASK, AMDCertificatePEM.genoaASVK)
    /// AMD's root for Turin (EPYC 9005) with the SEV-Turin ASK and SEV-VLEK-Turin ASVK.
    public static let amdTurin = embedded(.turin, AMDCertificatePEM.turinARK, AMDCertificatePEM.turinASK, AMDCertificatePEM.turinASVK)
    /// All genuine AMD roots embedded in this library: the default trust for ``SNPVerifier``.
    public static let amd: [SNPTrustAnchor] = [amdMilan, amdGenoa, amdTurin]

    /// Builds an anchor from PEM constants compiled into the library; they are AMD's published
    /// certificates, so failing to decode them is a build defect, not a runtime condition.
    private static func embedded(_ product: SNPProduct, _ ark: String, _ ask: String, _ asvk: String) -> SNPTrustAnchor {
        do {
            let root = try AMDCertificate.certificates(pem: ark, role: "ARK")[0]
            let intermediates = try AMDCertificate.certificates(pem: ask, role: "ASK")
                + AMDCertificate.certificates(pem: asvk, role: "ASVK")
            return try SNPTrustAnchor(name: "AMD \(root.commonName)", product: product, root: root, intermediates: intermediates)
        } catch {
            fatalError("embedded AMD \(product.rawValue) certificates are invalid: \(error)")
        }
    }
}
