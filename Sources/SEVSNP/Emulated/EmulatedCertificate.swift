import Crypto
import SwiftASN1
import X509
import _CryptoExtras

/// Writes X.509 v3 certificates (RFC 5280 §4.1) in the shape AMD's Key Distribution Service
/// issues them (VCEK Certificate and KDS Interface Specification, pub. 57230, "Certificate Chain"):
/// signed with RSASSA-PSS, SHA-384, MGF1-SHA-384 and a 48-byte salt. swift-certificates'
/// `CertificateBuilder` cannot sign with RSA-PSS, so the TBSCertificate is written here with
/// swift-asn1.
struct EmulatedCertificateWriter {
    /// The signing issuer's name and RSA key.
    let issuer: DistinguishedName
    let issuerKey: _RSA.Signing.PrivateKey

    /// The certificate's fields other than the issuer, the signature and the validity, which is
    /// 2020-01-01 to the end of 2049, the last year a UTCTime expresses (RFC 5280 §4.1.2.5.1).
    struct Contents {
        var serialNumber: [UInt8]
        var subject: DistinguishedName
        var publicKey: Certificate.PublicKey
        var extensions: [Certificate.Extension]
    }

    /// The DER certificate: TBSCertificate, the RSASSA-PSS AlgorithmIdentifier, and the signature.
    func certificate(_ contents: Contents) throws -> [UInt8] {
        var tbs = DER.Serializer()
        try tbs.appendConstructedNode(identifier: .sequence) { fields in
            try fields.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) { try $0.serialize(2) }
            try fields.serialize(ArraySlice(contents.serialNumber))
            try Self.serializeAlgorithm(into: &fields)
            try fields.serialize(self.issuer)
            try fields.appendConstructedNode(identifier: .sequence) { validity in
                try validity.serialize(UTCTime(year: 2020, month: 1, day: 1, hours: 0, minutes: 0, seconds: 0))
                try validity.serialize(UTCTime(year: 2049, month: 12, day: 31, hours: 23, minutes: 59, seconds: 59))
            }
            try fields.serialize(contents.subject)
            try fields.serialize(contents.publicKey)
            if !contents.extensions.isEmpty {
                try fields.serialize(explicitlyTaggedWithTagNumber: 3, tagClass: .contextSpecific) {
                    try $0.serializeSequenceOf(contents.extensions)
                }
            }
        }
        return try self.signed(tbs.serializedBytes)
    }

    /// Wraps a signed body (TBSCertificate, or TBSCertList for a CRL) as
    /// SEQUENCE { body, RSASSA-PSS AlgorithmIdentifier, BIT STRING signature }.
    func signed(_ body: [UInt8]) throws -> [UInt8] {
        let signature = try self.issuerKey.signature(for: SHA384.hash(data: body), padding: .PSS)
        var outer = DER.Serializer()
        try outer.appendConstructedNode(identifier: .sequence) { fields in
            fields.serializeRawBytes(body)
            try Self.serializeAlgorithm(into: &fields)
            try fields.serialize(ASN1BitString(bytes: ArraySlice(signature.rawRepresentation)))
        }
        return outer.serializedBytes
    }

    /// RSASSA-PSS with its parameters spelled out as AMD does, trailer field included
    /// (RFC 8017 §A.2.3).
    static func serializeAlgorithm(into serializer: inout DER.Serializer) throws {
        let sha384: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 2]
        let hash = { (serializer: inout DER.Serializer) throws in
            try serializer.appendConstructedNode(identifier: .sequence) { algorithm in
                try algorithm.serialize(sha384)
                try algorithm.serialize(ASN1Null())
            }
        }
        try serializer.appendConstructedNode(identifier: .sequence) { identifier in
            try identifier.serialize([1, 2, 840, 113549, 1, 1, 10] as ASN1ObjectIdentifier)
            try identifier.appendConstructedNode(identifier: .sequence) { parameters in
                try parameters.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific, hash)
                try parameters.serialize(explicitlyTaggedWithTagNumber: 1, tagClass: .contextSpecific) { mgf in
                    try mgf.appendConstructedNode(identifier: .sequence) { mgf1 in
                        try mgf1.serialize([1, 2, 840, 113549, 1, 1, 8] as ASN1ObjectIdentifier)
                        try hash(&mgf1)
                    }
                }
                try parameters.serialize(explicitlyTaggedWithTagNumber: 2, tagClass: .contextSpecific) { try $0.serialize(48) }
                try parameters.serialize(explicitlyTaggedWithTagNumber: 3, tagClass: .contextSpecific) { try $0.serialize(1) }
            }
        }
    }
}
