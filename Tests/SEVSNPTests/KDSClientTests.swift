import Foundation
import SEVSNP
import TestSupport
import Testing

@Suite("AMD KDS client")
struct KDSClientTests {
    let client = KDSClient()

    @Test("VCEK, chain and CRL URLs follow pub. 57230 and the form AMD's snpguest requests")
    func urls() throws {
        let chipID = (0..<64).map { UInt8($0) }
        let hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
            + "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
        let milan = try client.vcekURL(product: .milan, chipID: chipID, tcb: TCBComponents(bootloader: 3, tee: 0, snp: 8, microcode: 115))
        #expect(milan.absoluteString == "https://kdsintf.amd.com/vcek/v1/Milan/\(hex)?blSPL=03&teeSPL=00&snpSPL=08&ucodeSPL=115")
        let turin = try client.vcekURL(product: .turin, chipID: chipID, tcb: TCBComponents(fmc: 1, bootloader: 2, tee: 3, snp: 4, microcode: 5))
        #expect(turin.absoluteString == "https://kdsintf.amd.com/vcek/v1/Turin/0001020304050607?fmcSPL=01&blSPL=02&teeSPL=03&snpSPL=04&ucodeSPL=05")
        #expect(throws: SNPError.self) {
            try client.vcekURL(product: .turin, chipID: chipID, tcb: TCBComponents(bootloader: 2, tee: 3, snp: 4, microcode: 5))
        }
        #expect(try client.certificateChainURL(product: .genoa).absoluteString == "https://kdsintf.amd.com/vcek/v1/Genoa/cert_chain")
        #expect(try client.certificateChainURL(product: .milan, signingKey: .vlek).absoluteString == "https://kdsintf.amd.com/vlek/v1/Milan/cert_chain")
        #expect(try client.revocationListURL(product: .turin).absoluteString == "https://kdsintf.amd.com/vcek/v1/Turin/crl")
        let mirror = KDSClient(baseURL: URL(string: "http://127.0.0.1:8080/kds/")!)
        #expect(try mirror.revocationListURL(product: .milan).absoluteString == "http://127.0.0.1:8080/kds/vcek/v1/Milan/crl")
    }

    @Test("Collateral fetched from a local KDS stub verifies an emulated report; a missing file is a typed failure")
    func fetchFromStub() async throws {
        let chain = try EmulatedSNPChain()
        let report = try chain.signReport(EmulatedReportContents())
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kds-stub-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let milan = directory.appendingPathComponent("vcek/v1/Milan")
        try FileManager.default.createDirectory(at: milan, withIntermediateDirectories: true)
        let hwid = chain.chipID.map { String(format: "%02x", $0) }.joined()
        try Data(chain.vcek.derBytes).write(to: milan.appendingPathComponent(hwid))
        let pem = [chain.ask, chain.ark].map {
            "-----BEGIN CERTIFICATE-----\n" + Data($0.derBytes).base64EncodedString(options: .lineLength64Characters) + "\n-----END CERTIFICATE-----\n"
        }.joined()
        try pem.write(to: milan.appendingPathComponent("cert_chain"), atomically: true, encoding: .utf8)
        try Data(try chain.revocationList(revoking: [chain.ask]).derBytes).write(to: milan.appendingPathComponent("crl"))

        // This sandbox refuses binds from 32768 to 60999; python's http.server ignores the query string.
        let port = Int.random(in: 20_000..<30_000)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        server.arguments = ["-m", "http.server", "\(port)", "--bind", "127.0.0.1", "--directory", directory.path]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        // SIGKILL: the test runner may leave SIGTERM ignored, and children inherit that.
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        let kds = KDSClient(baseURL: URL(string: "http://127.0.0.1:\(port)")!)
        var chainFetched: [AMDCertificate] = []
        for _ in 0..<50 where chainFetched.isEmpty {
            chainFetched = (try? await kds.certificateChain(product: .milan)) ?? []
            if chainFetched.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(chainFetched == [chain.ask, chain.ark])
        let vcek = try await kds.vcek(for: report)
        #expect(vcek == chain.vcek)
        let certificates = SNPCertificateChain(endorsementKey: vcek, intermediate: chainFetched.first, root: chainFetched.last)
        #expect(try SNPVerifier(trustedRoots: [.emulated(chain)]).verify(report, certificates: certificates, at: TestData.verificationTime).root
            == "emulated (untrusted)")
        let list = try await kds.revocationList(product: .milan)
        #expect(list.revokedSerialNumbers == [chain.ask.serialNumber])
        do {
            _ = try await kds.certificateChain(product: .genoa)
            Issue.record("a missing cert_chain was fetched")
        } catch {
            #expect(error == .kdsFetchFailed(
                url: "http://127.0.0.1:\(port)/vcek/v1/Genoa/cert_chain", reason: "the server answered HTTP 404"))
        }
    }
}
