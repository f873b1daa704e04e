import Crypto
import Foundation
import SwiftASN1
import TDX
import TestSupport
import X509

/// A SYNTHETIC Intel-like TDX platform for tests: a throwaway root CA, PCK Platform CA, PCK leaf
/// and TCB signing certificate generated at test time, and quotes, TCB Info, QE Identity and CRLs
/// signed with them. Real collateral (TCB Info, QE Identity, CRLs) for the real Azure quote was not
/// available, so the collateral code paths are exercised with these. Nothing here is trusted unless
/// a test passes ``anchor`` to the verifier explicitly; every name says "synthetic test".
///
/// Shared by the TDX, Attestation and AttestationServer tests (this target is test support only;
/// no library depends on it).
public struct SyntheticPlatform: Sendable {
    public static let notBefore = ISO8601DateFormatter().date(from: "2024-01-01T00:00:00Z")!
    public static let notAfter = ISO8601DateFormatter().date(from: "2034-01-01T00:00:00Z")!
    /// Inside every synthetic validity period and collateral window.
    public static let time = ISO8601DateFormatter().date(from: "2025-06-01T00:00:00Z")!
    /// The MRSIGNER of Intel's TD QE, as the Azure quote's QE report carries it.
    public static let qeMRSigner = [UInt8](hex: "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5")

    public let rootKey = P256.Signing.PrivateKey()
    public let platformCAKey = P256.Signing.PrivateKey()
    public let pckKey = P256.Signing.PrivateKey()
    public let tcbSignerKey = P256.Signing.PrivateKey()
    public let root: Certificate
    public let platformCA: Certificate
    public let pck: Certificate
    public let tcbSigner: Certificate
    public let anchor: TDXTrustAnchor

    /// The TCB the PCK certificate certifies.
    public struct PCKTCBSpec: Sendable {
        public var sgxComponents: [Int] = [6, 6, 2, 2, 3, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0]
        public var pceSVN = 11
        public var fmspc = [UInt8](hex: "00806f050000")
        public var pceID = [UInt8](hex: "0000")

        public init() {}
    }

    public init(pckTCB: PCKTCBSpec = PCKTCBSpec(), pckNotAfter: Date = Self.notAfter) throws {
        let rootName = try Self.name("Synthetic SGX Root CA (synthetic test, untrusted)")
        let caName = try Self.name("Synthetic SGX PCK Platform CA (synthetic test)")
        self.root = try Self.certificate(
            subject: rootName, issuer: rootName, key: self.rootKey.publicKey, signer: self.rootKey, isCA: true, serial: 1)
        self.platformCA = try Self.certificate(
            subject: caName, issuer: rootName, key: self.platformCAKey.publicKey, signer: self.rootKey, isCA: true, serial: 2)
        self.pck = try Self.certificate(
            subject: try Self.name("Synthetic SGX PCK Certificate (synthetic test)"), issuer: caName, key: self.pckKey.publicKey,
            signer: self.platformCAKey, isCA: false, serial: 3, notAfter: pckNotAfter,
            extra: [Certificate.Extension(oid: SGXExtensions.oid, critical: false, value: try Self.sgxExtensions(pckTCB)[...])])
        self.tcbSigner = try Self.certificate(
            subject: try Self.name("Synthetic SGX TCB Signing (synthetic test)"), issuer: rootName, key: self.tcbSignerKey.publicKey,
            signer: self.rootKey, isCA: false, serial: 4)
        self.anchor = try TDXTrustAnchor(name: "synthetic test root", derEncodedRoot: try Self.der(self.root))
    }

    public static func name(_ commonName: String) throws -> DistinguishedName {
        try DistinguishedName {
            CommonName(commonName)
            OrganizationName("CVMKit synthetic test CA")
        }
    }

    public static func certificate(
        subject: DistinguishedName, issuer: DistinguishedName, key: P256.Signing.PublicKey, signer: P256.Signing.PrivateKey, isCA: Bool,
        serial: Int, notAfter: Date = Self.notAfter, extra: [Certificate.Extension] = []
    ) throws -> Certificate {
        var extensions = try Certificate.Extensions {
            Critical(isCA ? BasicConstraints.isCertificateAuthority(maxPathLength: nil) : BasicConstraints.notCertificateAuthority)
        }
        for item in extra { try extensions.append(item) }
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(bytes: [UInt8(serial)]), publicKey: .init(key),
            notValidBefore: Self.notBefore, notValidAfter: notAfter, issuer: issuer, subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: .init(signer))
    }

    public static func der(_ certificate: Certificate) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return serializer.serializedBytes
    }

    public static func pem(_ certificates: [Certificate]) throws -> String {
        try certificates.map { try $0.serializeAsPEM().pemString }.joined(separator: "\n") + "\n"
    }

    /// The Intel SGX extensions (PCK Certificate and CRL Profile §3.5.1) for `tcb`.
    public static func sgxExtensions(_ tcb: PCKTCBSpec) throws -> [UInt8] {
        let base: [UInt] = [1, 2, 840, 113741, 1, 13, 1]
        func oid(_ arcs: [UInt]) throws -> ASN1ObjectIdentifier { try ASN1ObjectIdentifier(elements: base + arcs) }
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { coder in
            try coder.appendConstructedNode(identifier: .sequence) { entry in
                try entry.serialize(try oid([1]))
                try entry.serialize(ASN1OctetString(contentBytes: [UInt8](repeating: 0xA1, count: 16)[...]))
            }
            try coder.appendConstructedNode(identifier: .sequence) { entry in
                try entry.serialize(try oid([2]))
                try entry.appendConstructedNode(identifier: .sequence) { components in
                    for (index, svn) in tcb.sgxComponents.enumerated() {
                        try components.appendConstructedNode(identifier: .sequence) { item in
                            try item.serialize(try oid([2, UInt(index + 1)]))
                            try item.serialize(svn)
                        }
                    }
                    try components.appendConstructedNode(identifier: .sequence) { item in
                        try item.serialize(try oid([2, 17]))
                        try item.serialize(tcb.pceSVN)
                    }
                    try components.appendConstructedNode(identifier: .sequence) { item in
                        try item.serialize(try oid([2, 18]))
                        try item.serialize(ASN1OctetString(contentBytes: tcb.sgxComponents.map { UInt8($0) }[...]))
                    }
                }
            }
            for (arc, bytes) in [(UInt(3), tcb.pceID), (4, tcb.fmspc)] {
                try coder.appendConstructedNode(identifier: .sequence) { entry in
                    try entry.serialize(try oid([arc]))
                    try entry.serialize(ASN1OctetString(contentBytes: bytes[...]))
                }
            }
            try coder.appendConstructedNode(identifier: .sequence) { entry in
                try entry.serialize(try oid([5]))
                try 0.serialize(into: &entry, withIdentifier: .enumerated)
            }
        }
        return serializer.serializedBytes
    }

    // MARK: Quotes

    /// The fields of a synthetic quote.
    public struct QuoteSpec: Sendable {
        public var version: UInt16
        public var bodyType: UInt16
        /// TDX module SVN 5, major version 3 (identity "TDX_03"), then the other TDX components.
        public var teeTCBSVN = [UInt8](hex: "05030500000000000000000000000000")
        public var mrSignerSEAM = [UInt8](repeating: 0, count: 48)
        public var seamAttributes: UInt64 = 0
        public var tdAttributes: UInt64 = 0x1000_0000
        public var mrTD = [UInt8](repeating: 0x11, count: 48)
        public var rtmrs = (0..<4).map { [UInt8](repeating: UInt8(0x20 + $0), count: 48) }
        public var reportData = [UInt8](repeating: 0x42, count: 64)
        public var qeISVSVN: UInt16 = 4
        public var qeMRSigner = SyntheticPlatform.qeMRSigner
        public var qeMiscSelect: UInt32 = 0
        public var qeAttributes = [UInt8](hex: "1500000000000000e700000000000000")
        public var authenticationData = [UInt8](0..<32)
        /// QE REPORTDATA bytes 32–63, zero in genuine quotes.
        public var qeReportDataTail = [UInt8](repeating: 0, count: 32)
        /// Sign the QE report with this key instead of the PCK key.
        public var qeReportSigner: P256.Signing.PrivateKey?
        /// Sign the quote with this key instead of the attestation key.
        public var quoteSigner: P256.Signing.PrivateKey?
        /// Certification data inside the QE report certification data, instead of the PEM chain.
        public var nestedCertification: (type: UInt16, data: [UInt8])?

        /// A quote of this version (4 or 5) and, for version 5, body type (2 or 3).
        public init(version: UInt16 = 4, bodyType: UInt16 = 2) {
            self.version = version
            self.bodyType = bodyType
        }
    }

    public func quote(_ spec: QuoteSpec = QuoteSpec()) throws -> [UInt8] {
        var signed: [UInt8] = []
        signed.le(spec.version)
        signed.le(UInt16(2))
        signed.le(UInt32(0x81))
        signed.le(UInt32(0))
        signed += TDXQuoteHeader.intelQEVendorID + [UInt8](repeating: 0xEE, count: 20)
        if spec.version == 5 {
            signed.le(spec.bodyType)
            signed.le(UInt32(spec.bodyType == 3 ? 648 : 584))
        }
        signed += spec.teeTCBSVN + [UInt8](repeating: 0x5E, count: 48) + spec.mrSignerSEAM
        signed.le(spec.seamAttributes)
        signed.le(spec.tdAttributes)
        signed.le(UInt64(0x618E7))
        signed += spec.mrTD + [UInt8](repeating: 0, count: 48 * 3) + spec.rtmrs.joined() + spec.reportData
        if spec.bodyType == 3 {
            signed += [UInt8](repeating: 0x07, count: 16) + [UInt8](repeating: 0, count: 48)
        }
        let attestationKey = P256.Signing.PrivateKey()
        let attestationPublic = Array(attestationKey.publicKey.rawRepresentation)
        var qeReport = [UInt8](repeating: 0x06, count: 16)
        qeReport.le(spec.qeMiscSelect)
        qeReport += [UInt8](repeating: 0, count: 28) + spec.qeAttributes + [UInt8](repeating: 0x3C, count: 32)
        qeReport += [UInt8](repeating: 0, count: 32) + spec.qeMRSigner + [UInt8](repeating: 0, count: 96)
        qeReport.le(UInt16(2))
        qeReport.le(spec.qeISVSVN)
        qeReport += [UInt8](repeating: 0, count: 60)
        qeReport += Array(SHA256.hash(data: attestationPublic + spec.authenticationData)) + spec.qeReportDataTail
        let qeSignature = try (spec.qeReportSigner ?? self.pckKey).signature(for: qeReport).rawRepresentation
        let chainPEM = Array(try Self.pem([self.pck, self.platformCA, self.root]).utf8) + [0]
        let nested = spec.nestedCertification ?? (5, chainPEM)
        var certification = qeReport + qeSignature
        certification.le(UInt16(spec.authenticationData.count))
        certification += spec.authenticationData
        certification.le(nested.type)
        certification.le(UInt32(nested.data.count))
        certification += nested.data
        var signature = Array(try (spec.quoteSigner ?? attestationKey).signature(for: signed).rawRepresentation) + attestationPublic
        signature.le(UInt16(6))
        signature.le(UInt32(certification.count))
        signature += certification
        var quote = signed
        quote.le(UInt32(signature.count))
        return quote + signature
    }

    // MARK: Collateral

    /// A collateral document: `{"<key>":<body>,"signature":"<hex r||s>"}` signed by `signer`.
    public func signedDocument(key: String, body: String, signer: P256.Signing.PrivateKey? = nil) throws -> [UInt8] {
        let signature = try (signer ?? self.tcbSignerKey).signature(for: Array(body.utf8)).rawRepresentation
        return Array("{\"\(key)\":\(body),\"signature\":\"\(Array(signature).hex)\"}".utf8)
    }

    /// One platform TCB level of a synthetic TCB Info.
    public struct Level: Sendable {
        public var sgx: [Int]
        public var pceSVN: Int
        public var tdx: [Int]
        public var status: String
        public var advisories: [String]

        public init(
            sgx: [Int] = [6, 6, 2, 2, 3, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0], pceSVN: Int = 11,
            tdx: [Int] = [5, 3, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], status: String = "UpToDate", advisories: [String] = []
        ) {
            self.sgx = sgx
            self.pceSVN = pceSVN
            self.tdx = tdx
            self.status = status
            self.advisories = advisories
        }
    }

    /// A synthetic TCB Info body.
    public struct TCBInfoSpec: Sendable {
        public var id = "TDX"
        public var version = 3
        public var issueDate = "2025-05-01T00:00:00Z"
        public var nextUpdate = "2025-07-01T00:00:00Z"
        public var fmspc = "00806F050000"
        public var pceID = "0000"
        public var moduleMRSigner = String(repeating: "0", count: 96)
        public var moduleAttributesMask = "FFFFFFFFFFFFFFFF"
        /// TDX module identities: id and levels as (isvsvn, status, advisories).
        public var identities: [(id: String, levels: [(Int, String, [String])])] = [("TDX_03", [(5, "UpToDate", []), (3, "OutOfDate", ["INTEL-SA-00960"])])]
        public var levels: [Level] = [Level()]

        public init() {}
    }

    public func tcbInfoBody(_ spec: TCBInfoSpec) -> String {
        func components(_ svns: [Int]) -> String {
            "[" + svns.map { "{\"svn\":\($0),\"category\":\"BIOS\",\"type\":\"Early Microcode Update\"}" }.joined(separator: ",") + "]"
        }
        func advisories(_ ids: [String]) -> String { ids.isEmpty ? "" : ",\"advisoryIDs\":[" + ids.map { "\"\($0)\"" }.joined(separator: ",") + "]" }
        let module = "\"mrsigner\":\"\(spec.moduleMRSigner)\",\"attributes\":\"0000000000000000\",\"attributesMask\":\"\(spec.moduleAttributesMask)\""
        let identities = spec.identities.map { identity in
            let levels = identity.levels.map { "{\"tcb\":{\"isvsvn\":\($0.0)},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"\($0.1)\"\(advisories($0.2))}" }
            return "{\"id\":\"\(identity.id)\",\(module),\"tcbLevels\":[\(levels.joined(separator: ","))]}"
        }
        let levels = spec.levels.map { level in
            "{\"tcb\":{\"sgxtcbcomponents\":\(components(level.sgx)),\"pcesvn\":\(level.pceSVN),\"tdxtcbcomponents\":\(components(level.tdx))},"
                + "\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"\(level.status)\"\(advisories(level.advisories))}"
        }
        return "{\"id\":\"\(spec.id)\",\"version\":\(spec.version),\"issueDate\":\"\(spec.issueDate)\",\"nextUpdate\":\"\(spec.nextUpdate)\","
            + "\"fmspc\":\"\(spec.fmspc)\",\"pceId\":\"\(spec.pceID)\",\"tcbType\":0,\"tcbEvaluationDataNumber\":17,"
            + "\"tdxModule\":{\(module)},\"tdxModuleIdentities\":[\(identities.joined(separator: ","))],"
            + "\"tcbLevels\":[\(levels.joined(separator: ","))]}"
    }

    public func tcbInfo(_ spec: TCBInfoSpec = TCBInfoSpec()) throws -> TCBInfo {
        try TCBInfo(json: try self.signedDocument(key: "tcbInfo", body: self.tcbInfoBody(spec)))
    }

    /// A synthetic TD QE Identity body.
    public struct QEIdentitySpec: Sendable {
        public var id = "TD_QE"
        public var version = 2
        public var issueDate = "2025-05-01T00:00:00Z"
        public var nextUpdate = "2025-07-01T00:00:00Z"
        public var mrSigner = SyntheticPlatform.qeMRSigner.hex.uppercased()
        public var isvProdID = 2
        public var miscSelectMask = "FFFFFFFF"
        public var attributes = "11000000000000000000000000000000"
        public var attributesMask = "FBFFFFFFFFFFFFFF0000000000000000"
        public var levels: [(Int, String, [String])] = [(4, "UpToDate", []), (2, "OutOfDate", ["INTEL-SA-00615"])]

        public init() {}
    }

    public func qeIdentityBody(_ spec: QEIdentitySpec) -> String {
        let levels = spec.levels.map { level in
            "{\"tcb\":{\"isvsvn\":\(level.0)},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"\(level.1)\""
                + (level.2.isEmpty ? "" : ",\"advisoryIDs\":[" + level.2.map { "\"\($0)\"" }.joined(separator: ",") + "]") + "}"
        }
        return "{\"id\":\"\(spec.id)\",\"version\":\(spec.version),\"issueDate\":\"\(spec.issueDate)\",\"nextUpdate\":\"\(spec.nextUpdate)\","
            + "\"tcbEvaluationDataNumber\":17,\"miscselect\":\"00000000\",\"miscselectMask\":\"\(spec.miscSelectMask)\","
            + "\"attributes\":\"\(spec.attributes)\",\"attributesMask\":\"\(spec.attributesMask)\",\"mrsigner\":\"\(spec.mrSigner)\","
            + "\"isvprodid\":\(spec.isvProdID),\"tcbLevels\":[\(levels.joined(separator: ","))]}"
    }

    public func qeIdentity(_ spec: QEIdentitySpec = QEIdentitySpec()) throws -> QEIdentity {
        try QEIdentity(json: try self.signedDocument(key: "enclaveIdentity", body: self.qeIdentityBody(spec)))
    }

    public func signingChain() throws -> TCBSigningChain {
        try TCBSigningChain(derOrPEM: Array(try Self.pem([self.tcbSigner, self.root]).utf8))
    }

    public func collateral(
        tcbInfo: TCBInfoSpec = TCBInfoSpec(), qeIdentity: QEIdentitySpec? = QEIdentitySpec(), pckCRL: IntelRevocationList? = nil,
        rootCACRL: IntelRevocationList? = nil
    ) throws -> TDXCollateral {
        TDXCollateral(
            tcbInfo: try self.tcbInfo(tcbInfo), qeIdentity: try qeIdentity.map { try self.qeIdentity($0) },
            tcbSigningChain: try self.signingChain(), pckCRL: pckCRL, rootCACRL: rootCACRL)
    }

    /// An X.509 v2 CRL (RFC 5280 §5.1) issued by `issuer`, signed ecdsa-with-SHA256 by `key`.
    public static func revocationList(
        issuer: Certificate, key: P256.Signing.PrivateKey, revoking serials: [Certificate.SerialNumber],
        thisUpdate: Date = ISO8601DateFormatter().date(from: "2025-05-01T00:00:00Z")!,
        nextUpdate: Date = ISO8601DateFormatter().date(from: "2025-07-01T00:00:00Z")!
    ) throws -> IntelRevocationList {
        let algorithm = try ASN1ObjectIdentifier(elements: [1, 2, 840, 10045, 4, 3, 2])
        func time(_ date: Date) throws -> UTCTime {
            let c = Calendar(identifier: .gregorian).dateComponents(in: .gmt, from: date)
            return try UTCTime(year: c.year!, month: c.month!, day: c.day!, hours: c.hour!, minutes: c.minute!, seconds: c.second!)
        }
        var tbs = DER.Serializer()
        try tbs.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(1)
            try coder.appendConstructedNode(identifier: .sequence) { try $0.serialize(algorithm) }
            try coder.serialize(issuer.subject)
            try coder.serialize(try time(thisUpdate))
            try coder.serialize(try time(nextUpdate))
            if !serials.isEmpty {
                try coder.appendConstructedNode(identifier: .sequence) { list in
                    for serial in serials {
                        try list.appendConstructedNode(identifier: .sequence) { entry in
                            try entry.serialize(ArraySlice(serial.bytes))
                            try entry.serialize(try time(thisUpdate))
                        }
                    }
                }
            }
        }
        let signature = try key.signature(for: tbs.serializedBytes).derRepresentation
        var list = DER.Serializer()
        try list.appendConstructedNode(identifier: .sequence) { coder in
            coder.serializeRawBytes(tbs.serializedBytes)
            try coder.appendConstructedNode(identifier: .sequence) { try $0.serialize(algorithm) }
            try coder.serialize(ASN1BitString(bytes: Array(signature)[...]))
        }
        return try IntelRevocationList(derEncoded: list.serializedBytes)
    }
}

/// Little-endian fields for building the synthetic structures.
extension [UInt8] {
    fileprivate mutating func le<T: FixedWidthInteger>(_ value: T) {
        for index in 0..<(T.bitWidth / 8) {
            self.append(UInt8(truncatingIfNeeded: value >> (8 * index)))
        }
    }
}
