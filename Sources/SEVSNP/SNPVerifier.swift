import Crypto
import Foundation
import SwiftASN1
import X509

/// Checks that an ``SNPReport`` was signed by a genuine AMD Secure Processor: the report's
/// ECDSA P-384 signature under the VCEK/VLEK, that certificate's RSASSA-PSS chain through the ASK
/// (or ASVK) to a trusted ARK, every certificate's validity at an explicit time, and the VCEK/VLEK
/// extensions against the report's REPORTED_TCB and CHIP_ID (SEV-SNP Firmware ABI, pub. 56860,
/// "Attestation"; VCEK Certificate and KDS Interface Specification, pub. 57230).
///
/// It trusts only AMD's embedded roots unless the caller passes other anchors. Whether the
/// guest is acceptable is a separate question for ``SNPPolicy``.
public struct SNPVerifier: Sendable {
    /// The roots a chain may end at.
    public let trustedRoots: [SNPTrustAnchor]
    /// Revocation lists to apply; each applies to chains under the root that issued it.
    public let revocationLists: [AMDRevocationList]

    /// Creates a verifier trusting `trustedRoots` — by default AMD's genuine roots only — and
    /// refusing certificates that `revocationLists` (AMD KDS CRLs, pub. 57230) revoke.
    public init(trustedRoots: [SNPTrustAnchor] = SNPTrustAnchor.amd, revocationLists: [AMDRevocationList] = []) {
        self.trustedRoots = trustedRoots
        self.revocationLists = revocationLists
    }

    /// Verifies a report against its certificates at `time`.
    ///
    /// - Parameters:
    ///   - product: the chip generation for a version-2 report, which carries no CPUID; when nil
    ///     the product of the root the chain reaches is used.
    /// - Returns: the report, vouched for.
    public func verify(
        _ report: SNPReport, certificates: SNPCertificateChain, at time: Date, product: SNPProduct? = nil
    ) throws(SNPError) -> VerifiedSNPReport {
        let endorsement = try self.endorsementCertificate(of: report, in: certificates)
        let chain = try self.verifyChain(of: endorsement, presented: certificates)
        return try self.verify(report, chain: chain, at: time, product: product)
    }

    /// Checks the certificate signatures from `endorsement` up to a trusted root: the part of
    /// ``verify(_:certificates:at:product:)`` that is the same for every report the key signs.
    func verifyChain(of endorsement: AMDCertificate, presented certificates: SNPCertificateChain) throws(SNPError) -> VerifiedChain {
        if let presented = certificates.root, !self.trustedRoots.contains(where: { $0.root == presented }) {
            throw .untrustedRoot(subject: presented.commonName)
        }
        let intermediate = try self.intermediate(above: endorsement, presented: certificates.intermediate)
        try endorsement.requireSigned(by: intermediate)
        let anchor = try self.anchor(above: intermediate)
        try self.requireNotRevoked([intermediate, endorsement], under: anchor)
        return VerifiedChain(endorsement: endorsement, intermediate: intermediate, anchor: anchor,
                             signingKey: try ReportSigningKey(endorsement))
    }

    /// Applies every revocation list the anchor's root issued: its signature must verify under
    /// that root, and it must not list any of `certificates` it covers (the ASK or ASVK).
    private func requireNotRevoked(_ certificates: [AMDCertificate], under anchor: SNPTrustAnchor) throws(SNPError) {
        for list in self.revocationLists where list.issuer == anchor.root.subject {
            try list.requireSigned(by: anchor.root)
            if let revoked = certificates.first(where: list.revokes) {
                throw .revoked(subject: revoked.commonName, serialNumber: "\(revoked.serialNumber)", issuer: list.issuer.commonName)
            }
        }
    }

    /// The per-report part of ``verify(_:certificates:at:product:)`` under a chain whose
    /// signatures are already checked: validity at `time`, the report's signature, product and TCB.
    func verify(_ report: SNPReport, chain: VerifiedChain, at time: Date, product: SNPProduct?) throws(SNPError) -> VerifiedSNPReport {
        for certificate in [chain.anchor.root, chain.intermediate, chain.endorsement] {
            try certificate.requireValid(at: time)
        }
        try Self.requireSignature(of: report, by: chain.signingKey)
        let resolvedProduct = try Self.product(of: report, given: product, anchor: chain.anchor)
        let reportedTCB = try report.components(of: report.reportedTCB, product: resolvedProduct)
        let extensions = EndorsementExtensions(chain.endorsement)
        try extensions.requireMatch(report: report, product: resolvedProduct, reportedTCB: reportedTCB)
        return VerifiedSNPReport(
            report: report, root: chain.anchor.name, product: resolvedProduct, endorsement: chain.endorsement,
            reportedTCB: reportedTCB, verificationTime: time)
    }

    func endorsementCertificate(of report: SNPReport, in chain: SNPCertificateChain) throws(SNPError) -> AMDCertificate {
        let expected: String
        switch report.signingKey {
        case .none: throw .noSigningKey
        case .vcek: expected = "SEV-VCEK"
        case .vlek: expected = "SEV-VLEK"
        }
        guard let endorsement = chain.endorsementKey else { throw .missingCertificate(role: report.signingKey.name) }
        guard endorsement.commonName == expected else {
            throw .signingKeyMismatch(report: report.signingKey, certificate: endorsement.commonName)
        }
        return endorsement
    }

    /// The presented intermediate, or else the embedded one whose subject issued `endorsement`.
    private func intermediate(above endorsement: AMDCertificate, presented: AMDCertificate?) throws(SNPError) -> AMDCertificate {
        if let presented { return presented }
        let known = self.trustedRoots.flatMap(\.intermediates)
        guard let match = known.first(where: { $0.subject == endorsement.issuer }) else {
            throw .missingCertificate(role: "issuer \(endorsement.issuer.commonName)")
        }
        return match
    }

    /// The trusted anchor whose root signed `intermediate`.
    private func anchor(above intermediate: AMDCertificate) throws(SNPError) -> SNPTrustAnchor {
        let candidates = self.trustedRoots.filter { $0.root.subject == intermediate.issuer }
        guard !candidates.isEmpty else { throw .untrustedRoot(subject: intermediate.issuer.commonName) }
        if let match = candidates.first(where: { (try? intermediate.requireSigned(by: $0.root)) != nil }) {
            return match
        }
        throw .certificateSignatureInvalid(subject: intermediate.commonName, issuer: intermediate.issuer.commonName)
    }

    private static func requireSignature(of report: SNPReport, by key: ReportSigningKey) throws(SNPError) {
        let raw = report.signature.rawBigEndian
        guard key.isValidSignature(digest: Array(SHA384.hash(data: report.signedBytes)), r: Array(raw.prefix(raw.count / 2)), s: Array(raw.suffix(raw.count / 2))) else {
            throw .reportSignatureInvalid
        }
    }

    /// The one product the report (its CPUID, or the product it was parsed with), the caller and the
    /// root agree on.
    private static func product(of report: SNPReport, given: SNPProduct?, anchor: SNPTrustAnchor) throws(SNPError) -> SNPProduct {
        let claims = [report.product, given, anchor.product].compactMap { $0 }
        guard let first = claims.first else { throw .productRequired }
        if let other = claims.first(where: { $0 != first }) { throw .productMismatch(expected: other, actual: first) }
        return first
    }
}

/// A VCEK/VLEK whose signature chain up to a trusted anchor has been checked; validity periods
/// are not part of it, since they depend on the time of each verification.
struct VerifiedChain: Sendable {
    let endorsement: AMDCertificate
    let intermediate: AMDCertificate
    let anchor: SNPTrustAnchor
    let signingKey: ReportSigningKey
}

/// The AMD extensions of a VCEK or VLEK certificate (VCEK Certificate and KDS Interface
/// Specification, pub. 57230, table "VCEK Certificate Extensions").
struct EndorsementExtensions {
    static let productName: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 3704, 1, 2]
    static let hardwareID: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 3704, 1, 4]
    static func spl(_ arc: UInt) -> ASN1ObjectIdentifier { [1, 3, 6, 1, 4, 1, 3704, 1, 3, arc] }

    let certificate: AMDCertificate

    init(_ certificate: AMDCertificate) {
        self.certificate = certificate
    }

    func requireMatch(report: SNPReport, product: SNPProduct, reportedTCB: TCBComponents) throws(SNPError) {
        let certified = try self.product()
        guard certified == product else { throw .productMismatch(expected: product, actual: certified) }
        let certifiedTCB = try self.tcb(product: product)
        for (reported, certified) in zip(reportedTCB.named, certifiedTCB.named) {
            guard let reportValue = reported.value else { continue }
            guard certified.value == reportValue else {
                throw .endorsementTCBMismatch(component: reported.name, certificate: certified.value ?? 0, report: reportValue)
            }
        }
        guard report.signingKey == .vcek else { return }
        let hwid = try self.hardwareID()
        let turinPrefix = product == .turin && hwid.count == 8 && report.chipID.starts(with: hwid)
        guard hwid == report.chipID || turinPrefix else { throw .chipIDMismatch }
    }

    /// The product productName names: its family before the stepping, "Milan" of "Milan-B0".
    func product() throws(SNPError) -> SNPProduct {
        let name = String(try self.value(Self.productName) { try ASN1IA5String(derEncoded: $0) })
        let family = name.split(separator: "-").first.map(String.init) ?? ""
        guard let product = SNPProduct(rawValue: family) else {
            throw .endorsementExtensionInvalid(oid: "\(Self.productName)", reason: "unknown productName \"\(name)\"")
        }
        return product
    }

    /// The SPLs the certificate certifies — blSPL .3.1, teeSPL .3.2, snpSPL .3.3, ucodeSPL .3.8,
    /// and fmcSPL .3.9, which exists on Turin only.
    func tcb(product: SNPProduct) throws(SNPError) -> TCBComponents {
        TCBComponents(
            fmc: product == .turin ? try self.spl(9) : nil, bootloader: try self.spl(1), tee: try self.spl(2),
            snp: try self.spl(3), microcode: try self.spl(8))
    }

    /// hwID, the only extension whose value is the raw bytes rather than DER: the whole CHIP_ID,
    /// except that KDS keys Turin VCEKs by the first 8 bytes of CHIP_ID.
    func hardwareID() throws(SNPError) -> [UInt8] {
        try self.rawValue(Self.hardwareID)
    }

    /// The SPL extension `arc`, an INTEGER that must fit the byte TCB_VERSION gives it.
    private func spl(_ arc: UInt) throws(SNPError) -> UInt8 {
        let value = try self.value(Self.spl(arc)) { try Int(derEncoded: $0) }
        guard let spl = UInt8(exactly: value) else {
            throw .endorsementExtensionInvalid(oid: "\(Self.spl(arc))", reason: "the SPL \(value) is not 0-255")
        }
        return spl
    }

    /// The value bytes of the extension `oid`, which must be present.
    private func rawValue(_ oid: ASN1ObjectIdentifier) throws(SNPError) -> [UInt8] {
        guard let found = self.certificate.extensions[oid: oid] else {
            throw .endorsementExtensionInvalid(oid: "\(oid)", reason: "it is missing")
        }
        return Array(found.value)
    }

    /// Decodes the DER value of the extension `oid`, which must be present.
    private func value<T>(_ oid: ASN1ObjectIdentifier, _ decode: (ASN1Node) throws -> T) throws(SNPError) -> T {
        let bytes = try self.rawValue(oid)
        do {
            return try decode(try DER.parse(bytes))
        } catch {
            throw .endorsementExtensionInvalid(oid: "\(oid)", reason: String(describing: error))
        }
    }
}

/// A report that ``SNPVerifier`` has verified: signed by a VCEK/VLEK that chains to ``root`` and
/// that certifies the report's TCB and chip. Only the verifier can create one.
public struct VerifiedSNPReport: Sendable {
    /// The verified report.
    public let report: SNPReport
    /// The trusted root the chain reached, e.g. "AMD ARK-Milan".
    public let root: String
    /// The product whose TCB layout and root apply.
    public let product: SNPProduct
    /// The VCEK or VLEK certificate that signed the report.
    public let endorsement: AMDCertificate
    /// REPORTED_TCB decoded for ``product``; the VCEK/VLEK certifies exactly these SPLs.
    public let reportedTCB: TCBComponents
    /// The time at which the certificates were checked.
    public let verificationTime: Date

    fileprivate init(
        report: SNPReport, root: String, product: SNPProduct, endorsement: AMDCertificate,
        reportedTCB: TCBComponents, verificationTime: Date
    ) {
        self.report = report
        self.root = root
        self.product = product
        self.endorsement = endorsement
        self.reportedTCB = reportedTCB
        self.verificationTime = verificationTime
    }
}
