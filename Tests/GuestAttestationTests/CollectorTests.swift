import Foundation
import GuestAttestation
import SEVSNP
import TPM2
import TPMClient
import TestSupport
import Testing

@Suite("Evidence collection")
struct CollectorTests {
    static let nonce = (0..<32).map { UInt8($0 * 7 & 0xFF) }
    static var reportData: [UInt8] { nonce + [UInt8](repeating: 0, count: 32) }

    static func verifySNP(_ evidence: CollectedEvidence) throws -> VerifiedSNPReport {
        let table = try SNPCertificateTable(bytes: try #require(evidence.snpCertificateTable))
        return try SNPVerifier(trustedRoots: [.emulated(try Emulated.chain.get())])
            .verify(try SNPReport(bytes: try #require(evidence.snpReport)), certificates: try table.chain(), at: Date())
    }

    @Test("SEV-SNP through configfs-tsm: a verifiable report over the padded nonce, its chain, the real event log")
    func snpConfigfs() throws {
        let (guest, tsm) = try ConfigFSTSMTests.snpGuest()
        let log = try TestData.eventLog
        try guest.tree.file(GuestEvidenceCollector.eventLogPath, log)
        let evidence = try GuestEvidenceCollector(fileSystem: guest, tpm: nil).collect(nonce: Self.nonce, reportData: Self.reportData, qualifyingData: Self.nonce)
        #expect(evidence.platform == .sevSNP)
        #expect(try Self.verifySNP(evidence).report.reportData == Self.reportData)
        #expect(evidence.eventLog == log)
        #expect(evidence.tpmQuote == nil && evidence.ccel == nil)
        #expect(evidence.sources["snp-report.bin"] == "configfs-tsm (provider sev_guest)")
        #expect(evidence.sources["eventlog.bin"] == GuestEvidenceCollector.eventLogPath)
        #expect(tsm.entries.isEmpty)
    }

    @Test("SEV-SNP through /dev/sev-guest: the extended report and the real Milan table after a retry, VMPL as asked")
    func snpDevice() throws {
        let guest = FakeGuest(try GuestTree())
        let kernel = FakeSEVGuestKernel(certificates: try TestData.milanCertificateTable)
        guest.devices[SEVGuestDevice.path] = kernel
        let evidence = try GuestEvidenceCollector(fileSystem: guest, tpm: nil).collect(nonce: Self.nonce, reportData: Self.reportData, qualifyingData: Self.nonce, privilegeLevel: 1)
        let report = try SNPReport(bytes: try #require(evidence.snpReport))
        #expect(report.reportData == Self.reportData && report.vmpl == 1)
        #expect(try SNPCertificateTable(bytes: try #require(evidence.snpCertificateTable)).entries.map(\.kind) == [.vcek, .ask, .ark])
        #expect(kernel.requests.map(\.certsLen) == [4096, 8192])
        #expect(evidence.sources["snp-report.bin"] == "/dev/sev-guest SNP_GET_EXT_REPORT")
    }

    @Test("SEV-SNP evidence that does not carry the nonce, or does not parse, is refused")
    func snpRefusals() throws {
        let table = try Emulated.certificateTable
        let stale = EmulatedTSM(provider: "sev_guest") { _, _ in (try Emulated.report([UInt8](repeating: 9, count: 64)), table) }
        #expect(throws: GuestAttestationError.reportDataMismatch(source: "configfs-tsm (provider sev_guest)")) {
            try GuestEvidenceCollector(fileSystem: FakeGuest(try GuestTree(), tsm: stale), tpm: nil).collect(nonce: Self.nonce, reportData: Self.reportData, qualifyingData: Self.nonce)
        }
        let short = EmulatedTSM(provider: "sev_guest") { inblob, _ in (Array(try Emulated.report(inblob).prefix(1000)), table) }
        #expect(throws: GuestAttestationError.snp(.wrongReportSize(actual: 1000))) {
            try GuestEvidenceCollector(fileSystem: FakeGuest(try GuestTree(), tsm: short), tpm: nil).collect(nonce: Self.nonce, reportData: Self.reportData, qualifyingData: Self.nonce)
        }
        let badTable = EmulatedTSM(provider: "sev_guest") { inblob, _ in (try Emulated.report(inblob), Array(table.prefix(30))) }
        #expect(throws: GuestAttestationError.snp(.truncated(field: "certificate table entry GUID", offset: 24))) {
            try GuestEvidenceCollector(fileSystem: FakeGuest(try GuestTree(), tsm: badTable), tpm: nil).collect(nonce: Self.nonce, reportData: Self.reportData, qualifyingData: Self.nonce)
        }
    }

    @Test("TDX: the real quote through configfs-tsm, the TDREPORT through /dev/tdx_guest, the real CCEL")
    func tdx() throws {
        let quote = try TestData.tdxQuote
        var written: [UInt8]?
        let tsm = EmulatedTSM(provider: "tdx_guest", showsPrivlevel: false, showsAuxblob: false) { inblob, _ in
            written = inblob
            return (quote, nil)
        }
        let guest = FakeGuest(try GuestTree(), tsm: tsm)
        let kernel = FakeTDXGuestKernel()
        guest.devices[TDXGuestDevice.path] = kernel
        let ccel = try TestData.ccel
        try guest.tree.file(GuestEvidenceCollector.ccelPath, ccel)
        let evidence = try GuestEvidenceCollector(fileSystem: guest, tpm: nil).collect(nonce: Self.nonce, reportData: Self.reportData, qualifyingData: Self.nonce)
        #expect(evidence.platform == .tdx)
        #expect(evidence.tdQuote == quote)
        #expect(written == Self.reportData)
        #expect(kernel.reportData == Self.reportData)
        #expect(evidence.tdReport.map { Array($0[128..<192]) } == Self.reportData)
        #expect(evidence.ccel == ccel)
        #expect(evidence.snpReport == nil)
    }

    @Test("Azure CVM: the real HCL report from NV and a quote with the nonce, written to files and read back")
    func azure() throws {
        let (tree, client) = try DetectionTests.azureGuest()
        let evidence = try GuestEvidenceCollector(fileSystem: tree.fileSystem, tpm: client).collect(nonce: Self.nonce, reportData: Self.reportData, qualifyingData: Self.nonce, pcrs: [0, 1, 2, 3, 7])
        #expect(evidence.platform == .azureCVM)
        #expect(evidence.azureHCLReport == (try TestData.azureHCLReport))
        let quote = try #require(evidence.tpmQuote)
        let key = try TPMTPublic(tpmBytes: quote.keyPublic)
        _ = try QuoteVerifier(attestationKey: key).verifyQuote(
            quote.attest, signature: try TPMTSignature(tpmBytes: quote.signature), nonce: Self.nonce, pcrValues: [.sha256: quote.pcrValues])

        let out = try GuestTree()
        let directory = out.url.path + "/evidence"
        try evidence.write(toDirectory: directory)
        try evidence.write(toDirectory: directory)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(names == ["azure-hcl-report.bin", "evidence.json", "tpm-ak-public.bin", "tpm-quote-attest.bin", "tpm-quote-signature.bin"])
        #expect(try out.contents("/evidence/azure-hcl-report.bin") == (try TestData.azureHCLReport))
        #expect(try out.contents("/evidence/tpm-quote-attest.bin") == quote.attest)
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(try out.contents("/evidence/evidence.json"))) as? [String: Any])
        #expect(manifest["platform"] as? String == "azure-cvm")
        #expect(manifest["nonce"] as? String == Self.nonce.map { String(format: "%02x", $0) }.joined())
        let tpm = try #require(manifest["tpm"] as? [String: Any])
        #expect((tpm["pcrs"] as? [String: String])?.keys.sorted() == ["0", "1", "2", "3", "7"])
        #expect((manifest["sources"] as? [String: String])?["azure-hcl-report.bin"] == "TPM NV index 0x1400001")
    }

    @Test("Unreadable evidence fails the collection with its path; a missing log is simply absent")
    func unreadable() throws {
        let (guest, _) = try ConfigFSTSMTests.snpGuest()
        try guest.tree.file(GuestEvidenceCollector.eventLogPath, [1, 2, 3])
        guest.failures[GuestEvidenceCollector.eventLogPath] = EACCES
        #expect(throws: GuestAttestationError.fileSystem(operation: "examine", path: GuestEvidenceCollector.eventLogPath, errno: EACCES)) {
            try GuestEvidenceCollector(fileSystem: guest, tpm: nil).collect(nonce: Self.nonce, reportData: Self.reportData, qualifyingData: Self.nonce)
        }
        let out = try GuestTree()
        try out.file("/file", [0])
        let evidence = try GuestEvidenceCollector(fileSystem: FakeGuest(try GuestTree(), tsm: try ConfigFSTSMTests.snpGuest().1), tpm: nil).collect(nonce: Self.nonce, reportData: Self.reportData, qualifyingData: Self.nonce)
        #expect(throws: GuestAttestationError.fileSystem(operation: "create directory", path: out.url.path + "/file/evidence", errno: ENOTDIR)) {
            try evidence.write(toDirectory: out.url.path + "/file/evidence")
        }
    }

    @Test("Report data other than 64 bytes is refused; a guest with nothing to collect says why")
    func refusals() throws {
        let collector = GuestEvidenceCollector(fileSystem: try GuestTree().fileSystem, tpm: nil)
        for size in [0, 63, 65] {
            #expect(throws: GuestAttestationError.invalidArgument("report data is 64 bytes, not \(size)")) {
                try collector.collect(nonce: Self.nonce, reportData: [UInt8](repeating: 1, count: size), qualifyingData: Self.nonce)
            }
        }
        #expect(throws: GuestAttestationError.unavailable("nothing to collect: no report interface and no TPM")) {
            try collector.collect(nonce: Self.nonce, reportData: Self.reportData, qualifyingData: Self.nonce)
        }
    }
}
