import ArgumentParser
import Foundation
import SEVSNP

/// `cvm snp bench`: how many genuine SEV-SNP reports per second `SNPCachingVerifier` verifies
/// (each report's ECDSA P-384 signature, certificate validity and TCB checks; the chain once per
/// VCEK), beside the raw ECDSA P-384 verify rate `openssl speed` measures on the same machine in
/// the same run, so the figure can be read as a fraction of the signature check it cannot avoid.
struct SNPBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure SEV-SNP report verifications per second against OpenSSL's ECDSA P-384 verify rate."
    )

    @Option(help: "The folder with milan-report-1.bin, milan-vcek-1.der and amd-milan-ask-ark.pem.")
    var testdata = "../shared/testdata/snp"

    @Option(help: "Seconds to run each measurement for.")
    var seconds = 3

    @Option(help: "The openssl executable.")
    var openssl = "/usr/bin/openssl"

    /// Inside the validity of the Milan fixture's VCEK (2022-09-24 to 2029-09-24), ASK and ARK.
    static let verificationTime = ISO8601DateFormatter().date(from: "2025-06-01T00:00:00Z")!

    func validate() throws {
        if self.seconds < 1 {
            throw ValidationError("--seconds must be at least 1.")
        }
    }

    func run() throws {
        try reportingFailures {
            warnIfDebugBuild()
            let ours = try self.verificationRate()
            let theirs = try opensslECDSAVerifyRate(openssl: self.openssl, bits: 384, seconds: self.seconds)
            print(String(format: "SNP report verifications/s (chain cached per VCEK): %.1f", ours))
            print(String(format: "openssl speed ecdsap384 verify/s:                  %.1f", theirs))
            print(String(format: "ratio:                                             %.3f", ours / theirs))
        }
    }

    /// Verifies the Milan report over and over for `seconds`, after one untimed verification
    /// that fills the chain cache.
    private func verificationRate() throws -> Double {
        let folder = URL(fileURLWithPath: self.testdata)
        let report = try SNPReport(bytes: try readBinaryFile(folder.appendingPathComponent("milan-report-1.bin").path))
        let askArk = try AMDCertificate.certificates(derOrPEM: try readBinaryFile(folder.appendingPathComponent("amd-milan-ask-ark.pem").path))
        let vcek = try AMDCertificate(derEncoded: try readBinaryFile(folder.appendingPathComponent("milan-vcek-1.der").path))
        let chain = SNPCertificateChain(endorsementKey: vcek, intermediate: askArk.first, root: askArk.last)
        let verifier = SNPCachingVerifier()
        return try callsPerSecond(seconds: Double(self.seconds)) {
            _ = try verifier.verify(report, certificates: chain, at: Self.verificationTime)
        }
    }
}
