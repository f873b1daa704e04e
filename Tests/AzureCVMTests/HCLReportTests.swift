import AzureCVM
import Crypto
import Foundation
import SEVSNP
import TPM2
import X509
import Testing
import _CryptoExtras

@Suite("HCL report parsing on real Azure evidence")
struct HCLReportTests {
    @Test("Every real report parses with the layout its case describes", arguments: AzureCase.all)
    func parses(_ azure: AzureCase) throws {
        let bytes = try azure.hclReport
        let report = try HCLReport(bytes: bytes)
        #expect(report.nvIndexSize == bytes.count)
        #expect(report.header.requestType == .akCert)
        #expect(report.header.status == 0)
        #expect(report.requestData.version == 1)
        #expect(report.requestData.hashType == .sha256)
        #expect(report.requestData.reportType == (azure.isTDX ? .tdx : .snp))
        #expect(Int(report.header.reportSize) == HCLReport.runtimeClaimsOffset + report.runtimeClaimsBytes.count)
        // The claims are the JSON object that starts at offset 1236 and ends where report_size says.
        #expect(report.runtimeClaimsBytes.first == UInt8(ascii: "{"))
        #expect(report.runtimeClaimsBytes.last == UInt8(ascii: "}"))
        #expect(Array(bytes[HCLReport.runtimeClaimsOffset...].prefix(report.runtimeClaimsBytes.count)) == report.runtimeClaimsBytes)
        switch report.hardwareReport {
        case let .snp(snp): #expect(snp.bytes == Array(bytes[32..<1216]))
        case let .tdx(td): #expect(td.bytes == Array(bytes[32..<1056]))
        }
    }

    @Test("The kinvolk reports' request data and claims are what their case.json records",
          arguments: AzureCase.all.filter { $0.directory.hasSuffix("kinvolk") && $0.directory.contains("hcl-report") })
    func kinvolkFields(_ azure: AzureCase) throws {
        let report = try HCLReport(bytes: try azure.hclReport)
        let json = try azure.caseJSON
        let header = json["igvm_request_header"] as! [String: Int]
        #expect(Int(report.requestData.dataSize) == header["data_size"])
        #expect(Int(report.requestData.version) == header["version"])
        #expect(Int(report.requestData.reportType.rawValue) == header["report_type"])
        #expect(Int(report.requestData.hashType.rawValue) == header["report_data_hash_type"])
        #expect(Int(report.requestData.variableDataSize) == header["variable_data_size"])
        #expect(hex(SHA256.hash(data: report.runtimeClaimsBytes)) == json["sha256_of_json_runtime_data"] as? String)
        #expect(hex(report.hardwareReport.reportData) == json["hw_report_data_hex"] as? String)
        let expected = json["json_runtime_data"] as! [String: Any]
        let configuration = expected["vm-configuration"] as! [String: Any]
        #expect(report.runtimeClaims.vmConfiguration.vmUniqueID == configuration["vmUniqueId"] as? String)
        #expect(report.runtimeClaims.vmConfiguration.secureBoot == configuration["secure-boot"] as? Bool)
        #expect(report.runtimeClaims.vmConfiguration.consoleEnabled == configuration["console-enabled"] as? Bool)
        #expect(report.runtimeClaims.vmConfiguration.tpmEnabled == configuration["tpm-enabled"] as? Bool)
        #expect(report.runtimeClaims.vmConfiguration.tpmPersisted == configuration["tpm-persisted"] as? Bool)
        #expect(report.runtimeClaims.vmConfiguration.rootCertThumbprint == configuration["root-cert-thumbprint"] as? String)
        #expect(report.runtimeClaims.vmConfiguration.currentTime.map(Int.init) == configuration["current-time"] as? Int)
        #expect(report.runtimeClaims.userData == expected["user-data"] as? String)
        let keys = expected["keys"] as! [[String: Any]]
        #expect(report.runtimeClaims.keys.map(\.kid) == keys.map { $0["kid"] as! String })
        #expect(report.runtimeClaims.keys.map(\.keyOperations) == keys.map { $0["key_ops"] as! [String] })
    }

    @Test("REPORT_DATA of every real report binds its runtime claims", arguments: AzureCase.all)
    func binding(_ azure: AzureCase) throws {
        let report = try HCLReport(bytes: try azure.hclReport)
        try report.requireRuntimeClaimsBinding()
        #expect(report.hardwareReport.reportData == Array(SHA256.hash(data: report.runtimeClaimsBytes)) + [UInt8](repeating: 0, count: 32))
    }

    @Test("The AK and EK in the claims are the PEMs extracted from the same report", arguments: AzureCase.all)
    func keysMatchPEM(_ azure: AzureCase) throws {
        let claims = try HCLReport(bytes: try azure.hclReport).runtimeClaims
        let ak = try #require(claims.attestationKey)
        #expect(try ak.signingKey().derRepresentation == _RSA.Signing.PublicKey(pemRepresentation: try azure.akPEM).derRepresentation)
        #expect(try ak.verifyingKey().certificatePublicKey == TPMVerifyingKey(pemRepresentation: try azure.akPEM).certificatePublicKey)
        if azure.hasEK {
            let ek = try #require(claims.endorsementKey)
            #expect(try ek.encryptionKey().derRepresentation == _RSA.Encryption.PublicKey(pemRepresentation: try azure.ekPEM).derRepresentation)
        } else {
            #expect(claims.endorsementKey == nil)
        }
    }

    @Test("Encoding a parsed report gives back the NV index contents", arguments: AzureCase.all)
    func roundTrip(_ azure: AzureCase) throws {
        let bytes = try azure.hclReport
        #expect(try HCLReport(bytes: bytes).bytes == bytes)
    }

    @Test("Rebuilding a real report from its parsed values gives back the same bytes", arguments: AzureCase.all)
    func rebuild(_ azure: AzureCase) throws {
        let bytes = try azure.hclReport
        let parsed = try HCLReport(bytes: bytes)
        let builder = HCLReportBuilder(
            runtimeClaims: parsed.runtimeClaims, headerVersion: parsed.header.version, requestType: parsed.header.requestType,
            status: parsed.header.status, hashType: parsed.requestData.hashType, nvIndexSize: bytes.count)
        // The claims re-encode to Azure's exact bytes, so the rebuilt report hashes to the same REPORT_DATA.
        #expect(try builder.runtimeClaimsBytes() == parsed.runtimeClaimsBytes)
        #expect(try builder.reportData() == parsed.hardwareReport.reportData)
        #expect(try builder.build(hardwareReport: parsed.hardwareReport).bytes == bytes)
    }

    @Test("The TDX report's REPORTDATA is the REPORTDATA of the TD quote Intel's quoting enclave signed")
    func tdxQuoteCarriesSameReportData() throws {
        let azure = AzureCase.tdx.first { $0.directory == "azure-tdx-cvm-trustee" }!
        let report = try HCLReport(bytes: try azure.hclReport)
        guard case let .tdx(td) = report.hardwareReport else { Issue.record("not a TDX report"); return }
        let quote = try TestData.bytes("\(azure.directory)/td_quote.bin")
        // TDX DCAP quote v4: a 48-byte header, then the TD report body whose REPORTDATA is at 520.
        #expect(Array(quote[568..<632]) == td.reportData)
    }

    @Test("The listing names the sections and the binding; JSON output encodes")
    func listing() throws {
        let report = try HCLReport(bytes: try AzureCase.all[1].hclReport)
        let text = report.description
        #expect(text.contains("runtime claims binding: ok"))
        #expect(text.contains("HCLAkPub: RSA 2048-bit, e 65537, key_ops sign"))
        #expect(text.contains("vmUniqueId: \"26F8BC30-774E-4290-8E7A-535F3B672AEE\""))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = try JSONSerialization.jsonObject(with: encoder.encode(report)) as! [String: Any]
        #expect((json["header"] as! [String: Any])["report_size"] as? Int == 2346)
        #expect((json["runtime_claims"] as! [String: Any])["user-data"] as? String == String(repeating: "0", count: 128))
    }
}

func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}
