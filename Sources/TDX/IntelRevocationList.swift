import Foundation
import SwiftASN1
import X509

/// A certificate revocation list of Intel's SGX hierarchy: the PCK CRL that a PCK Platform or
/// Processor CA issues for PCK certificates, or the Root CA CRL that lists revoked intermediates
/// (Intel SGX PCK Certificate and CRL Profile Specification, §4 "CRL Profile"; an X.509 v2 CRL,
/// RFC 5280 §5, signed with ecdsa-with-SHA256).
///
/// swift-certificates has no CRL type, so the structure is read with swift-asn1 here and the
/// signature checked with the issuer certificate's key through swift-certificates.
public struct IntelRevocationList: Sendable, Hashable {
    /// The DER encoding.
    public let derBytes: [UInt8]
    /// The issuing CA.
    public let issuer: DistinguishedName
    /// When the list was issued.
    public let thisUpdate: Date
    /// When the next list is due.
    public let nextUpdate: Date?
    /// Serial numbers of the certificates the issuer revoked.
    public let revokedSerialNumbers: Set<Certificate.SerialNumber>
    private let tbsBytes: [UInt8]
    private let signatureBytes: [UInt8]

    /// ecdsa-with-SHA256 (RFC 5758 §3.2), the only algorithm Intel signs CRLs with.
    private static let ecdsaWithSHA256: ASN1ObjectIdentifier = [1, 2, 840, 10045, 4, 3, 2]

    /// Decodes a DER CertificateList (RFC 5280 §5.1).
    public init(derEncoded der: [UInt8]) throws(TDXError) {
        self.derBytes = der
        do {
            let parts = try DER.sequence(try DER.parse(der), identifier: .sequence) { nodes in
                let tbs = try requiredNode(&nodes, "tbsCertList")
                let algorithm = try AlgorithmOID(derEncoded: try requiredNode(&nodes, "signatureAlgorithm"))
                let signature = try ASN1BitString(derEncoded: &nodes)
                return (tbs, algorithm, signature)
            }
            let fields = try TBSCertList(parts.0)
            guard parts.1.oid == Self.ecdsaWithSHA256, fields.algorithm.oid == Self.ecdsaWithSHA256 else {
                throw TDXError.revocationListMalformed(reason: "it is not signed with ecdsa-with-SHA256")
            }
            guard parts.2.paddingBits == 0 else {
                throw TDXError.revocationListMalformed(reason: "the signature BIT STRING has padding bits")
            }
            self.tbsBytes = Array(parts.0.encodedBytes)
            self.signatureBytes = Array(parts.2.bytes)
            self.issuer = fields.issuer
            self.thisUpdate = fields.thisUpdate
            self.nextUpdate = fields.nextUpdate
            self.revokedSerialNumbers = fields.revoked
        } catch let error as TDXError {
            throw error
        } catch {
            throw .revocationListMalformed(reason: String(describing: error))
        }
    }

    /// Decodes DER, or PEM with one `X509 CRL` block (Intel's PCS serves both).
    public init(derOrPEM data: some Collection<UInt8>) throws(TDXError) {
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
        guard document.discriminator == "X509 CRL" else {
            throw .revocationListMalformed(reason: "the PEM block is \(document.discriminator), not X509 CRL")
        }
        try self.init(derEncoded: document.derBytes)
    }

    /// The issuer's common name, e.g. "Intel SGX PCK Platform CA".
    public var issuerName: String { CertificateChecks.commonName(self.issuer) }

    /// Checks that `issuer` is named as the list's issuer and that its key verifies the list.
    func requireSigned(by issuer: Certificate) throws(TDXError) {
        guard self.issuer == issuer.subject,
              issuer.publicKey.isValidSignature(self.signatureBytes, for: self.tbsBytes, signatureAlgorithm: .ecdsaWithSHA256) else {
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
        guard certificate.issuer == self.issuer, self.revokedSerialNumbers.contains(certificate.serialNumber) else { return }
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

/// The TBSCertList fields a revocation check needs (RFC 5280 §5.1.2).
private struct TBSCertList {
    let algorithm: AlgorithmOID
    let issuer: DistinguishedName
    let thisUpdate: Date
    let nextUpdate: Date?
    let revoked: Set<Certificate.SerialNumber>

    init(_ node: ASN1Node) throws {
        (self.algorithm, self.issuer, self.thisUpdate, self.nextUpdate, self.revoked) = try DER.sequence(node, identifier: .sequence) { nodes in
            var next = try requiredNode(&nodes, "signature")
            if next.identifier == .integer {
                guard try Int(derEncoded: next) == 1 else { throw ASN1Error.invalidASN1Object(reason: "the CRL version is not v2") }
                next = try requiredNode(&nodes, "signature")
            }
            let algorithm = try AlgorithmOID(derEncoded: next)
            let issuer = try DistinguishedName(derEncoded: try requiredNode(&nodes, "issuer"))
            let thisUpdate = try asn1Time(try requiredNode(&nodes, "thisUpdate"))
            var following = nodes.next()
            var nextUpdate: Date?
            if let node = following, node.identifier == UTCTime.defaultIdentifier || node.identifier == GeneralizedTime.defaultIdentifier {
                nextUpdate = try asn1Time(node)
                following = nodes.next()
            }
            var revoked: Set<Certificate.SerialNumber> = []
            if let node = following, node.identifier == .sequence {
                revoked = Set(try DER.sequence(of: RevokedCertificate.self, identifier: .sequence, rootNode: node).map(\.serialNumber))
                following = nodes.next()
            }
            // crlExtensions [0] (CRL number, authority key identifier) decide nothing here, but
            // must be well-formed, and nothing may follow them.
            if let node = following {
                _ = try DER.explicitlyTagged(node, tagNumber: 0, tagClass: .contextSpecific) { inner in
                    try DER.sequence(of: Certificate.Extension.self, identifier: .sequence, rootNode: inner)
                }
            }
            return (algorithm, issuer, thisUpdate, nextUpdate, revoked)
        }
    }

    /// One revokedCertificates entry (RFC 5280 §5.1.2.6).
    private struct RevokedCertificate: DERParseable {
        let serialNumber: Certificate.SerialNumber

        init(derEncoded node: ASN1Node) throws {
            self.serialNumber = try DER.sequence(node, identifier: .sequence) { nodes in
                let serial = Certificate.SerialNumber(bytes: try ArraySlice<UInt8>(derEncoded: &nodes))
                _ = try asn1Time(try requiredNode(&nodes, "revocationDate"))
                if let extensions = nodes.next() {
                    _ = try DER.sequence(of: Certificate.Extension.self, identifier: .sequence, rootNode: extensions)
                }
                return serial
            }
        }
    }
}

private func requiredNode(_ nodes: inout ASN1NodeCollection.Iterator, _ element: String) throws -> ASN1Node {
    guard let node = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "\(element) is missing") }
    return node
}

/// A UTCTime or GeneralizedTime (RFC 5280 §5.1.2.4) as a date.
private func asn1Time(_ node: ASN1Node) throws -> Date {
    let fields: (Int, Int, Int, Int, Int, Int)
    switch node.identifier {
    case UTCTime.defaultIdentifier:
        let time = try UTCTime(derEncoded: node)
        fields = (time.year, time.month, time.day, time.hours, time.minutes, time.seconds)
    case GeneralizedTime.defaultIdentifier:
        let time = try GeneralizedTime(derEncoded: node)
        fields = (time.year, time.month, time.day, time.hours, time.minutes, time.seconds)
    default:
        throw ASN1Error.unexpectedFieldType(node.identifier)
    }
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = .gmt
    let components = DateComponents(year: fields.0, month: fields.1, day: fields.2, hour: fields.3, minute: fields.4, second: fields.5)
    guard let date = calendar.date(from: components) else { throw ASN1Error.invalidASN1Object(reason: "time out of range") }
    return date
}
