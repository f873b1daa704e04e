import Foundation
import Testing
import TPM2
import TPMClient
import TestSupport
import TPMFuzzing

/// `cvm vtpm serve` with persistent state, killed with SIGKILL at random moments while it
/// writes an NV index: after every restart the state opens and the index holds either the last
/// acknowledged value or the one whose write was in flight — never a torn or older value.
@Suite(.serialized) struct CrashSafetyTests {
    static let rounds = 30
    static let index = TPMHandle(0x0150_0020)
    static let size: UInt16 = 64

    /// Value number `n`: its number in the first four bytes, then a fill alternating between
    /// 0xA5 and 0x5A, so a torn write (half of one value, half of another) is detected.
    static func value(_ n: UInt32) -> [UInt8] {
        [UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)]
            + [UInt8](repeating: n % 2 == 0 ? 0xA5 : 0x5A, count: Int(size) - 4)
    }

    @Test(.timeLimit(.minutes(5)))
    func nvSurvivesSIGKILLAtRandomMoments() throws {
        let binary = try #require(cvmExecutable, "build the cvm executable (swift build) or set CVM_BINARY")
        let directory = try TemporaryDirectory()
        let keyFile = directory.url.appendingPathComponent("state.key")
        try Data(repeating: 0x37, count: 32).write(to: keyFile)
        let stateDirectory = directory.url.appendingPathComponent("state")
        var random = SplitMix64(seed: 0xC0FFEE)
        // Ports below 32768: this sandbox refuses binds in the ephemeral range.
        let basePort = UInt16(20000 + Int(getpid() % 400) * 20)

        var acknowledged: [UInt8]?
        var inFlight: [UInt8]?
        var counter: UInt32 = 0
        var writesBeforeKill: [Int] = []
        for round in 0..<Self.rounds {
            let port = basePort + UInt16(round % 10) * 2
            let server = try ChildProcess(binary: binary, arguments: [
                "vtpm", "serve", "--state", stateDirectory.path, "--state-key-file", keyFile.path, "--port", "\(port)", "--log-level", "error",
            ], logDirectory: directory.url)
            let transport = MSSimTransport(port: port)
            let client = TPM2Client(transport: transport)
            try #require(server.waitUntilAnswering(transport), "round \(round): the server did not come up: \(server.log)")
            try transport.powerOn()
            try client.startup()
            if round == 0 {
                try client.nvDefineSpace(publicInfo: TPMSNVPublic(nvIndex: Self.index, nameAlg: .sha256, attributes: [.authWrite, .authRead, .noDA], authPolicy: [], dataSize: Self.size))
                try client.nvWrite(index: Self.index, data: Self.value(counter))
                acknowledged = Self.value(counter)
            }
            let stored = try client.nvRead(index: Self.index, size: Self.size)
            #expect(stored == acknowledged || stored == inFlight, "round \(round): NV holds neither the acknowledged nor the in-flight value")
            acknowledged = stored
            inFlight = nil

            let delay = Int(random.next() % 120)
            let killed = DispatchSemaphore(value: 0)
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(delay)) {
                server.kill()
                killed.signal()
            }
            var writes = 0
            while true {
                counter += 1
                let next = Self.value(counter)
                inFlight = next
                do {
                    try client.nvWrite(index: Self.index, data: next)
                } catch {
                    guard case .transport = error else { throw error }
                    break
                }
                acknowledged = next
                inFlight = nil
                writes += 1
            }
            killed.wait()
            writesBeforeKill.append(writes)
        }
        // The kills landed at different points: some rounds wrote nothing, others several times.
        #expect(Set(writesBeforeKill).count > 3, "writes per round: \(writesBeforeKill)")

        let server = try ChildProcess(binary: binary, arguments: [
            "vtpm", "serve", "--state", stateDirectory.path, "--state-key-file", keyFile.path, "--port", "\(basePort)", "--log-level", "error",
        ], logDirectory: directory.url)
        defer { server.kill() }
        let transport = MSSimTransport(port: basePort)
        let client = TPM2Client(transport: transport)
        try #require(server.waitUntilAnswering(transport), "final restart: \(server.log)")
        try client.startup()
        let final = try client.nvRead(index: Self.index, size: Self.size)
        #expect(final == acknowledged || final == inFlight)
    }
}
