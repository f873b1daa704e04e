import ArgumentParser
import Foundation
import SEVSNP

/// `cvm snp`: show and verify AMD SEV-SNP attestation reports. Formatting only; the work is in
/// the SEVSNP library.
struct SNPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snp",
        abstract: "Inspect and verify AMD SEV-SNP attestation reports.",
        subcommands: [Show.self, Verify.self, SNPMeasureCommand.self, SNPBenchCommand.self]
    )

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print every field of an attestation report.")

        @Argument(help: "The 1184-byte attestation report.")
        var report: String

        @Option(help: "Milan, Genoa or Turin: decodes the TCB values of a version-2 report, which carries no CPUID.")
        var product: SNPProduct?

        @Flag(help: "Print JSON.")
        var json = false

        func run() throws {
            try reportingFailures {
                let parsed = try SNPReport(bytes: try readBinaryFile(self.report), product: self.product)
                if self.json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                    print(String(decoding: try encoder.encode(parsed), as: UTF8.self))
                } else {
                    print(parsed)
                }
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a report's signature and AMD certificate chain, then optionally appraise it against a policy.")

        @Argument(help: "The 1184-byte attestation report.")
        var report: String

        @Option(help: "A directory of PEM or DER certificates: the VCEK or VLEK, and optionally ASK/ASVK and ARK.")
        var certs: String?

        @Option(help: "The VCEK or VLEK certificate (PEM or DER); AMD's embedded ASK and ARK complete the chain.")
        var vcek: String?

        @Option(help: "The certificate table of an extended report (SNP_GET_EXT_REPORT): GUID-tagged VCEK/VLEK, ASK/ASVK and ARK.")
        var certTable: String?

        @Option(help: "An AMD CRL (DER or PEM, from KDS /vcek/v1/{product}/crl); refuses a revoked ASK or ASVK. Repeatable.")
        var crl: [String] = []

        @Option(help: "Check certificate validity at this ISO 8601 time instead of now, e.g. 2025-06-01T00:00:00Z.")
        var at: String?

        @Option(help: "An SNPPolicy as JSON to appraise the verified report against.")
        var policy: String?

        @Option(help: "Milan, Genoa or Turin, for a version-2 report; defaults to the product of the root reached.")
        var product: SNPProduct?

        func validate() throws {
            guard [self.certs, self.vcek, self.certTable].compactMap({ $0 }).count == 1 else {
                throw ValidationError("Give exactly one of --certs DIR, --vcek FILE and --cert-table FILE.")
            }
            if let at = self.at, ISO8601DateFormatter().date(from: at) == nil {
                throw ValidationError("--at must be an ISO 8601 time such as 2025-06-01T00:00:00Z.")
            }
        }

        func run() throws {
            try reportingFailures {
                let parsed = try SNPReport(bytes: try readBinaryFile(self.report), product: self.product)
                let time = self.at.flatMap { ISO8601DateFormatter().date(from: $0) } ?? Date()
                let lists = try self.revocationLists()
                let verifier = SNPVerifier(revocationLists: lists)
                let verified = try verifier.verify(parsed, certificates: try self.chain(), at: time, product: self.product)
                let tcb = verified.reportedTCB.named.compactMap { name, value in value.map { "\(name) \($0)" } }
                print("Verified: signed by the \(parsed.signingKey.name), chained to \(verified.root) (\(verified.product.rawValue)), "
                    + "certificates valid at \(ISO8601DateFormatter().string(from: time)).")
                print("Reported TCB: \(tcb.joined(separator: ", ")).")
                for list in lists where "AMD \(list.issuerName)" == verified.root {
                    print("Not revoked by the CRL of \(list.issuerName) issued \(ISO8601DateFormatter().string(from: list.thisUpdate)).")
                }
                guard let policyFile = self.policy else { return }
                let policy = try JSONDecoder().decode(SNPPolicy.self, from: Data(try readBinaryFile(policyFile)))
                let appraisal = policy.appraise(verified)
                appraisal.rules.forEach { print($0) }
                guard appraisal.passed else {
                    throw CommandFailure("The report does not satisfy the policy: \(appraisal.failures.count) rule(s) failed.")
                }
            }
        }

        /// The `--crl` files; each must be issued by one of AMD's roots, or it would silently apply to nothing.
        private func revocationLists() throws -> [AMDRevocationList] {
            try self.crl.map { file in
                let list = try AMDRevocationList(derOrPEM: try readBinaryFile(file))
                guard SNPTrustAnchor.amd.contains(where: { $0.root.subject == list.issuer }) else {
                    throw CommandFailure("The CRL \(file) is issued by \(list.issuerName), which is not an AMD root.")
                }
                return list
            }
        }

        private func chain() throws -> SNPCertificateChain {
            if let vcek = self.vcek {
                return SNPCertificateChain(endorsementKey: try AMDCertificate.certificates(derOrPEM: try readBinaryFile(vcek)).first)
            }
            if let table = self.certTable {
                return try SNPCertificateTable(bytes: try readBinaryFile(table)).chain()
            }
            let directory = URL(fileURLWithPath: self.certs ?? ".")
            let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            var certificates: [AMDCertificate] = []
            for file in files.sorted(by: { $0.path < $1.path }) {
                certificates += try AMDCertificate.certificates(derOrPEM: try readBinaryFile(file.path), role: file.lastPathComponent)
            }
            return SNPCertificateChain(sorting: certificates)
        }
    }
}

extension SNPProduct: ExpressibleByArgument {}

/// A failure whose sentence is the whole message.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body`; on any error prints its description to standard error and exits non-zero.
func reportingFailures(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode.failure
    }
}
