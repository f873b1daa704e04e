import ArgumentParser
import Authenticode
import EventLog
import Foundation
import PCRPrediction
import X509

/// `cvm pe`: Authenticode digests and signature verification of PE/COFF (UEFI) images. All
/// parsing and checking is in Authenticode.
struct PECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pe",
        abstract: "Hash and verify Authenticode-signed PE/COFF images (shim, grub, kernels).",
        subcommands: [Hash.self, Verify.self, Predict.self]
    )

    struct Hash: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the Authenticode digest of an image (the digest UEFI measures into PCR 4 with sha256).")

        @Argument(help: "The PE/COFF image.")
        var file: String

        @Option(help: "Digest algorithm: sha1, sha256, sha384 or sha512.")
        var alg: AuthenticodeHashAlgorithm = .sha256

        func run() throws {
            print(hex(try PEImage(bytes: try readImage(file)).authenticodeDigest(alg)))
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
                anchors = [.certificate(try Certificate(pemEncoded: String(decoding: try readImage(cert), as: UTF8.self)))]
            } else {
                anchors = TrustAnchor.anchors(db: try EFISignatureList.decode(try readImage(db ?? "")))
            }
            let verification = try PEImage(bytes: try readImage(file)).verify(trusting: anchors)
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

    struct Predict: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Predict the PCR values of the next boot when the log's boot applications are replaced by new images.",
            discussion: "The images replace the log's EV_EFI_BOOT_SERVICES_APPLICATION events in order (shim, grub, kernel…); all other events are kept.")

        @Argument(help: "The binary event log of the current boot.")
        var log: String

        @Argument(help: "The new images, in the order the firmware and shim load them.")
        var images: [String]

        @Flag(help: "The log is a TDX CCEL: indices 1-4 are RTMR[0-3].")
        var tdx = false

        func run() throws {
            let registers: MeasurementRegisters = tdx ? .tdxRTMRs : .tpmPCRs
            let prediction = try PCRPrediction(log: try EventLog(bytes: try readImage(log)),
                                               replacing: try images.map { try PEImage(bytes: try readImage($0)) },
                                               registers: registers)
            if prediction.changes.isEmpty {
                print("no register changes")
            }
            for change in prediction.changes {
                print("\(registers.name(of: change.index)) \(change.bank) \(hex(change.current)) -> \(hex(change.predicted))")
            }
        }
    }
}

extension AuthenticodeHashAlgorithm: ExpressibleByArgument {}

private func readImage(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
