import Foundation
import SwiftASN1
import X509

/// A certificate revocation list as AMD's Key Distribution Service serves it at
/// `https://kdsintf.amd.com/vcek/v1/{product}/crl` (VCEK Certificate and KDS Interface Specification,
/// pub. 57230, "Certificate Revocation List"): an X.509 v2 CRL (RFC 5280 §5) signed by the product's
/// ARK with RSASSA-PSS (SHA-384, MGF1-SHA-384, 48-byte salt), listing the ASKs and ASVKs it revoked.
///
/// Like ``AMDCertificate`` it is read with swift-asn1, since swift-certificates has no RSA-PSS.
public struct AMDRevocationList: Sendable, Hashable {
    /// The DER encoding.
    public let derBytes: [UInt8]
    /// The issuer: the ARK that signed the list.
    public let issuer: DistinguishedName
    /// When the list was issued.
    public let thisUpdate: Date
    /// When the next list is due, if stated.
    public let nextUpdate: Date?
    /// The serial numbers of the revoked certificates the issuer signed.
    public let revokedSerialNumbers: Set<Certificate.SerialNumber>
    private let tbsBytes: ArraySlice<UInt8>
    private let signatureBytes: [UInt8]

    /// The DER is the list's identity, as for ``AMDCertificate``.
    public static func == (lhs: AMDRevocationList, rhs: AMDRevocationList) -> Bool {
        lhs.derBytes == rhs.derBytes
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.derBytes)
    }

    /// Decodes a DER CertificateList (RFC 5280 §5.1).
    public init(derEncoded der: some Collection<UInt8>) throws(SNPError) {
        let der = Array(der)
        self.derBytes = der
        do {
            let parts = try AMDSigned.parse(der, name: { "CRL of \($0.issuer.commonName)" }, body: TBSCertList.parse)
            self.tbsBytes = parts.body
            self.signatureBytes = parts.signature
            self.issuer = parts.fields.issuer
            self.thisUpdate = parts.fields.thisUpdate
            self.nextUpdate = parts.fields.nextUpdate
            self.revokedSerialNumbers = parts.fields.revoked
        } catch let error as SNPError {
            throw error
        } catch {
            throw .revocationListMalformed(reason: String(describing: error))
        }
    }

    /// Decodes DER or a PEM `X509 CRL` block.
    public init(derOrPEM data: some Collection<UInt8>) throws(SNPError) {
        let bytes = Array(data)
        if bytes.first == 0x30 {
            try self.init(derEncoded: bytes)
            return
        }
        let document: PEMDocument
        do {
            document = try PEMDocument(pemString: String(decoding: bytes, as: UTF8.self))
        } catch {
            throw .revocationListMalformed(reason: String(describing: error))
        }
        try self.init(derEncoded: document.derBytes)
    }

    /// The issuer's common name, e.g. "ARK-Milan".
    public var issuerName: String { self.issuer.commonName }

    /// Checks that `root` is the list's issuer and that its key verifies the list's signature.
    public func requireSigned(by root: AMDCertificate) throws(SNPError) {
        guard self.issuer == root.subject, AMDSigned.isValid(self.signatureBytes, over: self.tbsBytes, by: root) else {
            throw .revocationListSignatureInvalid(issuer: self.issuer.commonName, signer: root.commonName)
        }
    }

    /// Whether the list revokes `certificate`: the list covers only certificates its own issuer
    /// signed (RFC 5280 §5: no indirect CRLs), so an ARK's list revokes ASKs and ASVKs.
    public func revokes(_ certificate: AMDCertificate) -> Bool {
        certificate.issuer == self.issuer && self.revokedSerialNumbers.contains(certificate.serialNumber)
    }
}

/// The TBSCertList fields this library reads (RFC 5280 §5.1.2).
private struct TBSCertList {
    var issuer: DistinguishedName
    var thisUpdate: Date
    var nextUpdate: Date?
    var revoked: Set<Certificate.SerialNumber>

    /// Returns the encoded inner signature AlgorithmIdentifier and the fields.
    static func parse(_ node: ASN1Node) throws -> (ArraySlice<UInt8>, TBSCertList) {
        try DER.sequence(node, identifier: .sequence) { nodes in
            var next = try required(&nodes, "version or signature")
            if next.identifier == .integer {
                guard try Int(derEncoded: next) == 1 else {
                    throw ASN1Error.invalidASN1Object(reason: "the CRL version is not v2")
                }
                next = try required(&nodes, "signature")
            }
            let algorithm = next.encodedBytes
            let issuer = try DistinguishedName(derEncoded: try required(&nodes, "issuer"))
            let thisUpdate = try readTime(try required(&nodes, "thisUpdate"))
            var fields = TBSCertList(issuer: issuer, thisUpdate: thisUpdate, nextUpdate: nil, revoked: [])
            var following = nodes.next()
            if let node = following, node.identifier == UTCTime.defaultIdentifier || node.identifier == GeneralizedTime.defaultIdentifier {
                fields.nextUpdate = try readTime(node)
                following = nodes.next()
            }
            if let node = following, node.identifier == .sequence {
                fields.revoked = Set(try DER.sequence(of: RevokedEntry.self, identifier: .sequence, rootNode: node).map(\.serialNumber))
                following = nodes.next()
            }
            // crlExtensions [0] (CRL number, authority key identifier) carry nothing this check uses.
            if let node = following {
                _ = try DER.explicitlyTagged(node, tagNumber: 0, tagClass: .contextSpecific) { inner in
                    try DER.sequence(of: Certificate.Extension.self, identifier: .sequence, rootNode: inner)
                }
            }
            return (algorithm, fields)
        }
    }

    /// One revokedCertificates entry; only the serial number matters here.
    private struct RevokedEntry: DERParseable {
        let serialNumber: Certificate.SerialNumber

        init(derEncoded node: ASN1Node) throws {
            self.serialNumber = try DER.sequence(node, identifier: .sequence) { nodes in
                let serial = Certificate.SerialNumber(bytes: try ArraySlice<UInt8>(derEncoded: &nodes))
                _ = try readTime(try required(&nodes, "revocationDate"))
                while nodes.next() != nil {}
                return serial
            }
        }
    }
}
