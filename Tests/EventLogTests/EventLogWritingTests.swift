import Crypto
import EventLog
import Testing

@Suite("Writing a crypto-agile log record by record")
struct EventLogWritingTests {
    @Test("A built log encodes to bytes that parse back to the same records, offsets and replay")
    func roundTrip() throws {
        var log = try EventLog(algorithms: [.sha1, .sha256])
        try log.appendMeasurement(pcrIndex: 4, eventType: .efiAction, data: Array("Calling EFI Application from Boot Option".utf8))
        try log.appendMeasurement(pcrIndex: 0, eventType: .separator, data: [0, 0, 0, 0])
        try log.append(pcrIndex: 9, eventType: .ipl, digests: [
            TCGDigest(algorithm: .sha1, bytes: Array(Insecure.SHA1.hash(data: Array("file".utf8)))),
            TCGDigest(algorithm: .sha256, bytes: Array(SHA256.hash(data: Array("file".utf8)))),
        ], data: Array("/boot/file\0".utf8))
        let bytes = log.encoded()
        let parsed = try EventLog(bytes: bytes)
        #expect(parsed.encoded() == bytes)
        #expect(parsed.format == .cryptoAgile)
        #expect(parsed.specID == log.specID)
        #expect(parsed.events.map(\.offset) == log.events.map(\.offset))
        #expect(parsed.events.map(\.pcrIndex) == [0, 4, 0, 9])
        #expect(parsed.events.map(\.digests) == log.events.map(\.digests))
        #expect(parsed.replay().values == log.replay().values)
        // PCR 4 = SHA-256(0³² ‖ SHA-256("Calling EFI Application from Boot Option")), PFP v1.06 §10.4.4.
        let action = Array(SHA256.hash(data: Array("Calling EFI Application from Boot Option".utf8)))
        #expect(parsed.replay().values[.sha256, 4] == Array(SHA256.hash(data: [UInt8](repeating: 0, count: 32) + action)))
        guard case .text(let text) = parsed.events[1].content else {
            Issue.record("the EV_EFI_ACTION event did not decode as text")
            return
        }
        #expect(text == "Calling EFI Application from Boot Option")
    }

    @Test("Digests that do not match the declared banks, and banks without a digest size, are refused")
    func refusals() throws {
        var log = try EventLog(algorithms: [.sha256])
        #expect(throws: EventLogError.self) {
            try log.append(pcrIndex: 0, eventType: .separator, digests: [TCGDigest(algorithm: .sha1, bytes: [UInt8](repeating: 0, count: 20))], data: [0, 0, 0, 0])
        }
        #expect(throws: EventLogError.self) {
            try log.append(pcrIndex: 0, eventType: .separator, digests: [TCGDigest(algorithm: .sha256, bytes: [1])], data: [0, 0, 0, 0])
        }
        #expect(log.events.count == 1)
        #expect(throws: EventLogError.invalidSpecIDEvent(offset: 0, reason: "it declares no digest algorithm")) { try EventLog(algorithms: []) }
        #expect(throws: EventLogError.invalidSpecIDEvent(offset: 0, reason: "sha256 is declared twice")) { try EventLog(algorithms: [.sha256, .sha256]) }
        #expect(throws: EventLogError.self) { try EventLog(algorithms: [TPMAlgorithm(rawValue: 0x1234)]) }
    }
}
