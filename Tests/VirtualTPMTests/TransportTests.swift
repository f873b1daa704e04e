import Foundation
import Testing
import TPM2
import TPMClient
import TestSupport

/// TPMClient's socket transports against `cvm vtpm serve`: the mssim command and platform
/// ports and the swtpm data channel reach the same engine.
@Suite(.serialized) struct TransportTests {
    @Test(.timeLimit(.minutes(1)))
    func mssimAndSwtpmReachTheSameEngine() throws {
        let binary = try #require(cvmExecutable, "build the cvm executable (swift build) or set CVM_BINARY")
        let directory = try TemporaryDirectory()
        // Ports below 32768: this sandbox refuses binds in the ephemeral range.
        let port = UInt16(28000 + Int(getpid() % 400) * 8)
        let server = try ChildProcess(binary: binary, arguments: [
            "vtpm", "serve", "--port", "\(port)", "--swtpm-port", "\(port + 2)", "--log-level", "error",
        ], logDirectory: directory.url)
        defer { server.kill() }

        let mssim = MSSimTransport(port: port)
        try #require(server.waitUntilAnswering(mssim), "server did not come up: \(server.log)")
        try mssim.powerOn()
        let viaMSSim = TPM2Client(transport: mssim)
        try viaMSSim.startup()
        let event = sha256(Array("over mssim".utf8))
        try viaMSSim.pcrExtend(pcr: 16, digests: TPMLDigestValues([TPMTHA(algorithm: .sha256, digest: event)]))

        let viaSwtpm = TPM2Client(transport: SwtpmTransport(port: port + 2))
        let read = try viaSwtpm.pcrRead(TPMLPCRSelection([TPMSPCRSelection(hash: .sha256, indices: [16])]))
        #expect(read.digests == [sha256([UInt8](repeating: 0, count: 32), event)])
        #expect(try viaSwtpm.getRandom(32).count == 32)
        // The swtpm channel carries error responses as frames too.
        #expect(throws: TPMClientError.tpm(command: "TPM2_Startup", code: .initialize)) { try viaSwtpm.startup() }
    }

    @Test func unreachableServerIsATransportError() {
        let client = TPM2Client(transport: MSSimTransport(port: 1))
        let error = #expect(throws: TPMClientError.self) { try client.getRandom(8) }
        guard case .transport = error else {
            Issue.record("expected a transport error, got \(String(describing: error))")
            return
        }
    }
}
