import ArgumentParser
import Foundation
import TPMFuzzing

extension VTPMCommand {
    /// `cvm vtpm fuzz`: the seeded command-frame fuzzer of the CI test, for long runs.
    struct Fuzz: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fuzz the vTPM engine in-process with mutated TPM command frames.",
            discussion: """
            Mutates valid frames (TPM2_Startup, GetRandom, PCR, CreatePrimary, Create, Load, \
            Unseal, Quote, NV, sessions and PolicyPCR) and random bytes, and checks that every \
            response is a well-formed TPM response frame and that the engine keeps answering \
            TPM2_GetRandom. A run is reproduced exactly by its --seed. Exits non-zero on findings.
            """
        )

        @Option(help: "Number of inputs.")
        var iterations: Int = 1_000_000

        @Option(help: "Seed of the mutation generator.")
        var seed: UInt64 = 1

        @Option(help: "Print progress every this many inputs.")
        var progressEvery: Int = 100_000

        func validate() throws {
            guard iterations > 0 else { throw ValidationError("--iterations must be positive") }
            guard progressEvery > 0 else { throw ValidationError("--progress-every must be positive") }
        }

        func run() throws {
            let started = ContinuousClock.now
            let campaign = FuzzCampaign(seed: seed)
            let summary = try campaign.run(iterations: iterations, progressInterval: progressEvery) { progress in
                print("cvm vtpm fuzz: \(progress.iterations) inputs, \(progress.successes) accepted, \(progress.findings.count) findings, \(ContinuousClock.now - started)")
                fflush(nil)
            }
            let elapsed = ContinuousClock.now - started
            print("cvm vtpm fuzz: seed \(seed), \(summary.iterations) inputs in \(elapsed), \(summary.successes) accepted, \(summary.responseCodes.count) distinct response codes")
            for (code, count) in summary.responseCodes.sorted(by: { $0.value > $1.value }).prefix(10) {
                print("  \(code): \(count)")
            }
            for finding in summary.findings { print("FINDING: \(finding)") }
            if !summary.findings.isEmpty { throw ExitCode.failure }
        }
    }
}
