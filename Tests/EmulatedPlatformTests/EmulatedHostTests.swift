import Attestation
import AzureCVM
import EmulatedPlatform
import Foundation
import SEVSNP
import SwiftASN1
import TPM2
import Testing

@Suite("Emulated host kept in a directory, and the owner's reference values", .serialized)
struct EmulatedHostTests {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cvmkit-host-\(UUID().uuidString)")

    @Test("The first use creates the directory (0700), key file (0600) and root file; later uses restore the same chip")
    func createsThenReuses() throws {
        defer { try? FileManager.default.removeItem(at: scratch) }
        let host = EmulatedHostDirectory(path: scratch.appendingPathComponent("host").path)
        let (chip, created) = try host.secureProcessor()
        #expect(created)
        #expect(try Self.mode(host.path) == 0o700)
        #expect(try Self.mode(host.keyFile) == 0o600)
        let (again, createdAgain) = try host.secureProcessor(tcb: EmulatedPlatform.defaultTCB)
        #expect(!createdAgain)
        #expect(again.vcek == chip.vcek && again.chipID == chip.chipID && again.tcb == chip.tcb)

        // What `cvm serve --emulated-snp-root` does: an anchor from the root file alone.
        let certificates = try AMDCertificate.certificates(pem: try String(contentsOfFile: host.rootFile, encoding: .utf8))
        #expect(certificates == [chip.ark, chip.ask])
        let anchor = try SNPTrustAnchor(name: SNPTrustAnchor.emulatedName, product: nil, root: certificates[0], intermediates: [certificates[1]])
        let launch = try Launch(platform: try EmulatedPlatform(secureProcessor: again))
        defer { launch.remove() }
        let report = try HCLReport(bytes: try launch.vm.readHCLReport())
        let verified = try AzureHCLVerifier(snpVerifier: SNPVerifier(trustedRoots: [anchor]))
            .verify(report, certificates: again.certificates, at: Date())
        #expect(verified.root == SNPTrustAnchor.emulatedName)
        #expect(verified.snp.report.chipID == chip.chipID)
    }

    @Test("Launches creating the host at the same time all get the one chip that was saved")
    func concurrentCreation() throws {
        defer { try? FileManager.default.removeItem(at: scratch) }
        let host = EmulatedHostDirectory(path: scratch.path)
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 4) { _ in results.add(Result { () throws(EmulatedPlatformError) in try host.secureProcessor() }) }
        let outcomes = try results.all.map { try $0.get() }
        #expect(outcomes.filter(\.created).count == 1)
        let saved = try EmulatedSNPChain(pemRepresentation: try String(contentsOfFile: host.keyFile, encoding: .utf8))
        #expect(outcomes.allSatisfy { $0.chip.vcek == saved.vcek })
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).sorted() == ["emulated-host.pem", "emulated-root.pem"])
    }

    @Test("A missing root file is written again; another TCB, a damaged or mismatched key file is refused")
    func refusals() throws {
        defer { try? FileManager.default.removeItem(at: scratch) }
        let host = EmulatedHostDirectory(path: scratch.path)
        let (chip, _) = try host.secureProcessor()
        try FileManager.default.removeItem(atPath: host.rootFile)
        #expect(try !host.secureProcessor().created)
        #expect(try AMDCertificate.certificates(pem: try String(contentsOfFile: host.rootFile, encoding: .utf8)) == [chip.ark, chip.ask])

        let lower = TCBComponents(bootloader: 3, tee: 0, snp: 8, microcode: 115)
        #expect(throws: EmulatedPlatformError.invalidConfiguration(
            "the emulated host in \(scratch.path) certifies the TCB bootloader 4, tee 0, snp 22, microcode 213, "
                + "not bootloader 3, tee 0, snp 8, microcode 115; leave the TCB out or use another directory")) {
            _ = try host.secureProcessor(tcb: lower)
        }

        let saved = chip.pemRepresentation
        let other = try PEMDocument.parseMultiple(pemString: try EmulatedSNPChain().pemRepresentation)
        var blocks = try PEMDocument.parseMultiple(pemString: saved)
        blocks[3] = other[3]
        let damaged: [(String, SNPError)] = [
            (blocks.map(\.pemString).joined(separator: "\n"), .emulatedChainKeyMismatch(role: "ARK")),
            ("", .emulatedChainMalformed(reason: "it holds the blocks [] where three CERTIFICATE blocks (ARK, ASK, VCEK) and then "
                + "three PRIVATE KEY blocks (ARK, ASK, VCEK) belong")),
        ]
        for (text, error) in damaged {
            try text.write(toFile: host.keyFile, atomically: true, encoding: .utf8)
            #expect(throws: EmulatedPlatformError.hostFile(path: host.keyFile, error)) { _ = try host.secureProcessor() }
        }
    }

    @Test("Reference values equal what the owner's VM measured and reports; a changed kernel differs in PCRs 4 and 9 only")
    func referenceValues() throws {
        let good = try Launch()
        defer { good.remove() }
        let values = try good.platform.referenceValues(for: EmulatedVMConfiguration(bootChain: good.vm.bootChain))
        // The vTPM computed its PCRs by extending, independently of the log replay the values come from.
        let measured = try good.tpmValues(banks: [.sha256]).banks[.sha256] ?? [:]
        #expect(values.pcrs.keys.sorted() == [4, 7, 8, 9])
        for (pcr, value) in values.pcrs {
            #expect(measured[UInt32(pcr)] == value, "PCR \(pcr)")
        }
        guard case .snp(let report) = try HCLReport(bytes: try good.vm.readHCLReport()).hardwareReport else {
            Issue.record("the HCL report holds no SNP report")
            return
        }
        #expect(values.snpMeasurement == report.measurement)
        #expect(values.minimumTCB == EmulatedPlatform.defaultTCB)

        // The document is what the Attestation library reads as reference values (docs/policy.md).
        let document = try ReferenceValues(json: try values.json())
        #expect(document.snpMeasurements == [report.measurement])
        #expect(document.pcrs == [.sha256: values.pcrs.mapValues { [$0] }])
        #expect(document.minimumTCB == SNPPolicy.MinimumTCB(bootloader: 4, tee: 0, snp: 22, microcode: 213))

        let tampered = try Launch(platform: good.platform) { $0.tamperedKernel = true }
        defer { tampered.remove() }
        let changed = try tampered.tpmValues(banks: [.sha256]).banks[.sha256] ?? [:]
        #expect(values.pcrs.keys.filter { changed[UInt32($0)] != values.pcrs[$0] }.sorted() == [4, 9])

        #expect(throws: EmulatedPlatformError.invalidConfiguration("PCR 12 is not a PCR the boot measures")) {
            _ = try good.platform.referenceValues(for: EmulatedVMConfiguration(bootChain: good.vm.bootChain), pcrs: [4, 12])
        }
    }

    static func mode(_ path: String) throws -> Int {
        ((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? NSNumber)?.intValue ?? -1
    }
}

/// Outcomes collected from concurrent work.
final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var outcomes: [Result<(chip: EmulatedSNPChain, created: Bool), EmulatedPlatformError>] = []

    func add(_ outcome: Result<(chip: EmulatedSNPChain, created: Bool), EmulatedPlatformError>) {
        lock.withLock { outcomes.append(outcome) }
    }

    var all: [Result<(chip: EmulatedSNPChain, created: Bool), EmulatedPlatformError>] { lock.withLock { outcomes } }
}
