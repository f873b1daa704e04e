import Testing
import TPM2
import TPMFuzzing

/// A bounded, seeded run of the command-frame fuzzer (the long run is `cvm vtpm fuzz`).
@Suite struct FuzzTests {
    @Test(.timeLimit(.minutes(5)))
    func twentyThousandMutatedFramesGetWellFormedResponses() throws {
        let summary = try FuzzCampaign(seed: 0x5EED_2026).run(iterations: 20_000)
        #expect(summary.iterations == 20_000)
        #expect(summary.findings.isEmpty, "\(summary.findings)")
        // The mutations reach past the header: several distinct codes, and some inputs succeed.
        #expect(summary.responseCodes.count > 10)
        #expect(summary.successes > 0)
    }

    @Test func responseCheckerRejectsBadFrames() {
        #expect(FuzzCampaign.responseProblem([0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x01, 0x01]) == nil)
        #expect(FuzzCampaign.responseProblem([0x80, 0x01, 0, 0, 0, 10, 0, 0]) != nil)
        #expect(FuzzCampaign.responseProblem([0x80, 0x01, 0, 0, 0, 11, 0, 0, 0, 0]) != nil)
        #expect(FuzzCampaign.responseProblem([0x80, 0x03, 0, 0, 0, 10, 0, 0, 0, 0]) != nil)
        #expect(FuzzCampaign.responseProblem([0x80, 0x01, 0, 0, 0, 11, 0, 0, 0x01, 0x01, 0]) != nil)
    }

    @Test func sameSeedSameInputs() throws {
        let corpus = try SeedCorpus.frames()
        var a = FrameFuzzer(seed: 7, corpus: corpus)
        var b = FrameFuzzer(seed: 7, corpus: corpus)
        var c = FrameFuzzer(seed: 8, corpus: corpus)
        let first = (0..<50).map { _ in a.next() }
        #expect(first == (0..<50).map { _ in b.next() })
        #expect(first != (0..<50).map { _ in c.next() })
    }
}
