import EvidenceCore
import Foundation
import SwiftASN1
import X509

/// A certificate revocation list of Intel's SGX hierarchy: the PCK CRL that a PCK Platform or
/// Processor CA issues for PCK certificates, or the Root CA CRL that lists revoked intermediates
/// (Intel SGX PCK Certificate and CRL Profile Specification, §4 "CRL Profile"; an X.509 v2 CRL,
/// RFC 5280 §5, signed with ecdsa-with-SHA256).
///
/// The list is decoded by EvidenceCore's ``CertificateRevocationList``; this type requires
/// Intel's algorithm and checks the signature with the issuer certificate's key through
/// swift-certificates.
public struct IntelRevocationList: VendorRevocationList {
    /// The decoded list: issuer, dates and revoked serial numbers.
    public let list: CertificateRevocationList

    /// ecdsa-with-SHA256 (RFC 5758 §3.2), the only algorithm Intel signs CRLs with.
    private static let ecdsaWithSHA256: ASN1ObjectIdentifier = [1, 2, 840, 10045, 4, 3, 2]

    /// Decodes a DER CertificateList (RFC 5280 §5.1).
    public init(derEncoded der: [UInt8]) throws(TDXError) {
        self.list = try .decode(der, allowingPEM: false, malformed: TDXError.revocationListMalformed, check: Self.requireECDSAWithSHA256)
    }

    /// Decodes DER, or PEM with one `X509 CRL` block (Intel's PCS serves both).
    public init(derOrPEM data: some Collection<UInt8>) throws(TDXError) {
        self.list = try .decode(data, allowingPEM: true, malformed: TDXError.revocationListMalformed, check: Self.requireECDSAWithSHA256)
    }

    /// Both the signed and the outer signature algorithm must be ecdsa-with-SHA256, without parameters.
    private static func requireECDSAWithSHA256(_ list: CertificateRevocationList) throws {
        let algorithms = try [list.signatureAlgorithm, list.tbsSignatureAlgorithm].map { try AlgorithmOID(derEncoded: try DER.parse($0)) }
        guard algorithms.allSatisfy({ $0.oid == ecdsaWithSHA256 }) else {
            throw TDXError.revocationListMalformed(reason: "it is not signed with ecdsa-with-SHA256")
        }
    }

    /// Checks that `issuer` is named as the list's issuer and that its key verifies the list.
    func requireSigned(by issuer: Certificate) throws(TDXError) {
        guard self.issuer == issuer.subject,
              issuer.publicKey.isValidSignature(self.list.signatureBytes, for: self.list.tbsBytes, signatureAlgorithm: .ecdsaWithSHA256) else {
            throw .revocationListSignatureInvalid(issuer: self.issuerName, signer: CertificateChecks.commonName(issuer))
        }
    }

    /// Checks that the list applies at `time`: issued before it, and not past its next update.
    func requireCurrent(at time: Date) throws(TDXError) {
        guard self.thisUpdate <= time, self.nextUpdate.map({ time <= $0 }) ?? true else {
            throw .revocationListNotValidAtTime(issuer: self.issuerName, time: time, thisUpdate: self.thisUpdate, nextUpdate: self.nextUpdate)
        }
    }

    /// Refuses `certificate` if the list revokes it; the list covers only certificates its own
    /// issuer signed (RFC 5280 §5: no indirect CRLs).
    func requireNotRevoked(_ certificate: Certificate) throws(TDXError) {
        guard self.list.revokes(serialNumber: certificate.serialNumber, issuer: certificate.issuer) else { return }
        throw .revoked(
            subject: CertificateChecks.commonName(certificate), serialNumber: "\(certificate.serialNumber)", issuer: self.issuerName)
    }
}

/// The OID of an AlgorithmIdentifier (RFC 5280 §4.1.1.2) whose parameters are absent, as for ECDSA.
private struct AlgorithmOID: DERParseable {
    let oid: ASN1ObjectIdentifier

    init(derEncoded node: ASN1Node) throws {
        self.oid = try DER.sequence(node, identifier: .sequence) { nodes in
            let oid = try ASN1ObjectIdentifier(derEncoded: &nodes)
            guard nodes.next() == nil else { throw ASN1Error.invalidASN1Object(reason: "ECDSA AlgorithmIdentifier has parameters") }
            return oid
        }
    }
}
