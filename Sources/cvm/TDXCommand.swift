import ArgumentParser
import EventLog
import Foundation
import TDX
import EvidenceCore

/// `cvm tdx`: show and verify Intel TDX quotes. Formatting only; the work is in the TDX library.
struct TDXCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tdx",
        abstract: "Inspect and verify Intel TDX quotes.",
        subcommands: [Show.self, Verify.self]
    )

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print every field of a TDX quote (v4 or v5).")

        @Argument(help: "The quote.")
        var quote: String

        @Flag(help: "Print JSON.")
        var json = false

        func run() throws {
            try reportingFailures {
                let listing = try TDXQuote(bytes: try readBinaryFile(self.quote)).listing
                if self.json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                    print(String(decoding: try encoder.encode(listing), as: UTF8.self))
                } else {
                    print(listing)
                }
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a quote's signatures and PCK chain to Intel's root, evaluate its TCB with collateral, and appraise it.",
            discussion: """
            --collateral DIR may hold, under the names of Intel's sgx_ql_qve_collateral_t: \
            \(TDXCollateral.FileName.tcbInfo), \(TDXCollateral.FileName.qeIdentity), \(TDXCollateral.FileName.tcbSigningChain), \
            \(TDXCollateral.FileName.pckCRL.joined(separator: " or ")) and \(TDXCollateral.FileName.rootCACRL.joined(separator: " or ")).
            """
        )

        @Argument(help: "The quote.")
        var quote: String

        @Option(help: "A directory of collateral (TCB Info, QE Identity, TCB signing chain, CRLs).")
        var collateral: String?

        @Option(help: "Check certificates, CRLs and collateral at this ISO 8601 time instead of now, e.g. 2025-06-01T00:00:00Z.")
        var at: String?

        @Option(help: "A TDXPolicy as JSON to appraise the verified quote against.")
        var policy: String?

        @Option(help: "A CC event log (TDX CCEL) whose SHA-384 replay RTMR[0-3] must equal; needs --policy.")
        var eventLog: String?

        func validate() throws {
            if let at = self.at, ISO8601DateFormatter().date(from: at) == nil {
                throw ValidationError("--at must be an ISO 8601 time such as 2025-06-01T00:00:00Z.")
            }
            if self.eventLog != nil, self.policy == nil {
                throw ValidationError("--event-log is checked as part of a policy; give --policy too.")
            }
        }

        func run() throws {
            try reportingFailures {
                let quote = try TDXQuote(bytes: try readBinaryFile(self.quote))
                let time = self.at.flatMap { ISO8601DateFormatter().date(from: $0) } ?? Date()
                let verified = try TDXVerifier().verify(quote, collateral: try loadTDXCollateral(self.collateral), at: time)
                let pck = verified.pckChain.pck.extensions
                print("Verified: quote v\(quote.header.version) (\(quote.body.kind)) signed by an attestation key that Intel's QE bound, "
                    + "PCK chain to \(verified.root), valid at \(ISO8601DateFormatter().string(from: time)).")
                print("PCK: FMSPC \(hexString(pck.fmspc)), PCE ID \(hexString(pck.pceID)), PCESVN \(pck.tcb.pceSVN), "
                    + "issued by \(verified.pckChain.intermediate.subject).")
                verified.revocationListsApplied.forEach { print("Not revoked by the CRL of \($0).") }
                if let tcb = verified.tcb {
                    let advisories = tcb.advisoryIDs.isEmpty ? "none" : tcb.advisoryIDs.joined(separator: ", ")
                    print("TCB status: \(tcb.status) (platform level \(tcb.tdxTCBLevel.status), TDX module \(tcb.tdxModuleIdentity)"
                        + "\(tcb.tdxModuleTCBLevel.map { " \($0.status)" } ?? ""), QE \(tcb.qeTCBLevel.map(\.status.rawValue) ?? "not checked"); "
                        + "TCB evaluation data number \(tcb.tcbEvaluationDataNumber)). Advisories: \(advisories).")
                } else {
                    print("TCB status: not evaluated (no TCB Info in the collateral).")
                }
                guard let policyFile = self.policy else { return }
                let policy: TDXPolicy
                do {
                    policy = try JSONDecoder().decode(TDXPolicy.self, from: Data(try readBinaryFile(policyFile)))
                } catch let error as DecodingError {
                    throw CommandFailure("\(policyFile) is not a TDX policy: \(explain(error))")
                }
                let log = try self.eventLog.map { try EventLog(bytes: try readBinaryFile($0)) }
                let appraisal = policy.appraise(verified, eventLog: log)
                appraisal.rules.forEach { print($0) }
                guard appraisal.passed else {
                    throw CommandFailure("The quote does not satisfy the policy: \(appraisal.failures.count) rule(s) failed.")
                }
            }
        }
    }
}

/// The collateral files present in `directory`, by the DCAP names of ``TDXCollateral/FileName``;
/// empty collateral when no directory is given.
func loadTDXCollateral(_ directory: String?) throws -> TDXCollateral {
    guard let directory else { return TDXCollateral() }
    let url = URL(fileURLWithPath: directory)
    func file(_ names: [String]) throws -> [UInt8]? {
        let paths = names.map { url.appendingPathComponent($0).path }.filter { FileManager.default.fileExists(atPath: $0) }
        guard paths.count <= 1 else { throw CommandFailure("\(directory) holds both \(paths.joined(separator: " and ")).") }
        return try paths.first.map { try readBinaryFile($0) }
    }
    let names = TDXCollateral.FileName.self
    return TDXCollateral(
        tcbInfo: try file([names.tcbInfo]).map { try TCBInfo(json: $0) },
        qeIdentity: try file([names.qeIdentity]).map { try QEIdentity(json: $0) },
        tcbSigningChain: try file([names.tcbSigningChain]).map { try TCBSigningChain(derOrPEM: $0) },
        pckCRL: try file(names.pckCRL).map { try IntelRevocationList(derOrPEM: $0) },
        rootCACRL: try file(names.rootCACRL).map { try IntelRevocationList(derOrPEM: $0) })
}
