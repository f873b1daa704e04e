import ArgumentParser
import Authenticode
import EventLog
import Foundation
import X509
import EvidenceCore

/// `cvm pe`: Authenticode digests and signature verification of PE/COFF (UEFI) images. All
/// parsing and checking is in Authenticode.
struct PECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pe",
        abstract: "Hash and verify Authenticode-signed PE/COFF images (shim, grub, kernels).",
        subcommands: [Hash.self, Verify.self]
    )

    struct Hash: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the Authenticode digest of an image (the digest UEFI measures into PCR 4 with sha256).")

        @Argument(help: "The PE/COFF image.")
        var file: String

        @Option(help: "Digest algorithm: sha1, sha256, sha384 or sha512.")
        var alg: AuthenticodeHashAlgorithm = .sha256

        func run() throws {
            print(hexString(try PEImage(bytes: try readBinaryFile(file)).authenticodeDigest(alg)))
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify an image's signatures against a certificate or a UEFI db.",
            discussion: "Exits non-zero, naming the reason, unless a signature verifies and chains to the certificate or to a db entry, or the image's SHA-256 digest is in the db.")

        @Argument(help: "The PE/COFF image.")
        var file: String

        @Option(help: "A trusted certificate (PEM).")
        var cert: String?

        @Option(help: "A signature database: EFI_SIGNATURE_LISTs, e.g. the db variable without its 4 attribute bytes.")
        var db: String?

        func validate() throws {
            guard (cert == nil) != (db == nil) else { throw ValidationError("Give exactly one of --cert and --db.") }
        }

        func run() throws {
            let anchors: [TrustAnchor]
            if let cert {
                anchors = [.certificate(try Certificate(pemEncoded: String(decoding: try readBinaryFile(cert), as: UTF8.self)))]
            } else {
                anchors = TrustAnchor.anchors(db: try EFISignatureList.decode(try readBinaryFile(db ?? "")))
            }
            let verification = try PEImage(bytes: try readBinaryFile(file)).verify(trusting: anchors)
            if let index = verification.signatureIndex, let signer = verification.signer {
                print("signature \(index) verifies")
                print("signer: \(signer.subject)")
                for issuer in verification.chain.dropFirst() {
                    print("via:    \(issuer.subject)")
                }
            } else {
                print("image digest is allowed by the db")
            }
            print("trust anchor: \(verification.anchor)")
        }
    }
}

extension AuthenticodeHashAlgorithm: ExpressibleByArgument {}
