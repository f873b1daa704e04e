import Authenticode
import Foundation
import Testing
import X509

/// Authenticode digests of Debian's signed boot files against what pesign computes for the same
/// files, and SHA-384/SHA-512 digests against the ones osslsigncode signs.
@Suite("Authenticode digests of real images", .enabled(if: Peer.available, Comment(rawValue: Peer.missing)))
struct DigestTests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test("SHA-256 and SHA-1 digests equal pesign -h", arguments: Peer.signedFiles)
    func pesignDigests(file: String) throws {
        let image = try PEImage(bytes: try Peer.bytes(file))
        #expect(Self.hex(image.authenticodeDigest(.sha256)) == (try Peer.pesignDigest(file, "sha256")))
        #expect(Self.hex(image.authenticodeDigest(.sha1)) == (try Peer.pesignDigest(file, "sha1")))
    }

    @Test("the digest signed in each signature equals pesign's digest of the file", arguments: Peer.signedFiles)
    func signedDigests(file: String) throws {
        let signatures = try PEImage(bytes: try Peer.bytes(file)).signatures()
        #expect(!signatures.isEmpty)
        for signature in signatures {
            #expect(Self.hex(signature.imageDigest) == (try Peer.pesignDigest(file, signature.digestAlgorithm.rawValue)))
        }
    }

    @Test("an image without a certificate table (osslsigncode remove-signature) hashes as pesign says")
    func unsignedImage() throws {
        let unsigned = try Self.removeSignature(Peer.grub)
        defer { try? FileManager.default.removeItem(atPath: unsigned) }
        let image = try PEImage(bytes: try Peer.bytes(unsigned))
        #expect(image.certificateTable == nil)
        #expect(Self.hex(image.authenticodeDigest(.sha256)) == (try Peer.pesignDigest(unsigned, "sha256")))
        #expect(throws: AuthenticodeError.notSigned) { try image.signatures() }
    }

    @Test("SHA-384 and SHA-512 digests equal the ones osslsigncode signs", arguments: [("sha384", AuthenticodeHashAlgorithm.sha384), ("sha512", .sha512)])
    func osslsigncodeDigests(name: String, algorithm: AuthenticodeHashAlgorithm) throws {
        let (signed, certificate) = try Self.osslsign(Peer.grub, digest: name)
        defer { try? FileManager.default.removeItem(atPath: signed) }
        let image = try PEImage(bytes: try Peer.bytes(signed))
        let signatures = try image.signatures()
        #expect(signatures.map(\.digestAlgorithm) == [algorithm])
        #expect(signatures.first?.imageDigest == image.authenticodeDigest(algorithm))
        let verification = try image.verify(trusting: [.certificate(certificate)])
        #expect(verification.signer == certificate)
    }

    static func removeSignature(_ file: String) throws -> String {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("authenticode-\(UUID()).efi").path
        let (log, status) = try Peer.run("osslsigncode", ["remove-signature", "-in", file, "-out", output])
        guard status == 0 else { throw Peer.Failure(description: "osslsigncode remove-signature: \(log)") }
        return output
    }

    /// Signs `file` (signature removed first) with a new self-signed RSA certificate using
    /// osslsigncode and the digest `digest`; returns the signed file and the certificate.
    static func osslsign(_ file: String, digest: String) throws -> (String, Certificate) {
        let unsigned = try removeSignature(file)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("authenticode-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer {
            try? FileManager.default.removeItem(atPath: unsigned)
            try? FileManager.default.removeItem(atPath: directory)
        }
        let key = directory + "/key.pem", cert = directory + "/cert.pem"
        let signed = FileManager.default.temporaryDirectory.appendingPathComponent("authenticode-\(UUID()).efi").path
        let (reqLog, reqStatus) = try Peer.run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                                                           "-subj", "/CN=CVMKit test signer", "-days", "2"])
        guard reqStatus == 0 else { throw Peer.Failure(description: "openssl req: \(reqLog)") }
        let (signLog, signStatus) = try Peer.run("osslsigncode", ["sign", "-certs", cert, "-key", key, "-h", digest, "-in", unsigned, "-out", signed])
        guard signStatus == 0 else { throw Peer.Failure(description: "osslsigncode sign: \(signLog)") }
        return (signed, try Certificate(pemEncoded: String(contentsOfFile: cert, encoding: .utf8)))
    }
}
