import ArgumentParser
import AzureCVM
import EventLog
import Foundation
import SEVSNP
import TPM2
import EvidenceCore

/// `cvm azure`: show and verify the HCL attestation report an Azure confidential VM reads from
/// vTPM NV index 0x01400001, and the vTPM quotes its AK signs. Formatting only; the work is in
/// the AzureCVM library.
struct AzureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "azure",
        abstract: "Inspect and verify Azure confidential VM HCL reports and vTPM quotes.",
        subcommands: [Show.self, Verify.self]
    )

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every section of an HCL report and whether REPORT_DATA binds the runtime claims.")

        @Argument(help: "The HCL report (the contents of NV index 0x01400001).")
        var report: String

        @Flag(help: "Print JSON.")
        var json = false

        func run() throws {
            try reportingFailures {
                let parsed = try HCLReport(bytes: try readBinaryFile(self.report))
                if self.json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                    print(String(decoding: try encoder.encode(parsed), as: UTF8.self))
                } else {
                    print(parsed)
                }
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify an HCL report's SEV-SNP report, the binding of its runtime claims, and optionally a vTPM quote by its AK.",
            discussion: "Trusts AMD's embedded roots only, unless --trust-root names another root (for example the emulated chain `cvm launch` writes).")

        @Argument(help: "The HCL report (the contents of NV index 0x01400001).")
        var report: String

        @Option(help: "The VCEK or VLEK certificate (PEM or DER) of the SNP report; AMD's embedded ASK and ARK complete the chain.")
        var vcek: String

        @Option(help: "A PEM with a root (ARK) and its intermediate (ASK) to trust besides AMD's; results name it as caller-trusted.")
        var trustRoot: String?

        @Option(help: "A quote's TPMS_ATTEST bytes, signed by the report's AK.")
        var quote: String?

        @Option(help: "The quote's signature: a TPMT_SIGNATURE or the bare RSASSA-SHA256 signature Azure tooling saves.")
        var signature: String?

        @Option(help: "The nonce the quote's extraData must hold, as hex.")
        var nonce: String?

        @Option(help: "The quoted PCR values: {\"sha256\": {\"0\": \"<hex>\"}}.")
        var pcrs: String?

        @Option(help: "Check certificate validity at this ISO 8601 time instead of now, e.g. 2025-06-01T00:00:00Z.")
        var at: String?

        func validate() throws {
            let quoteOptions = [self.quote, self.signature, self.nonce, self.pcrs]
            guard quoteOptions.allSatisfy({ $0 == nil }) || quoteOptions.allSatisfy({ $0 != nil }) else {
                throw ValidationError("A quote needs all of --quote, --signature, --nonce and --pcrs.")
            }
            if let nonce = self.nonce, decodeHex(nonce) == nil {
                throw ValidationError("--nonce must be hex.")
            }
            if let at = self.at, ISO8601DateFormatter().date(from: at) == nil {
                throw ValidationError("--at must be an ISO 8601 time such as 2025-06-01T00:00:00Z.")
            }
        }

        func run() throws {
            try reportingFailures {
                let parsed = try HCLReport(bytes: try readBinaryFile(self.report))
                let time = self.at.flatMap { ISO8601DateFormatter().date(from: $0) } ?? Date()
                let vcek = try AMDCertificate.certificates(derOrPEM: try readBinaryFile(self.vcek), role: "VCEK")
                let verifier = AzureHCLVerifier(snpVerifier: SNPVerifier(trustedRoots: SNPTrustAnchor.amd + (try self.extraRoots())))
                let verified = try verifier.verify(parsed, certificates: SNPCertificateChain(endorsementKey: vcek.first), at: time)
                let hash = parsed.requestData.hashType
                print("HCL report verified: the SEV-SNP report is signed by the VCEK, chained to \(verified.root) "
                    + "(\(verified.snp.product.rawValue)), certificates valid at \(ISO8601DateFormatter().string(from: time)).")
                print("REPORT_DATA binds the runtime claims: its first \(hash.digestSize) bytes are their \(hash) hash, the rest zero.")
                let keys = verified.runtimeClaims.keys.map(\.kid).joined(separator: ", ")
                print("Keys vouched for by the hardware report: \(keys).")
                guard let quote = self.quote, let signatureFile = self.signature, let nonce = self.nonce.flatMap({ decodeHex($0) }),
                      let pcrs = self.pcrs else { return }
                let signatureBytes = try readBinaryFile(signatureFile)
                let signature = (try? TPMTSignature(tpmBytes: signatureBytes)) ?? .azureRSASSA(signatureBytes)
                let values = try PCRValues(json: try readBinaryFile(pcrs))
                let quoted = try verified.verifyQuote(
                    try readBinaryFile(quote), signature: signature, nonce: nonce,
                    pcrValues: Dictionary(uniqueKeysWithValues: values.banks.map { bank, registers in
                        (TPMAlgorithmID(rawValue: bank.rawValue), Dictionary(uniqueKeysWithValues: registers.map { (Int($0.key), $0.value) }))
                    }))
                let selection = quoted.pcrSelection.selections.map { "\($0.hash) \($0.indices.map(String.init).joined(separator: ","))" }
                print("Quote verified: signed by HCLAkPub, extraData is the nonce, pcrDigest matches PCRs \(selection.joined(separator: "; ")).")
            }
        }

        /// The `--trust-root` anchor: the file's self-signed certificate and the ones it signed.
        private func extraRoots() throws -> [SNPTrustAnchor] {
            guard let file = self.trustRoot else { return [] }
            let certificates = try AMDCertificate.certificates(derOrPEM: try readBinaryFile(file), role: "trusted root")
            guard let root = certificates.first(where: { $0.subject == $0.issuer }) else {
                throw CommandFailure("\(file) holds no self-signed root certificate.")
            }
            let intermediates = certificates.filter { $0 != root && $0.issuer == root.subject }
            return [try SNPTrustAnchor(name: "\(root.commonName) (caller-trusted via --trust-root)", product: nil, root: root, intermediates: intermediates)]
        }
    }
}

