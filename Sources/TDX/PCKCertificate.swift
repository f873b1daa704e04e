import SwiftASN1
import X509

/// A PCK (Provisioning Certification Key) leaf certificate with its decoded Intel SGX extensions
/// (Intel SGX PCK Certificate and Certificate Revocation List Profile Specification, §3.5 "PCK
/// Certificate" and §3.5.1 "Intel SGX Extensions", OID 1.2.840.113741.1.13.1).
public struct PCKCertificate: Sendable, Hashable {
    /// The X.509 certificate.
    public let certificate: Certificate
    /// The decoded SGX extensions.
    public let extensions: SGXExtensions

    /// Decodes the SGX extensions of `certificate`, which must carry them.
    public init(_ certificate: Certificate) throws(TDXError) {
        guard let found = certificate.extensions[oid: SGXExtensions.oid] else {
            throw .pckExtensionInvalid(oid: "\(SGXExtensions.oid)", reason: "the certificate does not carry it")
        }
        self.certificate = certificate
        self.extensions = try SGXExtensions(derEncoded: found.value)
    }
}

/// The Intel SGX extensions of a PCK certificate (PCK Certificate and CRL Profile, §3.5.1, table
/// "Intel SGX Extensions"): the platform's identity and the TCB the certificate was issued for.
public struct SGXExtensions: Sendable, Hashable {
    /// The extension's OID, sgxExtensions.
    public static let oid: ASN1ObjectIdentifier = [1, 2, 840, 113741, 1, 13, 1]

    /// The SGX type of the platform (table entry "SGX Type").
    public enum SGXType: Int, Sendable, Hashable {
        case standard = 0
        case scalable = 1
        case scalableWithIntegrity = 2
    }

    /// Platform configuration flags, present in PCK Platform CA certificates ("Configuration").
    public struct Configuration: Sendable, Hashable {
        public let dynamicPlatform: Bool?
        public let cachedKeys: Bool?
        public let smtEnabled: Bool?
    }

    /// PPID (.1, 16 bytes): the platform provisioning ID.
    public let ppid: [UInt8]
    /// TCB (.2): SGX TCB component SVNs 1–16 (.2.1–.2.16), PCESVN (.2.17) and CPUSVN (.2.18).
    public let tcb: PCKTCB
    /// PCE-ID (.3, 2 bytes).
    public let pceID: [UInt8]
    /// FMSPC (.4, 6 bytes): family-model-stepping-platform-custom SKU, the key of the TCB Info.
    public let fmspc: [UInt8]
    /// SGX Type (.5).
    public let sgxType: SGXType
    /// PlatformInstanceID (.6, 16 bytes), in certificates the PCK Platform CA issues.
    public let platformInstanceID: [UInt8]?
    /// Configuration (.7), in certificates the PCK Platform CA issues.
    public let configuration: Configuration?

    init(derEncoded bytes: ArraySlice<UInt8>) throws(TDXError) {
        let entries = try Self.entries(bytes, base: Self.oid.oidComponents)
        self.ppid = try entries.octets(1, count: 16)
        self.tcb = try PCKTCB(try entries.required(2))
        self.pceID = try entries.octets(3, count: 2)
        self.fmspc = try entries.octets(4, count: 6)
        let typeValue = try entries.decode(5) { try Int(derEncoded: $0, withIdentifier: .enumerated) }
        guard let sgxType = SGXType(rawValue: typeValue) else {
            throw .pckExtensionInvalid(oid: "\(Self.oid).5", reason: "unknown SGX type \(typeValue)")
        }
        self.sgxType = sgxType
        self.platformInstanceID = entries.has(6) ? try entries.octets(6, count: 16) : nil
        if entries.has(7) {
            let flags = try Self.entries(try entries.required(7), base: Self.oid.oidComponents + [7])
            self.configuration = Configuration(
                dynamicPlatform: try flags.optionalBool(1), cachedKeys: try flags.optionalBool(2), smtEnabled: try flags.optionalBool(3))
        } else {
            self.configuration = nil
        }
    }

    /// Decodes `SEQUENCE OF SEQUENCE { OID, value }` whose OIDs are `base.n`, refusing other or
    /// repeated OIDs.
    static func entries(_ der: some RandomAccessCollection<UInt8>, base: [UInt]) throws(TDXError) -> Entries {
        do {
            return try Self.entries(try DER.parse(Array(der)), base: base)
        } catch let error as TDXError {
            throw error
        } catch {
            throw .pckExtensionInvalid(oid: dotted(base), reason: String(describing: error))
        }
    }

    static func entries(_ node: ASN1Node, base: [UInt]) throws(TDXError) -> Entries {
        do {
            var values: [UInt: ASN1Node] = [:]
            try DER.sequence(node, identifier: .sequence) { nodes in
                while let entry = nodes.next() {
                    let (oid, value) = try DER.sequence(entry, identifier: .sequence) { inner in
                        let oid = try ASN1ObjectIdentifier(derEncoded: &inner)
                        guard let value = inner.next(), inner.next() == nil else {
                            throw TDXError.pckExtensionInvalid(oid: "\(oid)", reason: "an entry is not an OID and one value")
                        }
                        return (oid, value)
                    }
                    let arcs = oid.oidComponents
                    guard arcs.count == base.count + 1, arcs.starts(with: base), let arc = arcs.last else {
                        throw TDXError.pckExtensionInvalid(oid: "\(oid)", reason: "it is not an entry of \(dotted(base))")
                    }
                    guard values.updateValue(value, forKey: arc) == nil else {
                        throw TDXError.pckExtensionInvalid(oid: "\(oid)", reason: "it occurs twice")
                    }
                }
            }
            return Entries(base: base, values: values)
        } catch let error as TDXError {
            throw error
        } catch {
            throw .pckExtensionInvalid(oid: dotted(base), reason: String(describing: error))
        }
    }

    /// The entries of one level of the extension, by last OID arc.
    struct Entries {
        let base: [UInt]
        let values: [UInt: ASN1Node]

        func has(_ arc: UInt) -> Bool { self.values[arc] != nil }

        func required(_ arc: UInt) throws(TDXError) -> ASN1Node {
            guard let node = self.values[arc] else {
                throw .pckExtensionInvalid(oid: dotted(self.base + [arc]), reason: "it is missing")
            }
            return node
        }

        func decode<T>(_ arc: UInt, _ body: (ASN1Node) throws -> T) throws(TDXError) -> T {
            let node = try self.required(arc)
            do {
                return try body(node)
            } catch {
                throw .pckExtensionInvalid(oid: dotted(self.base + [arc]), reason: String(describing: error))
            }
        }

        func octets(_ arc: UInt, count: Int) throws(TDXError) -> [UInt8] {
            let value = try self.decode(arc) { try ASN1OctetString(derEncoded: $0) }
            guard value.bytes.count == count else {
                throw .pckExtensionInvalid(oid: dotted(self.base + [arc]), reason: "it has \(value.bytes.count) bytes, not \(count)")
            }
            return Array(value.bytes)
        }

        func integer<T: FixedWidthInteger>(_ arc: UInt, as _: T.Type) throws(TDXError) -> T {
            let value = try self.decode(arc) { try Int(derEncoded: $0) }
            guard let fitted = T(exactly: value) else {
                throw .pckExtensionInvalid(oid: dotted(self.base + [arc]), reason: "\(value) is out of range")
            }
            return fitted
        }

        func optionalBool(_ arc: UInt) throws(TDXError) -> Bool? {
            self.has(arc) ? try self.decode(arc) { try Bool(derEncoded: $0) } : nil
        }
    }
}

/// The TCB a PCK certificate was issued for (PCK Certificate and CRL Profile, §3.5.1, "TCB").
public struct PCKTCB: Sendable, Hashable {
    /// SGX TCB Comp01–16 SVN, in order: compared with a TCB level's `sgxtcbcomponents`.
    public let sgxComponentSVNs: [UInt8]
    /// PCESVN.
    public let pceSVN: UInt16
    /// CPUSVN (16 bytes), the raw value the components were derived from.
    public let cpuSVN: [UInt8]

    init(_ node: ASN1Node) throws(TDXError) {
        let entries = try SGXExtensions.entries(node, base: SGXExtensions.oid.oidComponents + [2])
        var components: [UInt8] = []
        for arc in UInt(1)...16 {
            components.append(try entries.integer(arc, as: UInt8.self))
        }
        self.sgxComponentSVNs = components
        self.pceSVN = try entries.integer(17, as: UInt16.self)
        self.cpuSVN = try entries.octets(18, count: 16)
    }
}

/// An OID in dotted form, for error messages.
private func dotted(_ arcs: [UInt]) -> String {
    arcs.map(String.init).joined(separator: ".")
}
