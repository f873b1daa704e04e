import ArgumentParser
import Attestation
import Foundation
import SEVSNP
import SwiftASN1
import TDX
import X509
import EvidenceCore

/// `cvm policy check`: verifies an evidence bundle offline and appraises it against a policy.
/// `cvm policy put`: stores a policy or reference values in the attestation service.
/// Formatting only; verification and appraisal are the Attestation library's.
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Appraise evidence against a policy offline, or store policies and reference values in the service.",
        subcommands: [Check.self, Put.self]
    )

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store (or replace) an appraisal policy, or reference values, in the service after checking the file parses.",
            discussion: "Both formats are in docs/policy.md; `cvm launch --reference-values` and `cvm reference-values` write reference values.")

        @OptionGroup var connection: ServerConnectionOptions

        @Flag(help: "The file holds reference values, not a policy.")
        var referenceValues = false

        @Argument(help: "The name the document is stored under, as /v1/attest?policy= (or referenceValues=) and secrets name it.")
        var name: String

        @Argument(help: "The policy or reference values (JSON).")
        var file: String

        func run() async throws {
            let json = try readBinaryFile(file)
            let (kind, label) = referenceValues ? ("reference-values", "reference values") : ("policies", "policy")
            do {
                if referenceValues { _ = try ReferenceValues(json: json) } else { _ = try AppraisalPolicy(json: json) }
            } catch {
                throw CommandFailure("\(file) is not a valid \(label) document: \(error)")
            }
            try await connection.client().putDocument(kind: kind, name: name, json: json)
            print("stored \(label) \(name) from \(file)")
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify an evidence bundle, then appraise it against a policy and reference values.",
            discussion: """
                Prints one line per check (✔/✘, expected and actual) and the overall status. Exits 0 when the \
                status is affirming, 2 when it is warning, 1 when it is contraindicated or the evidence does not verify.
                """
        )

        @Option(help: "The evidence bundle (JSON, docs/evidence.md).")
        var evidence: String

        @Option(help: "The appraisal policy (JSON, docs/policy.md).")
        var policy: String

        @Option(help: "The reference values the policy's rules compare with (JSON, docs/policy.md).")
        var referenceValues: String?

        @Flag(help: "Accept evidence that chains to an --emulated-root (it is reported as emulated).")
        var allowEmulated = false

        @Option(help: "The nonce the evidence must answer, in hex; without it the bundle's own nonce is used, which checks the binding but not freshness.")
        var nonce: String?

        @Option(help: "For evidence made by other tooling: the exact SEV-SNP REPORT_DATA or TDX REPORTDATA (hex) instead of a nonce.")
        var reportData: String?

        @Option(help: "For evidence made by other tooling: the exact quote qualifying data (hex) instead of a nonce.")
        var qualifyingData: String?

        @Option(help: "A root CA certificate (PEM or DER) for TPM attestation key and EK certificates. Repeatable.")
        var tpmRoot: [String] = []

        @Option(help: "The root of an emulated platform: an emulated ARK, or a TPM CA or TDX test root certificate (PEM or DER). Repeatable.")
        var emulatedRoot: [String] = []

        @Option(help: "An AMD CRL (DER or PEM). Repeatable.")
        var crl: [String] = []

        @Option(help: """
            A directory of Intel collateral for TDX quotes (\(TDXCollateral.FileName.tcbInfo), \(TDXCollateral.FileName.qeIdentity), \
            \(TDXCollateral.FileName.tcbSigningChain), PCK and root CA CRLs, as `cvm tdx verify --collateral` reads it); used instead of a bundle's.
            """)
        var tdxCollateral: String?

        @Option(help: "Check certificate validity at this ISO 8601 time instead of now, e.g. 2025-06-01T00:00:00Z.")
        var at: String?

        @Flag(help: "Print the appraisal and the evidence's claims as JSON.")
        var json = false

        func validate() throws {
            guard [self.nonce, self.reportData, self.qualifyingData].compactMap({ $0 }).count <= 1 else {
                throw ValidationError("Give at most one of --nonce, --report-data and --qualifying-data.")
            }
            for value in [self.nonce, self.reportData, self.qualifyingData].compactMap({ $0 }) where decodeHex(value) == nil {
                throw ValidationError("\"\(value)\" is not hex.")
            }
            if let at = self.at, ISO8601DateFormatter().date(from: at) == nil {
                throw ValidationError("--at must be an ISO 8601 time such as 2025-06-01T00:00:00Z.")
            }
        }

        func run() throws {
            var status = EARStatus.contraindicated
            try reportingFailures {
                let bundle = try EvidenceBundle(json: try readBinaryFile(self.evidence))
                let policy = try AppraisalPolicy(json: try readBinaryFile(self.policy))
                let reference = try self.referenceValues.map { try ReferenceValues(json: try readBinaryFile($0)) } ?? ReferenceValues()
                let verified = try AttestationVerifier(configuration: try self.configuration()).verify(bundle, expecting: self.binding(bundle))
                // Verified and appraised in one go: report age is measured on the verifier's clock (--at).
                let appraisal = policy.appraise(verified, referenceValues: reference, at: verified.verificationTime)
                status = appraisal.status
                if self.json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                    print(String(decoding: try encoder.encode(appraisal), as: UTF8.self))
                    return
                }
                if self.nonce == nil, self.reportData == nil, self.qualifyingData == nil {
                    print("note: no --nonce given; the binding was checked against the bundle's own nonce, not for freshness.")
                }
                print("Verified \(verified.type.rawValue) evidence, roots: \(verified.roots.map(\.description).joined(separator: "; ")).")
                print(appraisal.explain())
            }
            switch status {
            case .affirming: return
            case .warning: throw ExitCode(2)
            case .none, .contraindicated: throw ExitCode.failure
            }
        }

        private func binding(_ bundle: EvidenceBundle) -> ExpectedBinding {
            if let value = self.reportData.flatMap { decodeHex($0) } { return .reportData(value) }
            if let value = self.qualifyingData.flatMap { decodeHex($0) } { return .qualifyingData(value) }
            return .nonce(self.nonce.flatMap { decodeHex($0) } ?? bundle.nonce)
        }

        private func configuration() throws -> AttestationVerifier.Configuration {
            // An emulated root is an AMD-style ARK (RSA-PSS, which only SEVSNP's certificate
            // reader takes) anchoring SNP chains, or an X.509 CA anchoring TPM chains and, when
            // self-signed, TDX PCK chains.
            var emulatedARKs: [SNPTrustAnchor] = []
            var emulatedCAs: [Certificate] = []
            for file in self.emulatedRoot {
                let bytes = try readBinaryFile(file)
                let arks = ((try? AMDCertificate.certificates(derOrPEM: bytes, role: "ARK")) ?? []).compactMap { ark in
                    try? SNPTrustAnchor(name: SNPTrustAnchor.emulatedName, product: nil, root: ark, intermediates: [])
                }
                let cas = (try? Certificate.all(derOrPEM: bytes)) ?? []
                guard !arks.isEmpty || !cas.isEmpty else {
                    throw CommandFailure("\(file) holds neither a self-signed ARK nor an X.509 CA certificate.")
                }
                emulatedARKs += arks
                emulatedCAs += cas
            }
            let emulatedTDXAnchors = try emulatedCAs.compactMap { certificate in
                var der = DER.Serializer()
                try der.serialize(certificate)
                return try? TDXTrustAnchor(name: certificate.subject.description, derEncodedRoot: der.serializedBytes)
            }
            return AttestationVerifier.Configuration(
                snpRevocationLists: try self.crl.map { try AMDRevocationList(derOrPEM: try readBinaryFile($0)) },
                tpmRoots: try self.tpmRoot.flatMap { try Certificate.all(derOrPEM: try readBinaryFile($0)) },
                tdxCollateral: try self.tdxCollateral.map { try loadTDXCollateral($0) },
                emulatedSNPAnchors: emulatedARKs, emulatedTPMRoots: emulatedCAs, emulatedTDXAnchors: emulatedTDXAnchors,
                allowEmulatedRoots: self.allowEmulated, verificationTime: self.at.flatMap { ISO8601DateFormatter().date(from: $0) })
        }
    }
}

/// `cvm evidence show`: lists what an evidence bundle says, without verifying it.
struct EvidenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evidence",
        abstract: "Inspect evidence bundles.",
        subcommands: [Show.self]
    )

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the contents of an evidence bundle (nothing is verified).")

        @Argument(help: "The evidence bundle (JSON, docs/evidence.md).")
        var file: String

        func run() throws {
            try reportingFailures {
                print(try EvidenceBundle(json: try readBinaryFile(self.file)))
            }
        }
    }
}

extension Certificate {
    /// Every certificate in a PEM file, or the one certificate of a DER file.
    static func all(derOrPEM bytes: [UInt8]) throws -> [Certificate] {
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.contains("-----BEGIN CERTIFICATE-----") else { return [try Certificate(derEncoded: bytes)] }
        return try PEMDocument.parseMultiple(pemString: text).map { try Certificate(pemDocument: $0) }
    }
}
