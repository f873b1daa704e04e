import Testing
import TPM2
import TPMClient

/// TPM2Client's response handling (Part 3 §5.2) against canned responses.
@Suite struct ClientTests {
    /// A transport that answers every command with the same bytes and keeps the last command.
    final class CannedTransport: TPMTransport, @unchecked Sendable {
        let response: [UInt8]
        var lastCommand: [UInt8] = []
        init(_ response: [UInt8]) { self.response = response }
        func send(_ command: [UInt8]) throws(TPMClientError) -> [UInt8] {
            lastCommand = command
            return response
        }
    }

    @Test func getRandomFrameIsThePart3Layout() throws {
        let transport = CannedTransport([0x80, 0x01, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4])
        #expect(try TPM2Client(transport: transport).getRandom(4) == [1, 2, 3, 4])
        // TPM_ST_NO_SESSIONS, commandSize 12, TPM_CC_GetRandom, bytesRequested 4.
        #expect(transport.lastCommand == [0x80, 0x01, 0, 0, 0, 0x0C, 0, 0, 0x01, 0x7B, 0, 4])
    }

    @Test func passwordSessionFrameIsThePart3Layout() throws {
        let transport = CannedTransport([0x80, 0x02, 0, 0, 0, 0x13, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0])
        try TPM2Client(transport: transport).pcrExtend(pcr: 16, digests: TPMLDigestValues([]))
        // TPM_ST_SESSIONS, size 31, TPM_CC_PCR_Extend, PCR 16, authorizationSize 9,
        // TPM_RS_PW, empty nonce, continueSession, empty password, empty digest list.
        #expect(transport.lastCommand == [0x80, 0x02, 0, 0, 0, 0x1F, 0, 0, 0x01, 0x82, 0, 0, 0, 0x10, 0, 0, 0, 9,
                                          0x40, 0, 0, 0x09, 0, 0, 0x01, 0, 0, 0, 0, 0, 0])
    }

    @Test func errorResponseNamesTheCommand() {
        let client = TPM2Client(transport: CannedTransport([0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x01, 0x01]))
        #expect(throws: TPMClientError.tpm(command: "TPM2_GetRandom", code: .failure)) { try client.getRandom(8) }
    }

    @Test(arguments: [
        [UInt8](),
        [0x80, 0x01, 0, 0, 0, 10, 0, 0],
        [0x80, 0x01, 0, 0, 0, 12, 0, 0, 0, 0],
        [0x80, 0x01, 0, 0, 0, 12, 0, 0, 0, 0, 0, 4],
        [0x80, 0x02, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0],
        [0x80, 0x01, 0, 0, 0, 15, 0, 0, 0, 0, 0, 1, 9, 9, 9],
    ])
    func malformedResponsesAreReported(_ response: [UInt8]) {
        let client = TPM2Client(transport: CannedTransport(response))
        let error = #expect(throws: TPMClientError.self) { try client.getRandom(8) }
        guard case .malformedResponse(command: "TPM2_GetRandom", reason: _) = error else {
            Issue.record("expected malformedResponse, got \(String(describing: error))")
            return
        }
    }
}
