import Crypto
import SwiftASN1
import X509
import _CryptoExtras

/// An emulated host saved to a file and restored, so that VMs launched by separate processes are
/// signed by the same emulated chip and a verifier told about its root once keeps accepting them.
extension EmulatedSNPChain {
    /// The chain as PEM text (RFC 7468) that ``init(pemRepresentation:)`` restores: the ARK, ASK
    /// and VCEK certificates, then the ARK's and ASK's RSA private keys and the VCEK's P-384
    /// private key (PKCS #8, RFC 5208). A header and a line before each block say that these are
    /// emulated test keys; such explanatory text outside the blocks (RFC 7468 §5.2) is skipped by
    /// PEM readers, openssl among them.
    public var pemRepresentation: String {
        let certificates = [self.ark, self.ask, self.vcek].map { PEMDocument(type: "CERTIFICATE", derBytes: $0.derBytes).pemString }
        let keys = [self.arkKey.pkcs8PEMRepresentation, self.askKey.pkcs8PEMRepresentation, self.vcekKey.pemRepresentation]
        let blocks = zip(Self.savedBlocks, certificates + keys).map { "\($0.0.caption)\n\($0.1)\n" }
        return """
            CVMKit emulated AMD SEV-SNP host: EMULATED TEST KEYS, NOT AMD'S.
            Whoever holds this file can sign SEV-SNP reports that verify under its root, ARK-Emulated.
            Trust that root only in tests and demonstrations (cvm serve --allow-emulated --emulated-snp-root),
            and keep this file private.


            """ + blocks.joined(separator: "\n")
    }

    /// Restores a chain from ``pemRepresentation``. The product, CHIP_ID and TCB are read from the
    /// VCEK's AMD extensions (VCEK Certificate and KDS Interface Specification, pub. 57230); on
    /// Turin, whose VCEK certifies only the first 8 bytes of CHIP_ID, the rest of the restored
    /// CHIP_ID is zero.
    ///
    /// - Throws: ``SNPError/emulatedChainMalformed(reason:)`` unless the text holds exactly the
    ///   three certificates and three keys in that order; a certificate error when a certificate
    ///   does not decode or is not signed by the one above it (the ARK by itself);
    ///   ``SNPError/emulatedChainKeyMismatch(role:)`` when a key cannot sign for its certificate;
    ///   ``SNPError/endorsementExtensionInvalid(oid:reason:)`` when the VCEK's extensions are
    ///   missing or out of range.
    public init(pemRepresentation: String) throws(SNPError) {
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: pemRepresentation)
        } catch {
            throw .emulatedChainMalformed(reason: "it is not PEM text: \(error)")
        }
        let labels = documents.map(\.discriminator)
        guard labels == Self.savedBlocks.map(\.label) else {
            throw .emulatedChainMalformed(reason: "it holds the blocks [\(labels.joined(separator: ", "))] where three CERTIFICATE "
                + "blocks (ARK, ASK, VCEK) and then three PRIVATE KEY blocks (ARK, ASK, VCEK) belong")
        }
        let ark = try AMDCertificate(derEncoded: documents[0].derBytes, role: "emulated ARK")
        let ask = try AMDCertificate(derEncoded: documents[1].derBytes, role: "emulated ASK")
        let vcek = try AMDCertificate(derEncoded: documents[2].derBytes, role: "emulated VCEK")
        for (certificate, issuer) in [(ark, ark), (ask, ark), (vcek, ask)] {
            try certificate.requireSigned(by: issuer)
        }
        guard vcek.commonName == "SEV-VCEK" else {
            throw .emulatedChainMalformed(reason: "the third certificate is \(vcek.commonName), not a SEV-VCEK")
        }
        let keys = (ark: try Self.rsaKey(documents[3], role: "ARK", certificate: ark),
                    ask: try Self.rsaKey(documents[4], role: "ASK", certificate: ask),
                    vcek: try Self.vcekKey(documents[5], certificate: vcek))

        let extensions = EndorsementExtensions(vcek)
        let product = try extensions.product()
        let hwid = try extensions.hardwareID()
        let certifiedSize = product == .turin ? 8 : 64
        guard hwid.count == certifiedSize else {
            throw .endorsementExtensionInvalid(
                oid: "\(EndorsementExtensions.hardwareID)", reason: "hwID is \(hwid.count) bytes; a \(product.rawValue) VCEK certifies \(certifiedSize)")
        }
        try self.init(
            ark: ark, ask: ask, vcek: vcek, keys: keys, product: product,
            chipID: hwid + [UInt8](repeating: 0, count: 64 - hwid.count), tcb: try extensions.tcb(product: product))
    }

    /// The blocks of ``pemRepresentation`` in order: PEM label and the line written before it.
    private static let savedBlocks: [(label: String, caption: String)] = [
        ("CERTIFICATE", "Emulated ARK certificate (ARK-Emulated, self-signed):"),
        ("CERTIFICATE", "Emulated ASK certificate (SEV-Emulated, signed by the ARK):"),
        ("CERTIFICATE", "Emulated VCEK certificate (SEV-VCEK, signed by the ASK; AMD extensions: product, TCB, CHIP_ID):"),
        ("PRIVATE KEY", "EMULATED TEST KEY: the ARK's RSA private key:"),
        ("PRIVATE KEY", "EMULATED TEST KEY: the ASK's RSA private key:"),
        ("PRIVATE KEY", "EMULATED TEST KEY: the VCEK's P-384 private key, which signs the reports:"),
    ]

    /// What the keys sign to prove they belong to their certificates: a public key can match while
    /// a damaged private exponent or scalar cannot sign for it.
    private static let possessionDigest = SHA384.hash(data: Array("CVMKit emulated SEV-SNP chain: key check".utf8))

    /// The RSA key of `role` in `document`, after it has signed for `certificate`'s public key.
    private static func rsaKey(_ document: PEMDocument, role: String, certificate: AMDCertificate) throws(SNPError) -> _RSA.Signing.PrivateKey {
        let key: _RSA.Signing.PrivateKey
        do {
            key = try _RSA.Signing.PrivateKey(derRepresentation: document.derBytes)
        } catch {
            throw .emulatedChainMalformed(reason: "the \(role) private key is not a PKCS #8 RSA key of 2048 bits or more")
        }
        guard let publicKey = _RSA.Signing.PublicKey(certificate.publicKey),
              let signature = try? key.signature(for: possessionDigest, padding: .PSS),
              publicKey.isValidSignature(signature, for: possessionDigest, padding: .PSS) else {
            throw .emulatedChainKeyMismatch(role: role)
        }
        return key
    }

    /// The VCEK's P-384 key in `document`, after it has signed for `certificate`'s public key.
    private static func vcekKey(_ document: PEMDocument, certificate: AMDCertificate) throws(SNPError) -> P384.Signing.PrivateKey {
        let key: P384.Signing.PrivateKey
        do {
            key = try P384.Signing.PrivateKey(derRepresentation: document.derBytes)
        } catch {
            throw .emulatedChainMalformed(reason: "the VCEK private key is not a PKCS #8 P-384 key")
        }
        guard let publicKey = P384.Signing.PublicKey(certificate.publicKey),
              let signature = try? key.signature(for: possessionDigest),
              publicKey.isValidSignature(signature, for: possessionDigest) else {
            throw .emulatedChainKeyMismatch(role: "VCEK")
        }
        return key
    }
}
