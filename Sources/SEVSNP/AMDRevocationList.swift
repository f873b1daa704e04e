import EvidenceCore
import Foundation

/// A certificate revocation list as AMD's Key Distribution Service serves it at
/// `https://kdsintf.amd.com/vcek/v1/{product}/crl` (VCEK Certificate and KDS Interface Specification,
/// pub. 57230, "Certificate Revocation List"): an X.509 v2 CRL (RFC 5280 §5) signed by the product's
/// ARK with RSASSA-PSS (SHA-384, MGF1-SHA-384, 48-byte salt), listing the ASKs and ASVKs it revoked.
///
/// The list is decoded by EvidenceCore's ``CertificateRevocationList``; this type requires AMD's
/// RSASSA-PSS profile, which swift-certificates cannot check, and checks the signature with
/// `_CryptoExtras` as for ``AMDCertificate``.
public struct AMDRevocationList: VendorRevocationList {
    /// The decoded list: issuer, dates and revoked serial numbers.
    public let list: CertificateRevocationList

    /// Decodes a DER CertificateList (RFC 5280 §5.1).
    public init(derEncoded der: some Collection<UInt8>) throws(SNPError) {
        self.list = try .decode(der, allowingPEM: false, malformed: SNPError.revocationListMalformed, check: Self.requireAMDProfile)
    }

    /// Decodes DER or a PEM `X509 CRL` block.
    public init(derOrPEM data: some Collection<UInt8>) throws(SNPError) {
        self.list = try .decode(data, allowingPEM: true, malformed: SNPError.revocationListMalformed, check: Self.requireAMDProfile)
    }

    /// AMD signs its lists as it signs its certificates.
    private static func requireAMDProfile(_ list: CertificateRevocationList) throws {
        try AMDSigned.requireProfile(list.signatureAlgorithm, innerAlgorithm: list.tbsSignatureAlgorithm, name: "CRL of \(list.issuerName)")
    }

    /// Checks that `root` is the list's issuer and that its key verifies the list's signature.
    public func requireSigned(by root: AMDCertificate) throws(SNPError) {
        guard self.issuer == root.subject, AMDSigned.isValid(self.list.signatureBytes, over: self.list.tbsBytes, by: root) else {
            throw .revocationListSignatureInvalid(issuer: self.issuerName, signer: root.commonName)
        }
    }

    /// Whether the list revokes `certificate`: the list covers only certificates its own issuer
    /// signed (RFC 5280 §5: no indirect CRLs), so an ARK's list revokes ASKs and ASVKs.
    public func revokes(_ certificate: AMDCertificate) -> Bool {
        self.list.revokes(serialNumber: certificate.serialNumber, issuer: certificate.issuer)
    }
}
