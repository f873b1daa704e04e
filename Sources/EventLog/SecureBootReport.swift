import Crypto
import SwiftASN1
import X509

/// One entry of a signature database or of an authority event: an EFI_SIGNATURE_DATA (UEFI 2.10
/// §32.4.1) with its certificate or hash made readable.
public struct SignatureEntry: Sendable, Hashable, Encodable {
    /// What the signature data holds, from its EFI_SIGNATURE_LIST's SignatureType.
    public enum Kind: String, Sendable, Hashable, Encodable {
        /// EFI_CERT_X509_GUID: a DER certificate.
        case x509Certificate
        /// EFI_CERT_SHA256_GUID: the SHA-256 Authenticode digest of an image.
        case sha256
        /// Any other signature type (RSA-2048 keys, SHA-1, X.509 TBS hashes…).
        case other
    }

    public var kind: Kind
    /// The SignatureOwner GUID; nil for shim's bare-certificate authority events.
    public var owner: String?
    /// The certificate's subject and issuer (RFC 4514), for a certificate that decodes.
    public var subject: String?
    public var issuer: String?
    /// For a certificate, the SHA-256 fingerprint of its DER encoding; for a SHA-256 entry, the
    /// hash itself; otherwise the SHA-256 of the signature data. Lowercase hex.
    public var sha256: String

    init(_ signature: EFISignatureData, kind: Kind) {
        self.kind = kind
        owner = signature.owner?.description
        if kind == .sha256 {
            sha256 = signature.data.hexString
        } else {
            sha256 = Array(SHA256.hash(data: signature.data)).hexString
        }
        if kind == .x509Certificate, let names = signature.certificate.map({ ($0.subject, $0.issuer) }) ?? Self.names(signature.data) {
            subject = names.0.description
            issuer = names.1.description
        }
    }

    /// Subject and issuer read from the TBSCertificate (RFC 5280 §4.1.1.1: version [0], serial,
    /// signature, issuer, validity, subject) when swift-certificates refuses the certificate as a
    /// whole, as it does for the negative serial numbers of some firmware vendors' certificates.
    private static func names(_ der: [UInt8]) -> (DistinguishedName, DistinguishedName)? {
        guard let certificate = try? DER.parse(der), case .constructed(let parts) = certificate.content,
              let tbs = Array(parts).first, case .constructed(let fields) = tbs.content else { return nil }
        let elements = Array(fields).drop { $0.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) }
        guard elements.count >= 5 else { return nil }
        let (issuer, subject) = (elements[elements.startIndex + 2], elements[elements.startIndex + 4])
        guard let subjectName = try? DistinguishedName(derEncoded: subject), let issuerName = try? DistinguishedName(derEncoded: issuer) else { return nil }
        return (subjectName, issuerName)
    }
}

/// A measured Secure Boot policy variable: PK, KEK, db or dbx as logged by an
/// EV_EFI_VARIABLE_DRIVER_CONFIG event in PCR 7 (PFP v1.06 §3.3.4.8, UEFI_VARIABLE_DATA §10.2.3).
public struct SignatureDatabase: Sendable, Hashable, Encodable {
    /// PK, KEK, db or dbx.
    public var name: String
    /// The event that measured the variable.
    public var event: Int
    /// Every EFI_SIGNATURE_DATA of every EFI_SIGNATURE_LIST, in order; empty for an empty variable.
    public var entries: [SignatureEntry]

    public var certificates: [SignatureEntry] { entries.filter { $0.kind == .x509Certificate } }
    public var sha256Hashes: [String] { entries.filter { $0.kind == .sha256 }.map(\.sha256) }
}

/// An EV_EFI_VARIABLE_AUTHORITY event (PFP v1.06 §3.3.4.8 and §10.4.1): the db entry (or, from
/// shim, the vendor or MOK certificate) that verified a loaded image.
public struct SecureBootAuthority: Sendable, Hashable, Encodable {
    public var event: Int
    /// The variable the entry comes from: db for firmware verification; Shim, vendor_db or
    /// MokListRT when shim verified the image.
    public var variable: String
    public var entry: SignatureEntry
    /// The position in the measured db of the entry with the same certificate (or hash), when the
    /// variable is db and the log measured a db holding it.
    public var dbEntry: Int?
    /// The image load events this authority is assigned to (see `SecureBootReport`).
    public var images: [Int]
}

/// A PE/COFF image load: EV_EFI_BOOT_SERVICES_APPLICATION (PCR 4, PFP v1.06 §3.3.4.5),
/// EV_EFI_BOOT_SERVICES_DRIVER or EV_EFI_RUNTIME_SERVICES_DRIVER (PCR 2, §3.3.4.3). The digest is
/// the image's Authenticode digest (§10.4.4).
public struct LoadedImage: Sendable, Hashable, Encodable {
    public var event: Int
    public var pcrIndex: UInt32
    public var eventType: String
    /// The device path the image was loaded from; empty when shim or GRUB logged none.
    public var devicePath: String
    /// The logged SHA-256 (Authenticode) digest; nil if the log has no SHA-256 bank.
    public var sha256: String?
    /// The authority event assigned to the image, nil if none is logged for it (an authority
    /// is measured only once, so later images verified by the same entry have none).
    public var authority: Int?
    /// Whether the digest is a SHA-256 entry of the measured dbx; nil when the log has no SHA-256
    /// digest for the image or measures no dbx.
    public var inDbx: Bool?
}

/// The Secure Boot state a log records (PFP v1.06 §3.3.4.8): the SecureBoot variable, the
/// PK/KEK/db/dbx contents, the authorities that verified images, and the images loaded.
public struct SecureBootReport: Sendable, Hashable, Encodable {
    /// The SecureBoot variable (UEFI 2.10 §3.3) as measured by EV_EFI_VARIABLE_DRIVER_CONFIG;
    /// a variable measured with no data (absent) counts as off. Nil if the log does not measure it.
    public var secureBoot: Bool?
    /// PK, KEK, db and dbx in log order, those the log measures (the first measurement of each).
    public var databases: [SignatureDatabase]
    public var authorities: [SecureBootAuthority]
    public var images: [LoadedImage]

    public func database(_ name: String) -> SignatureDatabase? {
        databases.first { $0.name == name }
    }

    /// The images whose digest dbx revokes.
    public var imagesInDbx: [LoadedImage] { images.filter { $0.inDbx == true } }
}

extension EventLog {
    private static let policyDatabases: Set<String> = ["PK", "KEK", "db", "dbx"]

    /// Reads the Secure Boot configuration and verification record from the log.
    ///
    /// Variables are found by event type (EV_EFI_VARIABLE_DRIVER_CONFIG, EV_EFI_VARIABLE_AUTHORITY,
    /// PFP v1.06 §10.4.1), not by PCR index, so a TDX CCEL (where PCR 7 is RTMR[0]) reads the same.
    /// Authority events carry no reference to their image, and firmware and shim versions order
    /// them differently: EDK2 and recent shim measure the authority just before the image, older
    /// shim and GRUB-loaded images just after it. Each authority is therefore assigned to the
    /// image load nearest to it in log order (the earlier one on a tie). An authority is measured
    /// only once (§3.3.4.8), so images verified by an entry already measured have none. Authority
    /// events that hold no signature (shim's SbatLevel, MokListTrusted) are not authorities.
    public func secureBootReport() -> SecureBootReport {
        var report = SecureBootReport(secureBoot: nil, databases: [], authorities: [], images: [])
        var authorityEvents: [(event: Int, variable: UEFIVariableData)] = []
        for event in events {
            switch (event.eventType, event.content) {
            case (.efiVariableDriverConfig, .variable(let variable)) where variable.unicodeName == "SecureBoot" && report.secureBoot == nil:
                report.secureBoot = variable.variableData.contains { $0 != 0 }
            case (.efiVariableDriverConfig, .variable(let variable)) where Self.policyDatabases.contains(variable.unicodeName):
                guard report.database(variable.unicodeName) == nil, case .signatureLists(let lists) = variable.value else { continue }
                let entries = lists.flatMap { list in list.signatures.map { SignatureEntry($0, kind: Self.kind(of: list.signatureType)) } }
                report.databases.append(SignatureDatabase(name: variable.unicodeName, event: event.index, entries: entries))
            case (.efiVariableAuthority, .variable(let variable)):
                authorityEvents.append((event.index, variable))
            case (_, .imageLoad(let image)):
                report.images.append(LoadedImage(
                    event: event.index, pcrIndex: event.pcrIndex, eventType: event.eventType.description,
                    devicePath: image.devicePath.description, sha256: event.digest(.sha256)?.hexString, authority: nil, inDbx: nil))
            default:
                continue
            }
        }
        let db = report.database("db")?.entries ?? []
        report.authorities = authorityEvents.compactMap { event, variable in
            guard let entry = Self.authorityEntry(variable) else { return nil }
            let dbEntry = variable.unicodeName == "db" ? db.firstIndex { $0.kind == entry.kind && $0.sha256 == entry.sha256 } : nil
            return SecureBootAuthority(event: event, variable: variable.unicodeName, entry: entry, dbEntry: dbEntry, images: [])
        }
        Self.assignAuthorities(&report)
        if let dbx = report.database("dbx") {
            let revoked = Set(dbx.sha256Hashes)
            for i in report.images.indices {
                report.images[i].inDbx = report.images[i].sha256.map(revoked.contains)
            }
        }
        return report
    }

    private static func kind(of signatureType: EFIGUID) -> SignatureEntry.Kind {
        switch signatureType {
        case .certX509: .x509Certificate
        case .certSHA256: .sha256
        default: .other
        }
    }

    /// The certificate or SHA-256 hash an authority event holds: EFI_SIGNATURE_DATA (owner and
    /// DER certificate or 32-byte hash) from firmware, or a bare DER certificate from shim.
    private static func authorityEntry(_ variable: UEFIVariableData) -> SignatureEntry? {
        if case .signature(let signature) = variable.value, signature.certificate != nil {
            return SignatureEntry(signature, kind: .x509Certificate)
        }
        guard variable.variableData.count == 48 else { return nil }
        let data = variable.variableData
        let hash = EFISignatureData(owner: EFIGUID(bytes: data.prefix(16)), data: data.dropFirst(16), isX509: false)
        return SignatureEntry(hash, kind: .sha256)
    }

    /// Assigns each authority to the image load nearest to it in log order, the earlier one on a tie.
    private static func assignAuthorities(_ report: inout SecureBootReport) {
        for authority in report.authorities.indices {
            let event = report.authorities[authority].event
            guard let image = report.images.indices.min(by: {
                (abs(report.images[$0].event - event), report.images[$0].event) < (abs(report.images[$1].event - event), report.images[$1].event)
            }) else { continue }
            report.authorities[authority].images.append(report.images[image].event)
            report.images[image].authority = event
        }
    }
}
