import CVMDemo
import Foundation
import Testing

@Suite("cvm demo, end to end")
struct DemoTests {
    @Test("The good VM gets its secrets and disk; the tampered-kernel, debug and secure-boot-off VMs are refused by the right rules")
    func story() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cvm-demo-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let lines = LineCollector()
        let report = try await DemoScenario(workDirectory: directory).run { lines.append($0) }

        #expect(report.succeeded, "\(lines.text)")
        let outcomes = Dictionary(uniqueKeysWithValues: report.outcomes.map { ($0.step, $0) })
        #expect(outcomes["good VM receives its secrets and unlocks its disk"]?.happened == true)
        let tampered = try #require(outcomes["a VM whose kernel was tampered with is refused by rule pcrs"])
        #expect(tampered.failedRules.sorted() == ["pcrs (PCR 4 (sha256))", "pcrs (PCR 9 (sha256))"])
        let debug = try #require(outcomes["a VM launched with the debug policy is refused by rule debug-forbidden"])
        #expect(debug.failedRules == ["debug-forbidden (SNP guest policy DEBUG)"])
        let secureBootOff = try #require(outcomes["a VM booted with secure boot off is refused by rule secure-boot"])
        #expect(secureBootOff.failedRules.sorted() == ["pcrs (PCR 7 (sha256))", "secure-boot (secure boot)"])
        #expect(lines.text.contains("the data disk unlocked: \"hello from inside the confidential VM\""))
        #expect(!lines.text.contains("s3cr3t-token-for-the-workload"))
    }
}

/// Collects the demo's narration from its callback.
final class LineCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var text: String { lock.withLock { lines.joined(separator: "\n") } }
}
