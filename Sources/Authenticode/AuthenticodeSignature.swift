import SwiftASN1
import X509

/// One Authenticode signature: a PKCS#7 SignedData (RFC 5652 §5.1) whose encapsulated content is
/// an SpcIndirectDataContent carrying the image digest (Authenticode PE document, "PKCS #7
/// SignedData" and "SpcIndirectDataContent").
///
/// swift-certificates decodes the certificates and names; it does not expose its CMS types, so the
/// ContentInfo, SignedData, SignerInfo and SpcIndirectDataContent structures are decoded here.
public struct AuthenticodeSignature: Sendable {
    /// A SignerInfo (RFC 5652 §5.3).
    public struct SignerInfo: Sendable {
        /// The issuer of issuerAndSerialNumber, nil when the signer is named by subjectKeyIdentifier.
        public var issuer: DistinguishedName?
        /// The serial number of issuerAndSerialNumber (big-endian bytes).
        public var serialNumber: [UInt8]?
        /// The subjectKeyIdentifier [0] choice of SignerIdentifier.
        public var subjectKeyIdentifier: [UInt8]?
        public var digestAlgorithm: AuthenticodeHashAlgorithm
        /// The contentType authenticated attribute (RFC 5652 §11.1).
        public var contentType: ASN1ObjectIdentifier?
        /// The messageDigest authenticated attribute (RFC 5652 §11.2).
        public var messageDigest: [UInt8]?
        /// The signature over `signedAttributes`.
        public var signature: [UInt8]
        let signatureAlgorithm: ASN1ObjectIdentifier
        /// The DER encoding of the SignedAttributes as a SET OF (tag 0x31), which is what is signed (RFC 5652 §5.4).
        let signedAttributes: [UInt8]
    }

    /// Position of the WIN_CERTIFICATE in the attribute certificate table; 0 is the first.
    public var index: Int
    /// The algorithm of the DigestInfo in SpcIndirectDataContent.
    public var digestAlgorithm: AuthenticodeHashAlgorithm
    /// The image digest the signature covers.
    public var imageDigest: [UInt8]
    /// SignedData certificates (RFC 5652 §5.1), in order; other certificate formats are skipped.
    public var certificates: [Certificate]
    public var signerInfos: [SignerInfo]
    /// The value of SpcIndirectDataContent without its tag and length: Authenticode hashes only
    /// these bytes for the messageDigest attribute.
    let indirectDataContent: [UInt8]

    static let signedDataOID: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 7, 2]
    /// SPC_INDIRECT_DATA_OBJID.
    static let indirectDataOID: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 311, 2, 1, 4]
    static let contentTypeOID: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 3]
    static let messageDigestOID: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 4]

    /// Decodes the bCertificate of a PKCS_SIGNED_DATA WIN_CERTIFICATE.
    public init(der: [UInt8], index: Int) throws(AuthenticodeError) {
        self.index = index
        do {
            let root = try DER.parse(try Self.stripPadding(der, index: index))
            let signedData = try DER.sequence(root, identifier: .sequence) { nodes in
                // ContentInfo (RFC 5652 §3).
                guard try ASN1ObjectIdentifier(derEncoded: &nodes) == Self.signedDataOID else {
                    throw AuthenticodeError.malformedSignature(signature: index, reason: "ContentInfo contentType is not id-signedData")
                }
                return try DER.explicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) { $0 }
            }
            var eContent: ASN1Node?
            (eContent, certificates, signerInfos) = try DER.sequence(signedData, identifier: .sequence) { nodes in
                _ = try Int(derEncoded: &nodes)
                _ = try Self.set(&nodes)
                let content = try DER.sequence(Self.next(&nodes), identifier: .sequence) { encapsulated in
                    guard try ASN1ObjectIdentifier(derEncoded: &encapsulated) == Self.indirectDataOID else {
                        throw AuthenticodeError.malformedSignature(signature: index, reason: "eContentType is not SPC_INDIRECT_DATA_OBJID")
                    }
                    return try DER.optionalExplicitlyTagged(&encapsulated, tagNumber: 0, tagClass: .contextSpecific) { $0 }
                }
                let certificates = try DER.optionalImplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) { node in
                    try Self.children(node).filter { $0.identifier == .sequence }.map { try Certificate(derEncoded: $0) }
                } ?? []
                _ = DER.optionalImplicitlyTagged(&nodes, tagNumber: 1, tagClass: .contextSpecific) { $0 }
                return (content, certificates, try Self.set(&nodes).map { try SignerInfo(derEncoded: $0, signature: index) })
            }
            guard let content = eContent, content.identifier == .sequence else {
                throw AuthenticodeError.malformedSignature(signature: index, reason: "SpcIndirectDataContent is missing")
            }
            indirectDataContent = try Self.children(content).flatMap(\.encodedBytes)
            (digestAlgorithm, imageDigest) = try DER.sequence(content, identifier: .sequence) { nodes in
                _ = try ASN1Any(derEncoded: &nodes)
                return try DER.sequence(Self.next(&nodes), identifier: .sequence) { digestInfo in
                    let oid = try Self.algorithm(&digestInfo)
                    guard let algorithm = AuthenticodeHashAlgorithm(oid: oid) else {
                        throw AuthenticodeError.unsupportedAlgorithm(signature: index, oid: oid.description)
                    }
                    return (algorithm, Array(try ASN1OctetString(derEncoded: &digestInfo).bytes))
                }
            }
        } catch let error as AuthenticodeError {
            throw error
        } catch {
            throw .malformedSignature(signature: index, reason: "\(error)")
        }
    }

    /// The DER element at the start of bCertificate, without the zero bytes that pad a
    /// WIN_CERTIFICATE to a multiple of 8 bytes when dwLength counts them (PE/COFF §5.7).
    static func stripPadding(_ der: [UInt8], index: Int) throws(AuthenticodeError) -> ArraySlice<UInt8> {
        guard der.count >= 2 else { throw .malformedSignature(signature: index, reason: "bCertificate has \(der.count) bytes") }
        var length = Int(der[1])
        var header = 2
        if length & 0x80 != 0 {
            let octets = length & 0x7F
            guard (1...4).contains(octets), der.count >= 2 + octets else {
                throw .malformedSignature(signature: index, reason: "the SignedData length is not a definite DER length")
            }
            length = der[2..<2 + octets].reduce(0) { $0 << 8 | Int($1) }
            header += octets
        }
        guard header + length <= der.count, der[(header + length)...].allSatisfy({ $0 == 0 }) else {
            throw .malformedSignature(signature: index, reason: "the SignedData is \(header + length) bytes but bCertificate has \(der.count) bytes that are not all zero padding")
        }
        return der[..<(header + length)]
    }

    /// The elements of a constructed node.
    static func children(_ node: ASN1Node) throws -> [ASN1Node] {
        guard case .constructed(let nodes) = node.content else {
            throw ASN1Error.invalidASN1Object(reason: "\(node.identifier) is not constructed")
        }
        return Array(nodes)
    }

    /// The next node, which must be present.
    static func next(_ nodes: inout ASN1NodeCollection.Iterator) throws -> ASN1Node {
        guard let node = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "a required element is missing") }
        return node
    }

    /// The elements of the next node, which must be a SET OF.
    static func set(_ nodes: inout ASN1NodeCollection.Iterator) throws -> [ASN1Node] {
        let node = try next(&nodes)
        guard node.identifier == .set else { throw ASN1Error.invalidASN1Object(reason: "expected a SET, got \(node.identifier)") }
        return try children(node)
    }

    /// The OID of an AlgorithmIdentifier (RFC 5280 §4.1.1.2), ignoring its parameters.
    static func algorithm(_ nodes: inout ASN1NodeCollection.Iterator) throws -> ASN1ObjectIdentifier {
        try DER.sequence(next(&nodes), identifier: .sequence) { algorithm in
            let oid = try ASN1ObjectIdentifier(derEncoded: &algorithm)
            while algorithm.next() != nil {}
            return oid
        }
    }
}

extension AuthenticodeSignature.SignerInfo {
    /// SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm, signedAttrs [0] IMPLICIT,
    /// signatureAlgorithm, signature, unsignedAttrs [1] IMPLICIT } (RFC 5652 §5.3).
    init(derEncoded node: ASN1Node, signature index: Int) throws {
        self = try DER.sequence(node, identifier: .sequence) { nodes in
            _ = try Int(derEncoded: &nodes)
            var issuer: DistinguishedName?
            var serialNumber: [UInt8]?
            var keyIdentifier: [UInt8]?
            let sid = try AuthenticodeSignature.next(&nodes)
            if sid.identifier == .sequence {
                (issuer, serialNumber) = try DER.sequence(sid, identifier: .sequence) { names in
                    (try DistinguishedName(derEncoded: AuthenticodeSignature.next(&names)), Array(try ArraySlice<UInt8>(derEncoded: &names)))
                }
            } else {
                keyIdentifier = Array(try ASN1OctetString(derEncoded: sid, withIdentifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)).bytes)
            }
            let digestOID = try AuthenticodeSignature.algorithm(&nodes)
            guard let digestAlgorithm = AuthenticodeHashAlgorithm(oid: digestOID) else {
                throw AuthenticodeError.unsupportedAlgorithm(signature: index, oid: digestOID.description)
            }
            guard let attributes = DER.optionalImplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific, { $0 }) else {
                throw ASN1Error.invalidASN1Object(reason: "SignerInfo has no authenticated attributes, which Authenticode requires")
            }
            var contentType: ASN1ObjectIdentifier?
            var messageDigest: [UInt8]?
            for attribute in try AuthenticodeSignature.children(attributes) {
                try DER.sequence(attribute, identifier: .sequence) { fields in
                    let type = try ASN1ObjectIdentifier(derEncoded: &fields)
                    let values = try AuthenticodeSignature.set(&fields)
                    guard let node = values.first, values.count == 1 else { return }
                    if type == AuthenticodeSignature.contentTypeOID {
                        contentType = try ASN1ObjectIdentifier(derEncoded: node)
                    } else if type == AuthenticodeSignature.messageDigestOID {
                        messageDigest = Array(try ASN1OctetString(derEncoded: node).bytes)
                    }
                }
            }
            let signatureAlgorithm = try AuthenticodeSignature.algorithm(&nodes)
            let signature = Array(try ASN1OctetString(derEncoded: &nodes).bytes)
            _ = DER.optionalImplicitlyTagged(&nodes, tagNumber: 1, tagClass: .contextSpecific) { $0 }
            return Self(issuer: issuer, serialNumber: serialNumber, subjectKeyIdentifier: keyIdentifier,
                        digestAlgorithm: digestAlgorithm, contentType: contentType, messageDigest: messageDigest,
                        signature: signature, signatureAlgorithm: signatureAlgorithm,
                        signedAttributes: [0x31] + attributes.encodedBytes.dropFirst())
        }
    }

    /// Whether `certificate` is the one the SignerIdentifier names (RFC 5652 §5.3).
    func identifies(_ certificate: Certificate) -> Bool {
        if let issuer, let serialNumber {
            return certificate.issuer == issuer && Array(certificate.serialNumber.bytes) == serialNumber
        }
        let keyIdentifier = try? certificate.extensions.subjectKeyIdentifier?.keyIdentifier
        return keyIdentifier.map(Array.init) == subjectKeyIdentifier
    }
}
