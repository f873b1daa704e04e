import Foundation
import SEVSNP
import TestSupport
import Testing

@Suite("Extended-report certificate table")
struct SNPCertificateTableTests {
    /// A table laid out as the GHCB specification describes: entries of GUID, offset, length, a zero
    /// entry, then the certificates.
    static func table(_ entries: [(guid: String, der: [UInt8])]) -> [UInt8] {
        var header: [UInt8] = []
        var body: [UInt8] = []
        let start = (entries.count + 1) * 24
        for entry in entries {
            let uuid = UUID(uuidString: entry.guid)!.uuid
            header += withUnsafeBytes(of: uuid) { Array($0) }
            header += withUnsafeBytes(of: UInt32(start + body.count).littleEndian) { Array($0) }
            header += withUnsafeBytes(of: UInt32(entry.der.count).littleEndian) { Array($0) }
            body += entry.der
        }
        return header + [UInt8](repeating: 0, count: 24) + body
    }

    static func milanTable() throws -> [UInt8] {
        let askArk = try TestData.milanASKARK
        return table([
            ("63da758d-e664-4564-adc5-f4b93be8accd", try TestData.milanVCEK.derBytes),
            ("4ab7b379-bbac-4fe4-a02f-05aef327c782", askArk[0].derBytes),
            ("c0b406a4-a803-4952-9743-3fb6014cd0ae", askArk[1].derBytes),
        ])
    }

    @Test("A VCEK/ASK/ARK table parses and its chain verifies the Milan report")
    func milanTable() throws {
        let table = try SNPCertificateTable(bytes: try Self.milanTable())
        #expect(table.entries.map(\.kind) == [.vcek, .ask, .ark])
        let report = try SNPReport(bytes: try TestData.milanReport)
        let verified = try SNPVerifier().verify(report, certificates: try table.chain(), at: TestData.verificationTime)
        #expect(verified.root == "AMD ARK-Milan")
    }

    @Test("The VLEK GUID is recognised and unknown GUIDs are kept without a kind")
    func kinds() throws {
        let bytes = Self.table([
            ("a8074bc2-a25a-483e-aae6-39c045a0b8a1", [0x30]),
            ("00000000-0000-0000-0000-000000000001", [0x01, 0x02]),
        ])
        let table = try SNPCertificateTable(bytes: bytes)
        #expect(table.entries.map(\.kind) == [.vlek, nil])
        #expect(table.entries[1].data == [0x01, 0x02])
    }

    @Test("A table without its zero terminator is truncated")
    func missingTerminator() throws {
        let bytes = Array(try Self.milanTable()[0..<(3 * 24)])
        #expect(throws: SNPError.truncated(field: "certificate table entry GUID", offset: 72)) {
            try SNPCertificateTable(bytes: bytes)
        }
    }

    @Test("An entry pointing outside the table is rejected")
    func entryOutside() throws {
        var bytes = try Self.milanTable()
        bytes[23] = 0xFF
        #expect {
            try SNPCertificateTable(bytes: bytes)
        } throws: { error in
            if case .certificateTableMalformed = error as? SNPError { return true }
            return false
        }
    }
}
