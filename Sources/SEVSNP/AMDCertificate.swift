import Crypto
import EvidenceCore
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// One certificate of AMD's SEV-SNP hierarchy — ARK, ASK, ASVK, VCEK or VLEK — as issued by the
/// AMD Key Distribution Service (VCEK Certificate and KDS Interface Specification, pub. 57230,
/// "Certificate Chain" and "VCEK Certificate").
///
/// AMD signs every one of these with RSASSA-PSS (SHA-384, MGF1-SHA-384, 48-byte salt), which
/// `X509.Certificate` refuses to parse, and issues VCEKs with serial number 0. So the outer
/// structure is read here with swift-asn1 while names, keys and extensions use swift-certificates'
/// own types, and the signature is checked with `_CryptoExtras` RSA-PSS.
public struct AMDCertificate: Sendable, Hashable {
    /// The DER encoding.
    public let derBytes: [UInt8]
    /// The serial number; KDS issues every VCEK with serial 0.
    public let serialNumber: Certificate.SerialNumber
    /// The subject name.
    public let subject: DistinguishedName
    /// The issuer name.
    public let issuer: DistinguishedName
    /// Start of the validity period.
    public let notValidBefore: Date
    /// End of the validity period.
    public let notValidAfter: Date
    /// The subject public key: RSA-4096 for ARK/ASK/ASVK, ECDSA P-384 for VCEK/VLEK.
    public let publicKey: Certificate.PublicKey
    /// The certificate's extensions (RFC 5280 §4.1.2.9).
    public let extensions: Certificate.Extensions
    private let tbsBytes: ArraySlice<UInt8>
    private let signatureBytes: [UInt8]

    /// Every other property is decoded from the DER, so it alone is the certificate's identity
    /// (and comparing bytes is far cheaper than comparing parsed keys).
    public static func == (lhs: AMDCertificate, rhs: AMDCertificate) -> Bool {
        lhs.derBytes == rhs.derBytes
    }

    public func hash(into hasher: inout Hasher) {
        self.derBytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    /// Decodes a DER certificate; `role` names it in errors ("VCEK", "ASK", …).
    public init(derEncoded der: some Collection<UInt8>, role: String = "certificate") throws(SNPError) {
        let der = Array(der)
        self.derBytes = der
        do {
            let signed = try SignedStructure(derEncoded: der)
            let (algorithm, fields) = try TBSFields.parse(signed.body)
            try AMDSigned.requireProfile(signed.algorithm.encodedBytes, innerAlgorithm: algorithm, name: fields.subject.commonName)
            self.tbsBytes = signed.body.encodedBytes
            self.signatureBytes = signed.signature
            self.serialNumber = fields.serialNumber
            self.subject = fields.subject
            self.issuer = fields.issuer
            self.notValidBefore = fields.notValidBefore
            self.notValidAfter = fields.notValidAfter
            self.publicKey = fields.publicKey
            self.extensions = fields.extensions
        } catch let error as SNPError {
            throw error
        } catch {
            throw .certificateMalformed(role: role, reason: String(describing: error))
        }
    }

    /// Decodes every certificate in a PEM text (one or more `CERTIFICATE` blocks).
    public static func certificates(pem: String, role: String = "certificate") throws(SNPError) -> [AMDCertificate] {
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: pem)
        } catch {
            throw .certificateMalformed(role: role, reason: String(describing: error))
        }
        var result: [AMDCertificate] = []
        for document in documents {
            result.append(try AMDCertificate(derEncoded: document.derBytes, role: role))
        }
        return result
    }

    /// Decodes DER or PEM bytes, whichever they are.
    public static func certificates(derOrPEM data: some Collection<UInt8>, role: String = "certificate") throws(SNPError) -> [AMDCertificate] {
        let bytes = Array(data)
        if bytes.first == 0x30 {
            return [try AMDCertificate(derEncoded: bytes, role: role)]
        }
        return try certificates(pem: String(decoding: bytes, as: UTF8.self), role: role)
    }

    /// The subject's common name, e.g. "ARK-Milan", "SEV-Milan" or "SEV-VCEK".
    public var commonName: String { self.subject.commonName }

    /// Whether `date` lies within the validity period.
    func requireValid(at date: Date) throws(SNPError) {
        guard self.notValidBefore <= date, date <= self.notValidAfter else {
            throw .certificateNotValidAtTime(
                subject: self.commonName, time: date, notBefore: self.notValidBefore, notAfter: self.notValidAfter)
        }
    }

    /// Checks that `issuer` is named as this certificate's issuer and that its RSA key verifies this
    /// certificate's RSASSA-PSS signature.
    func requireSigned(by issuer: AMDCertificate) throws(SNPError) {
        guard self.issuer == issuer.subject, AMDSigned.isValid(self.signatureBytes, over: self.tbsBytes, by: issuer) else {
            throw .certificateSignatureInvalid(subject: self.commonName, issuer: issuer.commonName)
        }
    }
}

/// How AMD signs everything KDS serves, certificates and CRLs alike: RSASSA-PSS, SHA-384,
/// MGF1-SHA-384, 48-byte salt.
enum AMDSigned {
    /// Requires the outer signature `algorithm` of a certificate or CRL to equal `innerAlgorithm`,
    /// the one its signed body names, and to be AMD's RSASSA-PSS profile. `name` names the object
    /// in errors.
    static func requireProfile(_ algorithm: ArraySlice<UInt8>, innerAlgorithm: ArraySlice<UInt8>, name: String) throws {
        guard innerAlgorithm == algorithm else {
            throw SNPError.certificateAlgorithmUnsupported(subject: name, reason: "the signed and the outer signature algorithms differ")
        }
        try RSAPSSParameters.requireAMDProfile(algorithm, subject: name)
    }

    /// Whether `issuer`'s RSA key verifies `signature`, RSASSA-PSS with SHA-384, over `body`.
    static func isValid(_ signature: [UInt8], over body: ArraySlice<UInt8>, by issuer: AMDCertificate) -> Bool {
        guard let key = _RSA.Signing.PublicKey(issuer.publicKey) else { return false }
        return key.isValidSignature(
            _RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA384.hash(data: body), padding: .PSS)
    }
}

/// The TBSCertificate fields this library reads (RFC 5280 §4.1).
private struct TBSFields {
    var serialNumber: Certificate.SerialNumber
    var issuer: DistinguishedName
    var notValidBefore: Date
    var notValidAfter: Date
    var subject: DistinguishedName
    var publicKey: Certificate.PublicKey
    var extensions: Certificate.Extensions

    /// Returns the encoded inner signature AlgorithmIdentifier and the fields.
    static func parse(_ node: ASN1Node) throws -> (ArraySlice<UInt8>, TBSFields) {
        try DER.sequence(node, identifier: .sequence) { nodes in
            _ = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) { try Int(derEncoded: $0) }
            let serialNumber = Certificate.SerialNumber(bytes: try ArraySlice<UInt8>(derEncoded: &nodes))
            guard let algorithm = nodes.next() else {
                throw ASN1Error.invalidASN1Object(reason: "tbsCertificate lacks signature")
            }
            let issuer = try DistinguishedName(derEncoded: try required(&nodes, "issuer"))
            let (notBefore, notAfter) = try DER.sequence(try required(&nodes, "validity"), identifier: .sequence) { times in
                (try readTime(try required(&times, "notBefore")), try readTime(try required(&times, "notAfter")))
            }
            let subject = try DistinguishedName(derEncoded: try required(&nodes, "subject"))
            let publicKey = try Certificate.PublicKey(derEncoded: &nodes)
            var extensions = Certificate.Extensions()
            while let next = nodes.next() {
                guard next.identifier == ASN1Identifier(tagWithNumber: 3, tagClass: .contextSpecific) else { continue }
                let list = try DER.explicitlyTagged(next, tagNumber: 3, tagClass: .contextSpecific) { inner in
                    try DER.sequence(of: Certificate.Extension.self, identifier: .sequence, rootNode: inner)
                }
                extensions = try Certificate.Extensions(list)
            }
            let fields = TBSFields(
                serialNumber: serialNumber, issuer: issuer, notValidBefore: notBefore, notValidAfter: notAfter, subject: subject,
                publicKey: publicKey, extensions: extensions)
            return (algorithm.encodedBytes, fields)
        }
    }
}

/// RSASSA-PSS-params (RFC 8017 §A.2.3) restricted to the profile AMD uses for every KDS
/// certificate: SHA-384, MGF1 with SHA-384, salt length 48, trailer field 1.
private enum RSAPSSParameters {
    static let rsassaPSS: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 10]
    static let mgf1: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 8]
    static let sha384: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 2]

    static func requireAMDProfile(_ encoded: ArraySlice<UInt8>, subject: String) throws {
        let root = try DER.parse(encoded)
        let (algorithm, hash, mgf, mgfHash, salt, trailer) = try DER.sequence(root, identifier: .sequence) { nodes in
            let algorithm = try ASN1ObjectIdentifier(derEncoded: &nodes)
            guard let parameters = nodes.next() else {
                throw SNPError.certificateAlgorithmUnsupported(subject: subject, reason: "RSASSA-PSS parameters are absent")
            }
            return try DER.sequence(parameters, identifier: .sequence) { fields in
                let hash = try DER.explicitlyTagged(&fields, tagNumber: 0, tagClass: .contextSpecific, digestAlgorithm)
                let (mgf, mgfHash) = try DER.explicitlyTagged(&fields, tagNumber: 1, tagClass: .contextSpecific) { node in
                    try DER.sequence(node, identifier: .sequence) { inner in
                        (try ASN1ObjectIdentifier(derEncoded: &inner), try digestAlgorithm(try required(&inner, "MGF1 hash")))
                    }
                }
                let salt = try DER.explicitlyTagged(&fields, tagNumber: 2, tagClass: .contextSpecific) { try Int(derEncoded: $0) }
                // AMD's ARKs and ASKs spell out trailerField = 1 although DER omits DEFAULT values.
                let trailer = try DER.optionalExplicitlyTagged(&fields, tagNumber: 3, tagClass: .contextSpecific) {
                    try Int(derEncoded: $0)
                } ?? 1
                return (algorithm, hash, mgf, mgfHash, salt, trailer)
            }
        }
        guard algorithm == rsassaPSS, hash == sha384, mgf == mgf1, mgfHash == sha384, salt == 48, trailer == 1 else {
            throw SNPError.certificateAlgorithmUnsupported(
                subject: subject,
                reason: "expected RSASSA-PSS with SHA-384, MGF1-SHA-384 and a 48-byte salt, found \(algorithm) "
                    + "hash \(hash) MGF \(mgf)/\(mgfHash) salt \(salt) trailer \(trailer)")
        }
    }

    /// The OID of a hash AlgorithmIdentifier whose parameters are absent or NULL.
    private static func digestAlgorithm(_ node: ASN1Node) throws -> ASN1ObjectIdentifier {
        try DER.sequence(node, identifier: .sequence) { nodes in
            let oid = try ASN1ObjectIdentifier(derEncoded: &nodes)
            if let parameters = nodes.next() { _ = try ASN1Null(derEncoded: parameters) }
            return oid
        }
    }
}
