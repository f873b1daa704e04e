import EvidenceCore
import Foundation

/// The certificate table an extended guest request returns beside the report: entries of a GUID,
/// a 32-bit offset and a 32-bit length (little-endian, offsets from the table start), ended by an
/// all-zero entry (GHCB Specification, pub. 56421, "SNP Extended Guest Request", certificate table;
/// GUIDs from the SEV-SNP Firmware ABI, pub. 56860, and the KDS specification, pub. 57230).
public struct SNPCertificateTable: Sendable, Hashable {
    /// Which key a table entry's certificate is for, by its GUID.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case vcek = "63da758d-e664-4564-adc5-f4b93be8accd"
        case ask = "4ab7b379-bbac-4fe4-a02f-05aef327c782"
        case ark = "c0b406a4-a803-4952-9743-3fb6014cd0ae"
        case vlek = "a8074bc2-a25a-483e-aae6-39c045a0b8a1"

        /// The GUID naming this kind.
        public var guid: UUID { UUID(uuidString: self.rawValue)! }
    }

    /// One table entry.
    public struct Entry: Sendable, Hashable {
        /// The entry's GUID as stored (RFC 4122 byte order).
        public let guid: UUID
        /// The certificate bytes the entry points at.
        public let data: [UInt8]
        /// The kind the GUID names, or nil for a GUID this library does not know.
        public var kind: Kind? { Kind.allCases.first { $0.guid == self.guid } }
    }

    /// Entries in table order, without the terminator.
    public let entries: [Entry]

    /// Parses a certificate table; bytes after the certificates are ignored.
    public init(bytes: some Collection<UInt8>) throws(SNPError) {
        let bytes = Array(bytes)
        var reader = LittleEndianReader<SNPError>(bytes)
        var headers: [(guid: [UInt8], offset: Int, length: Int)] = []
        while true {
            let guid = try reader.bytes(16, field: "certificate table entry GUID")
            let offset = Int(try reader.integer(UInt32.self, field: "certificate table entry offset"))
            let length = Int(try reader.integer(UInt32.self, field: "certificate table entry length"))
            if guid.allSatisfy({ $0 == 0 }) && offset == 0 && length == 0 { break }
            headers.append((guid, offset, length))
        }
        let headerEnd = reader.offset
        self.entries = try headers.map { header throws(SNPError) in
            guard header.offset >= headerEnd, header.offset + header.length <= bytes.count else {
                throw .certificateTableMalformed(
                    reason: "an entry spans 0x\(String(header.offset, radix: 16))+\(header.length) outside the "
                        + "\(bytes.count)-byte table's data area starting at 0x\(String(headerEnd, radix: 16))")
            }
            let guid = header.guid
            let uuid = UUID(uuid: (guid[0], guid[1], guid[2], guid[3], guid[4], guid[5], guid[6], guid[7],
                                   guid[8], guid[9], guid[10], guid[11], guid[12], guid[13], guid[14], guid[15]))
            return Entry(guid: uuid, data: Array(bytes[header.offset..<(header.offset + header.length)]))
        }
    }

    /// The certificates the table carries, decoded and arranged for ``SNPVerifier``.
    public func chain() throws(SNPError) -> SNPCertificateChain {
        var chain = SNPCertificateChain()
        for entry in self.entries {
            guard let kind = entry.kind else { continue }
            let certificate = try AMDCertificate(derEncoded: entry.data, role: kind.roleName)
            switch kind {
            case .vcek, .vlek: chain.endorsementKey = certificate
            case .ask: chain.intermediate = certificate
            case .ark: chain.root = certificate
            }
        }
        return chain
    }
}

extension SNPCertificateTable.Kind {
    var roleName: String { String(describing: self).uppercased() }
}

/// The certificates that accompany a report: the VCEK or VLEK that signed it and, optionally, the
/// ASK/ASVK and ARK above it (VCEK Certificate and KDS Interface Specification, pub. 57230,
/// "Certificate Chain"). Missing intermediates are taken from the verifier's trust anchors.
public struct SNPCertificateChain: Sendable, Hashable {
    /// The VCEK or VLEK certificate.
    public var endorsementKey: AMDCertificate?
    /// The ASK (for a VCEK) or ASVK (for a VLEK).
    public var intermediate: AMDCertificate?
    /// The ARK; if given it must be one of the trusted roots.
    public var root: AMDCertificate?

    /// Creates a chain from its parts.
    public init(endorsementKey: AMDCertificate? = nil, intermediate: AMDCertificate? = nil, root: AMDCertificate? = nil) {
        self.endorsementKey = endorsementKey
        self.intermediate = intermediate
        self.root = root
    }

    /// Sorts certificates into their roles: CN "SEV-VCEK" or "SEV-VLEK" is the endorsement key, a
    /// self-issued certificate is the root, anything else the intermediate. Later ones win.
    public init(sorting certificates: [AMDCertificate]) {
        for certificate in certificates {
            if ["SEV-VCEK", "SEV-VLEK"].contains(certificate.commonName) {
                self.endorsementKey = certificate
            } else if certificate.subject == certificate.issuer {
                self.root = certificate
            } else {
                self.intermediate = certificate
            }
        }
    }
}
