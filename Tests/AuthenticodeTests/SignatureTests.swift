import Authenticode
import EventLog
import Foundation
import SwiftASN1
import Testing
import X509

/// Signatures of Debian's signed boot files: the signers and certificates sbverify lists, and
/// trust decisions that sbverify --cert makes the same way.
@Suite("Authenticode signatures of real images", .enabled(if: Peer.available, Comment(rawValue: Peer.missing)))
struct SignatureTests {
    /// Microsoft Corporation UEFI CA 2011, as OpenSSL prints it from shim's PKCS#7 certificates.
    static func microsoftUEFICA() throws -> Certificate {
        let certificates = try Peer.detachedCertificates(Peer.shim)
        guard let ca = certificates.first(where: { Peer.oneLine($0.subject).hasSuffix("/CN=Microsoft Corporation UEFI CA 2011") }) else {
            throw Peer.Failure(description: "openssl found no Microsoft Corporation UEFI CA 2011 in shim's signature")
        }
        return ca
    }

    /// The Debian Secure Boot CA that shim embeds as its vendor certificate.
    static func debianCA() throws -> Certificate {
        guard let ca = Peer.embeddedCertificate(in: try Peer.bytes(Peer.shim), commonName: "Debian Secure Boot CA") else {
            throw Peer.Failure(description: "shim embeds no Debian Secure Boot CA certificate")
        }
        return ca
    }

    /// Whether `sbverify --cert` accepts `file` with `certificate` as the only trusted certificate.
    static func sbverifyAccepts(_ file: String, _ certificate: Certificate) throws -> Bool {
        let pem = try Peer.pemFile(certificate)
        defer { try? FileManager.default.removeItem(atPath: pem) }
        return try Peer.run("sbverify", ["--cert", pem, file]).status == 0
    }

    @Test("signer issuers and certificates equal sbverify --list", arguments: Peer.signedFiles)
    func signersMatchSbverify(file: String) throws {
        let listed = try PEImage(bytes: try Peer.bytes(file)).signatures().map { signature in
            Peer.ListedSignature(issuers: signature.signerInfos.compactMap { $0.issuer.map(Peer.oneLine) },
                                 certificates: signature.certificates.map { [Peer.oneLine($0.subject), Peer.oneLine($0.issuer)] })
        }
        #expect(listed == (try Peer.sbverifyList(file)))
    }

    @Test("shim chains to the Microsoft Corporation UEFI CA 2011, as sbverify --cert agrees")
    func shimChainsToMicrosoft() throws {
        let ca = try Self.microsoftUEFICA()
        #expect(try Self.sbverifyAccepts(Peer.shim, ca))
        let verification = try PEImage(bytes: try Peer.bytes(Peer.shim)).verify(trusting: [.certificate(ca)])
        #expect(verification.signatureIndex == 0)
        #expect(verification.anchor == .certificate(ca))
        #expect(verification.signer.map { Peer.oneLine($0.subject) }?.hasSuffix("/CN=Microsoft Windows UEFI Driver Publisher") == true)
    }

    @Test("grub and the kernels chain to the Debian Secure Boot CA from shim, as sbverify --cert agrees", arguments: [Peer.grub] + Peer.kernels)
    func debianImagesChainToDebianCA(file: String) throws {
        let ca = try Self.debianCA()
        #expect(try Self.sbverifyAccepts(file, ca))
        let verification = try PEImage(bytes: try Peer.bytes(file)).verify(trusting: [.certificate(ca)])
        #expect(verification.anchor == .certificate(ca))
        let signer = try #require(verification.signer)
        #expect(Peer.oneLine(signer.subject).hasPrefix("/CN=Debian Secure Boot Signer"))
        #expect(Peer.oneLine(signer.issuer) == Peer.oneLine(ca.subject))
    }

    @Test("an anchor that did not issue the signer is refused, as sbverify --cert refuses it")
    func wrongAnchor() throws {
        let microsoft = try Self.microsoftUEFICA()
        #expect(try !Self.sbverifyAccepts(Peer.grub, microsoft))
        let image = try PEImage(bytes: try Peer.bytes(Peer.grub))
        let error = #expect(throws: AuthenticodeError.self) { try image.verify(trusting: [.certificate(microsoft)]) }
        guard case .untrusted(signature: 0, _)? = error else {
            Issue.record("expected untrusted, got \(String(describing: error))")
            return
        }
    }

    /// An EFI_SIGNATURE_LIST (UEFI 2.10 §32.4.1) of one type: header, then owner GUID and data per entry.
    static func signatureList(type: EFIGUID, entries: [[UInt8]]) -> [UInt8] {
        let owner = EFIGUID("77FA9ABD-0359-4D32-BD60-28F4E78F784B")!
        let size = 16 + (entries.first?.count ?? 0)
        precondition(entries.allSatisfy { $0.count == size - 16 }, "one list holds entries of one size")
        var bytes = type.bytes
        for value in [UInt32(28 + size * entries.count), 0, UInt32(size)] {
            bytes += withUnsafeBytes(of: value.littleEndian, Array.init)
        }
        for entry in entries { bytes += owner.bytes + entry }
        return bytes
    }

    @Test("a db of EFI signature lists authorizes shim by Microsoft's CA, grub by Debian's CA, and an image by its pesign hash")
    func signatureDatabase() throws {
        let microsoft = try Self.microsoftUEFICA(), debian = try Self.debianCA()
        let grubHash = try #require(Peer.bytes(hex: try Peer.pesignDigest(Peer.grub, "sha256")))
        let db = try EFISignatureList.decode(
            Self.signatureList(type: .certX509, entries: [try microsoft.derBytes()])
                + Self.signatureList(type: .certX509, entries: [try debian.derBytes()]))
        let anchors = TrustAnchor.anchors(db: db)
        #expect(try PEImage(bytes: try Peer.bytes(Peer.shim)).verify(trusting: anchors).anchor == .certificate(microsoft))
        #expect(try PEImage(bytes: try Peer.bytes(Peer.grub)).verify(trusting: anchors).anchor == .certificate(debian))
        let hashes = TrustAnchor.anchors(db: try EFISignatureList.decode(Self.signatureList(type: .certSHA256, entries: [grubHash])))
        let byHash = try PEImage(bytes: try Peer.bytes(Peer.grub)).verify(trusting: hashes)
        #expect(byHash.anchor == .sha256(imageDigest: grubHash))
        #expect(byHash.signatureIndex == nil)
        #expect(throws: AuthenticodeError.self) { try PEImage(bytes: try Peer.bytes(Peer.shim)).verify(trusting: hashes) }
    }
}

extension Certificate {
    func derBytes() throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(self)
        return serializer.serializedBytes
    }
}
