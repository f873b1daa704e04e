import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// A stand-in for an AMD Secure Processor and its certificate hierarchy, generated at run time
/// for tests and emulators: an "ARK-Emulated" RSA root, a "SEV-Emulated" ASK it signs, and a
/// "SEV-VCEK" P-384 certificate carrying the AMD VCEK extensions (VCEK Certificate and KDS Interface
/// Specification, pub. 57230, "VCEK Certificate" and its extensions table). The certificates have
/// the exact shape of AMD's — RSASSA-PSS, SHA-384, MGF1-SHA-384, 48-byte salt — and the chain signs
/// reports in the genuine 1184-byte format (SEV-SNP Firmware ABI, pub. 56860, §7.3).
///
/// Nothing here is trusted by default: only a verifier built with
/// `SNPVerifier(trustedRoots: [.emulated(chain)])` accepts these reports, and it names their root
/// "emulated (untrusted)".
public struct EmulatedSNPChain: Sendable {
    /// The self-signed root, subject "ARK-Emulated".
    public let ark: AMDCertificate
    /// The intermediate the root signed, subject "SEV-Emulated".
    public let ask: AMDCertificate
    /// The endorsement key certificate, subject "SEV-VCEK", signed by the ASK.
    public let vcek: AMDCertificate
    /// The product the VCEK's productName and the reports' CPUID name.
    public let product: SNPProduct
    /// The emulated chip's CHIP_ID, which the VCEK's hwID certifies.
    public let chipID: [UInt8]
    /// The TCB the VCEK certifies and the reports carry as REPORTED_TCB.
    public let tcb: TCBComponents
    /// The anchor ``SNPTrustAnchor/emulated(_:)`` returns.
    let anchor: SNPTrustAnchor
    let arkKey: _RSA.Signing.PrivateKey
    let askKey: _RSA.Signing.PrivateKey
    let vcekKey: P384.Signing.PrivateKey

    /// Generates fresh keys and certificates.
    ///
    /// - Parameters:
    ///   - product: the product to emulate; its TCB layout applies to `tcb`.
    ///   - chipID: the 64-byte CHIP_ID; random when nil.
    ///   - tcb: the SPLs to certify; on Turin `fmc` must be set.
    ///   - rsaKeySize: the ARK and ASK key size (AMD uses 4096 bits; smaller keys generate faster).
    public init(
        product: SNPProduct = .milan, chipID: [UInt8]? = nil,
        tcb: TCBComponents = TCBComponents(bootloader: 4, tee: 0, snp: 22, microcode: 213),
        rsaKeySize: _RSA.Signing.KeySize = .bits2048
    ) throws(SNPError) {
        let chipID = chipID ?? (0..<64).map { _ in UInt8.random(in: 0...255) }
        guard chipID.count == 64 else { throw .emulationFailed(reason: "CHIP_ID must be 64 bytes, not \(chipID.count)") }
        guard (tcb.fmc != nil) == (product == .turin) else {
            throw .emulationFailed(reason: "an FMC SPL exists on Turin and only there")
        }
        do {
            let arkKey = try _RSA.Signing.PrivateKey(keySize: rsaKeySize)
            let askKey = try _RSA.Signing.PrivateKey(keySize: rsaKeySize)
            let vcekKey = P384.Signing.PrivateKey()
            let arkName = try Self.name("ARK-Emulated")
            let askName = try Self.name("SEV-Emulated")
            let root = EmulatedCertificateWriter(issuer: arkName, issuerKey: arkKey)
            let intermediate = EmulatedCertificateWriter(issuer: askName, issuerKey: askKey)
            let ark = try AMDCertificate(derEncoded: try root.certificate(.init(
                serialNumber: Self.randomSerial(), subject: arkName,
                publicKey: Certificate.PublicKey(arkKey.publicKey), extensions: try Self.caExtensions())), role: "ARK")
            let ask = try AMDCertificate(derEncoded: try root.certificate(.init(
                serialNumber: Self.randomSerial(), subject: askName,
                publicKey: Certificate.PublicKey(askKey.publicKey), extensions: try Self.caExtensions())), role: "ASK")
            // KDS issues every VCEK with serial number 0.
            let vcek = try AMDCertificate(derEncoded: try intermediate.certificate(.init(
                serialNumber: [0], subject: try Self.name("SEV-VCEK"),
                publicKey: Certificate.PublicKey(vcekKey.publicKey),
                extensions: try Self.vcekExtensions(product: product, chipID: chipID, tcb: tcb))), role: "VCEK")
            try self.init(
                ark: ark, ask: ask, vcek: vcek, keys: (arkKey, askKey, vcekKey), product: product, chipID: chipID, tcb: tcb)
        } catch let error as SNPError {
            throw error
        } catch {
            throw .emulationFailed(reason: String(describing: error))
        }
    }

    /// A chain of the given certificates and keys, which the caller has matched.
    init(
        ark: AMDCertificate, ask: AMDCertificate, vcek: AMDCertificate,
        keys: (ark: _RSA.Signing.PrivateKey, ask: _RSA.Signing.PrivateKey, vcek: P384.Signing.PrivateKey),
        product: SNPProduct, chipID: [UInt8], tcb: TCBComponents
    ) throws(SNPError) {
        self.ark = ark
        self.ask = ask
        self.vcek = vcek
        (self.arkKey, self.askKey, self.vcekKey) = keys
        self.product = product
        self.chipID = chipID
        self.tcb = tcb
        self.anchor = try SNPTrustAnchor(name: SNPTrustAnchor.emulatedName, product: product, root: ark, intermediates: [ask])
    }

    /// The ARK, ASK and VCEK as the verifier takes them.
    public var certificates: SNPCertificateChain {
        SNPCertificateChain(endorsementKey: self.vcek, intermediate: self.ask, root: self.ark)
    }

    /// An X.509 v2 CRL (RFC 5280 §5.1) the ARK signs, as KDS serves at `/vcek/v1/{product}/crl`
    /// (pub. 57230), listing the serial numbers of `revoked` — meaningful for certificates the ARK
    /// signed, i.e. the ASK. It is dated 2024-01-01 with its next update due at the end of 2049.
    public func revocationList(revoking revoked: [AMDCertificate]) throws(SNPError) -> AMDRevocationList {
        do {
            let date = { (year: Int) in
                year < 2049 ? try UTCTime(year: year, month: 1, day: 1, hours: 0, minutes: 0, seconds: 0)
                    : try UTCTime(year: year, month: 12, day: 31, hours: 23, minutes: 59, seconds: 59)
            }
            var body = DER.Serializer()
            try body.appendConstructedNode(identifier: .sequence) { fields in
                try fields.serialize(1)
                try EmulatedCertificateWriter.serializeAlgorithm(into: &fields)
                try fields.serialize(self.ark.subject)
                try fields.serialize(try date(2024))
                try fields.serialize(try date(2049))
                guard !revoked.isEmpty else { return }
                try fields.appendConstructedNode(identifier: .sequence) { entries in
                    for certificate in revoked {
                        try entries.appendConstructedNode(identifier: .sequence) { entry in
                            try entry.serialize(certificate.serialNumber.bytes)
                            try entry.serialize(try date(2024))
                        }
                    }
                }
            }
            let writer = EmulatedCertificateWriter(issuer: self.ark.subject, issuerKey: self.arkKey)
            return try AMDRevocationList(derEncoded: try writer.signed(body.serializedBytes))
        } catch let error as SNPError {
            throw error
        } catch {
            throw .emulationFailed(reason: String(describing: error))
        }
    }

    /// A subject named like AMD's: the common name plus AMD's organization and address.
    private static func name(_ commonName: String) throws -> DistinguishedName {
        try DistinguishedName {
            OrganizationalUnitName("Engineering")
            CountryName("US")
            LocalityName("Santa Clara")
            StateOrProvinceName("CA")
            OrganizationName("Advanced Micro Devices (emulated)")
            CommonName(commonName)
        }
    }

    /// A positive 16-byte serial number.
    private static func randomSerial() -> [UInt8] {
        [0x01] + (0..<15).map { _ in UInt8.random(in: 0...255) }
    }

    /// The critical basicConstraints (CA) and keyUsage (certificate and CRL signing) that AMD's
    /// ARKs and ASKs carry.
    private static func caExtensions() throws -> [Certificate.Extension] {
        [try Certificate.Extension(BasicConstraints.isCertificateAuthority(maxPathLength: nil), critical: true),
         try Certificate.Extension(KeyUsage(keyCertSign: true, cRLSign: true), critical: true)]
    }

    /// The VCEK extensions of pub. 57230: structVersion, productName, the SPLs of the
    /// TCB (blSPL .3.1, teeSPL .3.2, snpSPL .3.3, ucodeSPL .3.8, fmcSPL .3.9 on Turin) and hwID —
    /// the whole CHIP_ID, or on Turin its first 8 bytes.
    private static func vcekExtensions(product: SNPProduct, chipID: [UInt8], tcb: TCBComponents) throws -> [Certificate.Extension] {
        let der = { (value: any DERSerializable) throws -> ArraySlice<UInt8> in
            var serializer = DER.Serializer()
            try serializer.serialize(value)
            return ArraySlice(serializer.serializedBytes)
        }
        let spl = { (arc: UInt, value: UInt8) throws in
            Certificate.Extension(oid: EndorsementExtensions.spl(arc), critical: false, value: try der(Int(value)))
        }
        var extensions = [
            Certificate.Extension(oid: [1, 3, 6, 1, 4, 1, 3704, 1, 1], critical: false, value: try der(1)),
            Certificate.Extension(
                oid: EndorsementExtensions.productName, critical: false,
                value: try der(try ASN1IA5String("\(product.rawValue)-B0"))),
            try spl(1, tcb.bootloader), try spl(2, tcb.tee), try spl(3, tcb.snp), try spl(8, tcb.microcode),
        ]
        if let fmc = tcb.fmc { extensions.append(try spl(9, fmc)) }
        let hwid = product == .turin ? Array(chipID.prefix(8)) : chipID
        extensions.append(Certificate.Extension(oid: EndorsementExtensions.hardwareID, critical: false, value: ArraySlice(hwid)))
        return extensions
    }
}

extension SNPTrustAnchor {
    /// The name verified reports give a root from ``emulated(_:)``.
    public static let emulatedName = "emulated (untrusted)"

    /// An anchor for an ``EmulatedSNPChain``: trusted only by a verifier given it explicitly, never
    /// part of ``amd``. Reports it vouches for name their root "emulated (untrusted)".
    public static func emulated(_ chain: EmulatedSNPChain) -> SNPTrustAnchor {
        chain.anchor
    }
}
