import ArgumentParser
import Crypto
import Foundation
import TDX

/// `cvm bench tdx`: how many TDX quotes per second `TDXCachingVerifier` parses and verifies (the
/// QE report signature under the PCK key, the QE binding hash, the quote signature under the
/// attestation key, validity of every certificate at the time, TCB evaluation when collateral is
/// given; the PCK chain and collateral signatures once), beside OpenSSL's raw ECDSA P-256 verify
/// rate measured in the same run. Each quote costs two P-256 verifications that no cache can
/// avoid, so half OpenSSL's rate is the bound the figure is compared with. Both rates are per
/// second of CPU time on one thread, as `openssl speed` reports by default, so that other work on
/// a shared machine slows neither figure.
struct BenchTDX: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tdx",
        abstract: "TDX quotes verified per second beside OpenSSL's ECDSA P-256 verify rate and the two-verify bound.",
        discussion: "Build in release mode first (swift build -c release)."
    )

    @Option(help: "The quote to verify over and over.")
    var quote = "../shared/testdata/tpm/azure-tdx-cvm-trustee/td_quote.bin"

    @Option(help: "A collateral directory (as for `cvm tdx verify`) to evaluate the TCB against on every quote.")
    var collateral: String?

    @Option(help: "Verification time, inside the validity of the quote's certificates and the collateral.")
    var at = "2025-06-01T00:00:00Z"

    @Option(help: "Seconds for each measurement.")
    var seconds = 3

    @Option(help: "Alternating rounds of CVMKit and OpenSSL; the medians are compared.")
    var rounds = 3

    @Option(help: "The openssl executable.")
    var openssl = "/usr/bin/openssl"

    func validate() throws {
        guard self.seconds >= 1, self.seconds <= 600 else { throw ValidationError("--seconds must be in [1, 600].") }
        guard self.rounds >= 1, self.rounds <= 20 else { throw ValidationError("--rounds must be in [1, 20].") }
        guard ISO8601DateFormatter().date(from: self.at) != nil else { throw ValidationError("--at must be an ISO 8601 time.") }
    }

    func run() throws {
        try reportingFailures {
            warnIfDebugBuild()
            let bytes = try readBinaryFile(self.quote)
            let time = ISO8601DateFormatter().date(from: self.at)!
            let verifier = try TDXCachingVerifier(collateral: try loadTDXCollateral(self.collateral))
            print("cvm bench tdx: \(self.quote), collateral \(self.collateral ?? "none"), "
                + "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(self.rounds) rounds of \(self.seconds) s")
            // Rounds alternate between the two so that a change in machine load affects both alike.
            var ours: [Double] = []
            var theirs: [Double] = []
            for round in 1...self.rounds {
                ours.append(try callsPerSecond(seconds: Double(self.seconds), cpuTime: true) {
                    _ = try verifier.verify(try TDXQuote(bytes: bytes), at: time)
                })
                theirs.append(try opensslECDSAVerifyRate(openssl: self.openssl, bits: 256, seconds: self.seconds))
                print(String(format: "round %d: %.1f quotes/s, openssl %.1f verify/s (per CPU second), ratio to the bound %.3f",
                             round, ours[round - 1], theirs[round - 1], ours[round - 1] / (theirs[round - 1] / 2)))
            }
            let quotes = Self.median(ours)
            let bound = Self.median(theirs) / 2
            let ratios = zip(ours, theirs).map { $0 / ($1 / 2) }
            print(String(format: "TDX quotes parsed and verified per CPU second, median:   %.1f", quotes))
            print(String(format: "openssl speed ecdsap256 verify/s, median:                %.1f", Self.median(theirs)))
            print(String(format: "two-verify bound (openssl verify/s / 2):                 %.1f", bound))
            print(String(format: "ratio to the bound, median of the rounds:                %.3f  (target >= 0.70)", Self.median(ratios)))
            print(String(format: "swift-crypto P-256 verify/s (per CPU second):            %.1f", try Self.swiftCryptoVerifyRate(seconds: Double(self.seconds))))
        }
    }

    private static func median(_ values: [Double]) -> Double {
        values.sorted()[values.count / 2]
    }

    /// The rate at which swift-crypto, which verifies the quote's signatures, checks one P-256
    /// signature over a 632-byte message (a v4 quote's signed header and body), per CPU second.
    private static func swiftCryptoVerifyRate(seconds: Double) throws -> Double {
        let key = P256.Signing.PrivateKey()
        let message = [UInt8](repeating: 0x5A, count: 632)
        let signature = try key.signature(for: message)
        let publicKey = key.publicKey
        return callsPerSecond(seconds: seconds, cpuTime: true) { _ = publicKey.isValidSignature(signature, for: message) }
    }
}
