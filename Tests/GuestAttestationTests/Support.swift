import Foundation
import GuestAttestation
import SEVSNP
import TPM2
import TPMClient
import TestSupport
import VirtualTPM

/// The shared evidence these tests use (each folder's README says where it came from).
extension TestData {
    /// A real Azure SEV-SNP HCL report, 2048 bytes: small enough for the vTPM's NV index limit.
    static var azureHCLReport: [UInt8] { get throws { try bytes("tpm/azure-snp-hcl-report-kinvolk/hcl_report.bin") } }
    /// A real TDX quote (version 4) from an Azure TDX CVM.
    static var tdxQuote: [UInt8] { get throws { try bytes("tpm/azure-tdx-cvm-trustee/td_quote.bin") } }
    /// A real TCG event log from a GCE AMD SEV VM.
    static var eventLog: [UInt8] { get throws { try bytes("eventlog/gce-cos101-amd-sev.bin") } }
    /// A real CC event log from a TDX guest.
    static var ccel: [UInt8] { get throws { try bytes("eventlog/tdx-ovmf-direct-kernel-ccel.bin") } }

    /// The VCEK, ASK and ARK of the real Milan fixtures as a GHCB certificate table, laid out
    /// here by hand: 24-byte entries of GUID, offset and length, an all-zero entry, then the
    /// certificates (GHCB Specification §4.1.8.1).
    static var milanCertificateTable: [UInt8] {
        get throws {
            let pem = String(decoding: try bytes("snp/amd-milan-ask-ark.pem"), as: UTF8.self)
            let askArk = try AMDCertificate.certificates(pem: pem)
            return certificateTable([
                ("63da758d-e664-4564-adc5-f4b93be8accd", try bytes("snp/milan-vcek-1.der")),
                ("4ab7b379-bbac-4fe4-a02f-05aef327c782", askArk[0].derBytes),
                ("c0b406a4-a803-4952-9743-3fb6014cd0ae", askArk[1].derBytes),
            ])
        }
    }

    static func certificateTable(_ entries: [(guid: String, der: [UInt8])]) -> [UInt8] {
        var header: [UInt8] = []
        var body: [UInt8] = []
        let start = (entries.count + 1) * 24
        for entry in entries {
            header += withUnsafeBytes(of: UUID(uuidString: entry.guid)!.uuid) { Array($0) }
            header += littleEndian(UInt32(start + body.count)) + littleEndian(UInt32(entry.der.count))
            body += entry.der
        }
        return header + [UInt8](repeating: 0, count: 24) + body
    }
}

func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
}

/// One emulated AMD chain for all tests (its RSA keys take a while to generate).
enum Emulated {
    static let chain = Result { () throws(SNPError) in try EmulatedSNPChain() }

    /// The emulated chain's VCEK, ASK and ARK as a certificate table.
    static var certificateTable: [UInt8] {
        get throws {
            let chain = try chain.get()
            return TestData.certificateTable([
                ("63da758d-e664-4564-adc5-f4b93be8accd", chain.vcek.derBytes),
                ("4ab7b379-bbac-4fe4-a02f-05aef327c782", chain.ask.derBytes),
                ("c0b406a4-a803-4952-9743-3fb6014cd0ae", chain.ark.derBytes),
            ])
        }
    }

    /// A report signed by the emulated VCEK carrying `reportData` (padded to 64 bytes as the
    /// kernel pads a shorter inblob) for `vmpl`.
    static func report(_ reportData: [UInt8], vmpl: UInt32 = 0) throws -> [UInt8] {
        let padded = reportData + [UInt8](repeating: 0, count: max(0, 64 - reportData.count))
        return try chain.get().signReport(EmulatedReportContents(reportData: padded, vmpl: vmpl)).bytes
    }
}

/// A temporary directory standing for a guest's `/`, removed when released.
final class GuestTree: @unchecked Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("cvmkit-guest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    var fileSystem: LocalGuestFileSystem { LocalGuestFileSystem(root: url.path) }

    /// Creates the file at guest path `path` with `bytes`, and its directories.
    func file(_ path: String, _ bytes: [UInt8] = []) throws {
        let target = url.appendingPathComponent(String(path.dropFirst()))
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: target)
    }

    func file(_ path: String, text: String) throws {
        try file(path, Array(text.utf8))
    }

    func directory(_ path: String) throws {
        try FileManager.default.createDirectory(at: url.appendingPathComponent(String(path.dropFirst())), withIntermediateDirectories: true)
    }

    func contents(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: url.appendingPathComponent(String(path.dropFirst()))))
    }
}

/// A powered-on, started in-process vTPM and a client for it.
func startedTPM(transport wrap: (EngineTransport) -> any TPMTransport = { $0 }) throws -> (engine: TPMEngine, client: TPM2Client) {
    let engine = try TPMEngine(mode: .ephemeral)
    engine.powerOn()
    let client = TPM2Client(transport: wrap(EngineTransport(engine: engine)))
    try client.startup(.clear)
    return (engine, client)
}

/// Defines Azure's HCL report index 0x01400001 as its paravisor does (platform-created,
/// written by the platform, readable with the index's own empty auth or the owner's) and
/// writes `report` into it.
func defineHCLIndex(_ client: TPM2Client, report: [UInt8], attributes: TPMANV = [.ppWrite, .ppRead, .ownerRead, .authRead, .noDA, .platformCreate]) throws {
    let area = TPMSNVPublic(nvIndex: TPMHandle(0x0140_0001), nameAlg: .sha256, attributes: attributes, authPolicy: [], dataSize: UInt16(report.count))
    try client.nvDefineSpace(authHandle: .platform, publicInfo: area)
    try client.nvWrite(index: TPMHandle(0x0140_0001), data: report, authHandle: .platform)
}
