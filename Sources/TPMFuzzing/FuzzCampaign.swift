import Foundation
import TPM2
import TPMClient
import VirtualTPM

/// What a fuzz run found wrong.
public enum FuzzFinding: Sendable, Equatable, CustomStringConvertible {
    /// The engine answered `input` with bytes that are not a TPM response frame.
    case malformedResponse(iteration: Int, input: [UInt8], response: [UInt8], reason: String)
    /// After `iteration`, a valid TPM2_GetRandom no longer succeeded.
    case unresponsive(iteration: Int, error: String)

    public var description: String {
        switch self {
        case let .malformedResponse(iteration, input, response, reason):
            "input \(iteration): \(reason); input \(hex(input)), response \(hex(response))"
        case let .unresponsive(iteration, error):
            "after input \(iteration) the engine no longer answers TPM2_GetRandom: \(error)"
        }
    }
}

private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

/// The outcome of a fuzz run.
public struct FuzzSummary: Sendable {
    public var iterations = 0
    /// How many inputs the engine accepted (TPM_RC_SUCCESS).
    public var successes = 0
    /// Response codes seen, with their counts.
    public var responseCodes: [TPMResponseCode: Int] = [:]
    public var findings: [FuzzFinding] = []
}

/// Runs mutated command frames through an in-process ephemeral engine, checking that every
/// response is a well-formed response frame (Part 3 §5.2: a 10-byte header whose responseSize
/// is the frame's length; an error response is exactly the header with TPM_ST_NO_SESSIONS)
/// and that the engine still executes a valid TPM2_GetRandom every `livenessInterval` inputs
/// and at the end.
public struct FuzzCampaign: Sendable {
    public let seed: UInt64
    public let livenessInterval: Int
    public let maxFindings: Int

    public init(seed: UInt64, livenessInterval: Int = 1000, maxFindings: Int = 20) {
        self.seed = seed
        self.livenessInterval = livenessInterval
        self.maxFindings = maxFindings
    }

    /// Checks one response frame; nil when it is well formed.
    public static func responseProblem(_ response: [UInt8]) -> String? {
        guard response.count >= 10 else { return "response shorter than the 10-byte header" }
        let tag = UInt16(response[0]) << 8 | UInt16(response[1])
        let size = response[2..<6].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let code = response[6..<10].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard size == response.count else { return "responseSize \(size) but \(response.count) bytes" }
        guard tag == TPMStructureTag.noSessions.rawValue || tag == TPMStructureTag.sessions.rawValue else {
            return "response tag 0x\(String(tag, radix: 16))"
        }
        if code != 0 {
            guard response.count == 10, tag == TPMStructureTag.noSessions.rawValue else { return "error response with a body or session tag" }
        }
        return nil
    }

    /// Runs `iterations` inputs, calling `progress` after every `progressInterval` of them.
    public func run(
        iterations: Int, progressInterval: Int = 100_000, progress: (FuzzSummary) -> Void = { _ in }
    ) throws(TPMClientError) -> FuzzSummary {
        let corpus = try SeedCorpus.frames()
        let engine: TPMEngine
        do { engine = try TPMEngine(mode: .ephemeral) } catch { throw .transport("\(error)") }
        engine.powerOn()
        let client = TPM2Client(transport: EngineTransport(engine: engine))
        for frame in corpus { _ = engine.execute(frame) }

        var fuzzer = FrameFuzzer(seed: seed, corpus: corpus)
        var summary = FuzzSummary()
        var localities = SplitMix64(seed: ~seed)
        for iteration in stride(from: 1, through: iterations, by: 1) {
            let input = fuzzer.next()
            let locality = localities.next() % 8 == 0 ? UInt8(localities.next() % 5) : 0
            let response = engine.execute(input, locality: locality)
            summary.iterations = iteration
            if let problem = Self.responseProblem(response) {
                summary.findings.append(.malformedResponse(iteration: iteration, input: input, response: response, reason: problem))
            } else {
                let code = TPMResponseCode(response[6..<10].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
                summary.responseCodes[code, default: 0] += 1
                if code == .success { summary.successes += 1 }
            }
            if iteration % livenessInterval == 0 || iteration == iterations {
                do { _ = try client.getRandom(8) } catch { summary.findings.append(.unresponsive(iteration: iteration, error: "\(error)")) }
            }
            if iteration % progressInterval == 0 { progress(summary) }
            if summary.findings.count >= maxFindings { break }
        }
        return summary
    }
}
