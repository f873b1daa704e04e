import Attestation
import Crypto
import EventLog
import Foundation
import SEVSNP
import TPM2
import X509

/// The shared real evidence (`../shared/testdata`, see its READMEs) and the package's example
/// policies, located from this file: the package root is three levels up.
enum TestData {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let root = packageRoot.appendingPathComponent("../shared/testdata").standardized

    static func bytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: root.appendingPathComponent(path)))
    }

    static func example(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: packageRoot.appendingPathComponent("examples/policies/\(name)")))
    }

    static func caseJSON(_ folder: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(bytes("tpm/\(folder)/case.json"))) as! [String: Any]
    }

    /// Inside the validity of the Milan VCEK (2022-09-24 to 2029-09-24) and of the GCE AK
    /// certificate (2021-08-31 to 2051-08-24) and its CAs.
    static let verificationTime = ISO8601DateFormatter().date(from: "2025-06-01T00:00:00Z")!

    // MARK: SEV-SNP (snp/README.md)

    static var milanReport: [UInt8] { get throws { try bytes("snp/milan-report-1.bin") } }
    static var milanVCEK: AMDCertificate { get throws { try AMDCertificate(derEncoded: try bytes("snp/milan-vcek-1.der")) } }
    /// The measurement the README reads from the report.
    static let milanMeasurement = [UInt8](hex: "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01")

    /// The real Milan report (version 2, so the product is named) with its VCEK.
    static func milanBundle() throws -> EvidenceBundle {
        let report = try SNPReport(bytes: try milanReport, product: .milan)
        return EvidenceBundle(nonce: Array("milan".utf8), runtimeKey: nil, evidence: .sevSNP(SNPEvidence(
            report: report, certificates: SNPCertificateChain(endorsementKey: try milanVCEK))))
    }

    // MARK: GCE vTPM (tpm/gce-cos85-attestation/README.md)

    static let gce = "gce-cos85-attestation"
    static var googleRoot: Certificate { get throws { try Certificate(derEncoded: try bytes("tpm/gce-ek-ak-certificates/tpm_ek_root_1.der")) } }
    static var googleIntermediate: Certificate {
        get throws { try Certificate(derEncoded: try bytes("tpm/gce-ek-ak-certificates/tpm_ek_intermediate_2.der")) }
    }
    static var gceEventLog: [UInt8] { get throws { try bytes("eventlog/gce-cos85-attestation.bin") } }

    /// One of the six GCE quotes (`nonce9009` or `nononce`, bank `sha1`, `sha256` or `sha384`)
    /// with the AK, its certificate and the Google intermediate, the quoted PCR values from
    /// case.json and the event log.
    static func gceBundle(attestation: String = "nonce9009", bank: String = "sha256", eventLog: Bool = true) throws -> EvidenceBundle {
        let json = try caseJSON(gce)
        let attestations = json["attestations"] as! [[String: Any]]
        let attestationJSON = attestations.first { $0["nonce_hex"] as? String == (attestation == "nonce9009" ? "9009" : "") }!
        let quote = (attestationJSON["quotes"] as! [[String: Any]]).first { $0["bank"] as! String == bank }!
        let values = quote["pcr_values"] as! [String: String]
        let algorithm = TPMAlgorithmID(name: bank)!
        var pcrs: TPMPCRValues = [:]
        for (index, hex) in values { pcrs[algorithm, default: [:]][Int(index)!] = [UInt8](hex: hex) }
        let prefix = "tpm/\(gce)/\(attestation)_quote_\(bank)"
        let evidence = TPMEvidence(
            attestationKey: try TPMTPublic(tpmBytes: try bytes("tpm/\(gce)/ak.tpmt_public.bin")),
            akCertificates: [try Certificate(derEncoded: try bytes("tpm/\(gce)/ak_cert.der")), try googleIntermediate],
            quote: TPMQuoteEvidence(
                attest: try bytes("\(prefix).tpms_attest.bin"),
                signature: try TPMTSignature(tpmBytes: try bytes("\(prefix).tpmt_signature.bin")),
                pcrs: pcrs, eventLog: eventLog ? try gceEventLog : nil))
        return EvidenceBundle(nonce: attestation == "nonce9009" ? [0x90, 0x09] : [], runtimeKey: nil, evidence: .tpm(evidence))
    }

    /// The nonce GCE's tooling put in extraData of the `nonce9009` quotes, as its case.json says.
    static let gceQualifyingData: [UInt8] = [0x90, 0x09]

    static func gceVerifier(at time: Date = verificationTime) throws -> AttestationVerifier {
        AttestationVerifier(configuration: .init(tpmRoots: [try googleRoot], verificationTime: time))
    }
}

extension [UInt8] {
    init(hex: String) {
        self = stride(from: 0, to: hex.count, by: 2).map { offset in
            let start = hex.index(hex.startIndex, offsetBy: offset)
            return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)!
        }
    }

    var hex: String { self.map { String(format: "%02x", $0) }.joined() }
}

/// Runs a program and returns its standard output, standard error and exit status.
func run(_ executable: String, _ arguments: [String], input: [UInt8] = []) throws -> (output: String, error: String, status: Int32) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe(), error = Pipe(), standardInput = Pipe()
    process.standardOutput = output
    process.standardError = error
    process.standardInput = standardInput
    try process.run()
    standardInput.fileHandleForWriting.write(Data(input))
    try standardInput.fileHandleForWriting.close()
    let out = output.fileHandleForReading.readDataToEndOfFile()
    let err = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self), process.terminationStatus)
}

/// Whether python3 with the `cryptography` package is available (scripts/install-deps.sh).
let pythonCryptographyAvailable: Bool = {
    (try? run("/usr/bin/env", ["python3", "-c", "import cryptography"]).status) == 0
}()

