import Foundation
import SwiftASN1
import X509

/// An X.509 v2 certificate revocation list (RFC 5280 §5), decoded but not yet checked: the
/// structure AMD's KDS and Intel's PCS both serve. swift-certificates has no CRL type, so it is
/// read here with swift-asn1; which signature algorithm is acceptable and how the signature is
/// checked is left to the library whose vendor issues the list (AMD: RSASSA-PSS, Intel: ECDSA).
public struct CertificateRevocationList: Sendable, Hashable {
    /// The DER encoding.
    public let derBytes: [UInt8]
    /// The issuing CA.
    public let issuer: DistinguishedName
    /// When the list was issued.
    public let thisUpdate: Date
    /// When the next list is due, if stated.
    public let nextUpdate: Date?
    /// The serial numbers of the certificates the issuer revoked.
    public let revokedSerialNumbers: Set<Certificate.SerialNumber>
    /// The signed tbsCertList, as encoded.
    package let tbsBytes: ArraySlice<UInt8>
    /// tbsCertList.signature: the AlgorithmIdentifier the issuer names inside the signed part.
    package let tbsSignatureAlgorithm: ArraySlice<UInt8>
    /// The outer signatureAlgorithm AlgorithmIdentifier, as encoded.
    package let signatureAlgorithm: ArraySlice<UInt8>
    /// signatureValue's bytes.
    package let signatureBytes: [UInt8]

    /// Every other property is decoded from the DER, so it alone is the list's identity.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.derBytes == rhs.derBytes
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.derBytes)
    }

    /// Decodes a DER CertificateList (RFC 5280 §5.1); throws swift-asn1's errors and
    /// ``MalformedStructure``.
    private init(derEncoded der: [UInt8]) throws {
        self.derBytes = der
        let signed = try SignedStructure(derEncoded: der)
        self.tbsBytes = signed.body.encodedBytes
        self.signatureAlgorithm = signed.algorithm.encodedBytes
        self.signatureBytes = signed.signature
        (self.tbsSignatureAlgorithm, self.issuer, self.thisUpdate, self.nextUpdate, self.revokedSerialNumbers) =
            try DER.sequence(signed.body, identifier: .sequence) { nodes in
                // TBSCertList (RFC 5280 §5.1.2): version is present only in v2 lists.
                var next = try required(&nodes, "version or signature")
                if next.identifier == .integer {
                    guard try Int(derEncoded: next) == 1 else { throw ASN1Error.invalidASN1Object(reason: "the CRL version is not v2") }
                    next = try required(&nodes, "signature")
                }
                let issuer = try DistinguishedName(derEncoded: try required(&nodes, "issuer"))
                let thisUpdate = try readTime(try required(&nodes, "thisUpdate"))
                var following = nodes.next()
                var nextUpdate: Date?
                if let node = following, node.identifier == UTCTime.defaultIdentifier || node.identifier == GeneralizedTime.defaultIdentifier {
                    nextUpdate = try readTime(node)
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
                return (next.encodedBytes, issuer, thisUpdate, nextUpdate, revoked)
            }
    }

    /// Decodes a list given as DER or, when `allowingPEM`, as PEM with one `X509 CRL` block (AMD's
    /// KDS and Intel's PCS serve both), then runs the vendor's `check` of it (its signature
    /// algorithm). An error that is not already `Failure` becomes `malformed(reason)`, so each
    /// vendor's library reports a malformed list with its own error.
    package static func decode<Failure: Error>(
        _ data: some Collection<UInt8>, allowingPEM: Bool, malformed: (String) -> Failure, check: (Self) throws -> Void
    ) throws(Failure) -> Self {
        do {
            let list = try Self(derEncoded: allowingPEM ? try Self.derBytes(derOrPEM: Array(data)) : Array(data))
            try check(list)
            return list
        } catch let error as Failure {
            throw error
        } catch {
            throw malformed(String(describing: error))
        }
    }

    /// The DER of a list given as DER or as PEM with one `X509 CRL` block.
    private static func derBytes(derOrPEM bytes: [UInt8]) throws -> [UInt8] {
        if bytes.first == 0x30 {
            return bytes
        }
        let document = try PEMDocument(pemString: String(decoding: bytes, as: UTF8.self))
        guard document.discriminator == "X509 CRL" else {
            throw MalformedStructure(reason: "the PEM block is \(document.discriminator), not X509 CRL")
        }
        return document.derBytes
    }

    /// The issuer's common name, e.g. "ARK-Milan" or "Intel SGX PCK Platform CA".
    public var issuerName: String { self.issuer.commonName }

    /// Whether the list revokes the certificate with `serialNumber` issued by `issuer`: a list
    /// covers only certificates its own issuer signed (RFC 5280 §5: no indirect CRLs).
    package func revokes(serialNumber: Certificate.SerialNumber, issuer: DistinguishedName) -> Bool {
        issuer == self.issuer && self.revokedSerialNumbers.contains(serialNumber)
    }

    /// One revokedCertificates entry (RFC 5280 §5.1.2.6); only the serial number matters here.
    private struct RevokedCertificate: DERParseable {
        let serialNumber: Certificate.SerialNumber

        init(derEncoded node: ASN1Node) throws {
            self.serialNumber = try DER.sequence(node, identifier: .sequence) { nodes in
                let serial = Certificate.SerialNumber(bytes: try ArraySlice<UInt8>(derEncoded: &nodes))
                _ = try readTime(try required(&nodes, "revocationDate"))
                if let extensions = nodes.next() {
                    _ = try DER.sequence(of: Certificate.Extension.self, identifier: .sequence, rootNode: extensions)
                }
                return serial
            }
        }
    }
}

/// The SIGNED{…} shape that X.509 certificates and CRLs share (RFC 5280 §4.1 and §5.1):
/// SEQUENCE { body, signatureAlgorithm AlgorithmIdentifier, signatureValue BIT STRING }.
package struct SignedStructure {
    /// The signed body: tbsCertificate or tbsCertList.
    package let body: ASN1Node
    /// The outer signatureAlgorithm.
    package let algorithm: ASN1Node
    /// signatureValue's bytes, a whole number of them.
    package let signature: [UInt8]

    /// Splits a DER certificate or CRL; throws swift-asn1's errors and ``MalformedStructure``.
    package init(derEncoded der: [UInt8]) throws {
        let (body, algorithm, signature) = try DER.sequence(try DER.parse(der), identifier: .sequence) { nodes in
            (try required(&nodes, "the signed body"), try required(&nodes, "signatureAlgorithm"), try ASN1BitString(derEncoded: &nodes))
        }
        guard signature.paddingBits == 0 else { throw MalformedStructure(reason: "the signature BIT STRING has padding bits") }
        self.body = body
        self.algorithm = algorithm
        self.signature = Array(signature.bytes)
    }
}

/// A structural defect that swift-asn1 does not report itself; its description is the reason alone.
package struct MalformedStructure: Error, CustomStringConvertible {
    package let reason: String

    package init(reason: String) {
        self.reason = reason
    }

    package var description: String { self.reason }
}

/// The next node of a SEQUENCE, or an error naming the missing element.
package func required(_ nodes: inout ASN1NodeCollection.Iterator, _ element: String) throws -> ASN1Node {
    guard let node = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "\(element) is missing") }
    return node
}

/// Reads a `Time` (UTCTime or GeneralizedTime, RFC 5280 §4.1.2.5 and §5.1.2.4) as a UTC date.
package func readTime(_ node: ASN1Node) throws -> Date {
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

extension DistinguishedName {
    /// The first common name (CN) attribute, or the whole name when there is none.
    package var commonName: String {
        self.lazy.flatMap { $0 }.first { $0.type == .RDNAttributeType.commonName }.flatMap { String($0.value) } ?? self.description
    }
}

/// A vendor's revocation list over the shared decoding: `AMDRevocationList` and
/// `IntelRevocationList` add the signature algorithm their issuers use and their library's
/// errors, and read the list's fields through this.
public protocol VendorRevocationList: Sendable, Hashable {
    /// The decoded list.
    var list: CertificateRevocationList { get }
}

extension VendorRevocationList {
    /// The DER encoding.
    public var derBytes: [UInt8] { self.list.derBytes }
    /// The issuing CA.
    public var issuer: DistinguishedName { self.list.issuer }
    /// When the list was issued.
    public var thisUpdate: Date { self.list.thisUpdate }
    /// When the next list is due, if stated.
    public var nextUpdate: Date? { self.list.nextUpdate }
    /// The serial numbers of the certificates the issuer revoked.
    public var revokedSerialNumbers: Set<Certificate.SerialNumber> { self.list.revokedSerialNumbers }
    /// The issuer's common name, e.g. "ARK-Milan" or "Intel SGX PCK Platform CA".
    public var issuerName: String { self.list.issuerName }
}
