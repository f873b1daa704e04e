import Foundation
import GuestAttestation
import SEVSNP
import TestSupport
import Testing

@Suite("configfs-tsm")
struct ConfigFSTSMTests {
    static let nonce = Array("configfs-tsm nonce 0123456789abcdef".utf8)

    /// sev_guest: the outblob is signed by the emulated VCEK from the inblob just written, the
    /// auxblob is the emulated chain's certificate table.
    static func snpGuest() throws -> (FakeGuest, EmulatedTSM) {
        let table = try Emulated.certificateTable
        let tsm = EmulatedTSM(provider: "sev_guest") { inblob, level in
            (try Emulated.report(inblob, vmpl: level ?? 0), table)
        }
        return (FakeGuest(try GuestTree(), tsm: tsm), tsm)
    }

    @Test("The outblob is a report over exactly the inblob written, verifiable with the auxblob's chain; the entry is removed")
    func snpReport() throws {
        let (guest, tsm) = try Self.snpGuest()
        let report = try ConfigFSTSM(fileSystem: guest).report(inblob: Self.nonce, privilegeLevel: 2)
        #expect(report.provider == "sev_guest")
        #expect(report.generation == 2)
        let chain = try SNPCertificateTable(bytes: try #require(report.auxblob)).chain()
        let verified = try SNPVerifier(trustedRoots: [.emulated(try Emulated.chain.get())])
            .verify(try SNPReport(bytes: report.outblob), certificates: chain, at: Date())
        #expect(verified.report.reportData == Self.nonce + [UInt8](repeating: 0, count: 64 - Self.nonce.count))
        #expect(verified.report.vmpl == 2)
        #expect(tsm.created.count == 1)
        #expect(tsm.entries.isEmpty)
    }

    @Test("Without privlevel there is one write; a provider without auxblob gives nil")
    func withoutOptions() throws {
        let tsm = EmulatedTSM(provider: "tdx_guest", showsPrivlevel: false, showsAuxblob: false) { _, _ in (try TestData.tdxQuote, nil) }
        let guest = FakeGuest(try GuestTree(), tsm: tsm)
        let report = try ConfigFSTSM(fileSystem: guest).report(inblob: Self.nonce)
        #expect(report.outblob == (try TestData.tdxQuote))
        #expect(report.auxblob == nil)
        #expect(report.generation == 1)
        #expect(throws: GuestAttestationError.unavailable("configfs-tsm provider tdx_guest takes no privlevel")) {
            try ConfigFSTSM(fileSystem: guest).report(inblob: Self.nonce, privilegeLevel: 0)
        }
        #expect(tsm.entries.isEmpty)
    }

    @Test("A generation that moved by another writer's write is refused, and the entry still removed")
    func generationRace() throws {
        let (guest, tsm) = try Self.snpGuest()
        tsm.racingWrites = 1
        let entry = try #require(thrownError { try ConfigFSTSM(fileSystem: guest).report(inblob: Self.nonce) })
        #expect(entry == .generationRace(entry: ConfigFSTSM.reportDirectory + "/" + tsm.created[0], expected: 1, actual: 2))
        #expect(entry.description.contains("another writer changed it"))
        #expect(tsm.entries.isEmpty)
    }

    @Test("Every failing step is reported with its path and errno, and the entry removed")
    func failures() throws {
        let (guest, tsm) = try Self.snpGuest()
        let tsmInterface = ConfigFSTSM(fileSystem: guest)
        #expect(throws: GuestAttestationError.invalidArgument("configfs-tsm inblob takes at most 64 bytes, not 65")) {
            try tsmInterface.report(inblob: [UInt8](repeating: 0, count: 65))
        }
        // The kernel refuses a privlevel above TSM_PRIVLEVEL_MAX (3).
        let privlevel = try #require(thrownError { try tsmInterface.report(inblob: Self.nonce, privilegeLevel: 4) })
        #expect(privlevel == .fileSystem(operation: "write", path: ConfigFSTSM.reportDirectory + "/" + tsm.created.last! + "/privlevel", errno: EINVAL))

        tsm.generationText = "many\n"
        let generation = try #require(thrownError { try tsmInterface.report(inblob: Self.nonce) })
        #expect(generation == .malformed(structure: ConfigFSTSM.reportDirectory + "/" + tsm.created.last! + "/generation", reason: "\"many\" is not a decimal counter"))
        tsm.generationText = nil

        let denied = EmulatedTSM(provider: "sev_guest") { _, _ in ([], nil) }
        let emptyGuest = FakeGuest(try GuestTree(), tsm: denied)
        let empty = try #require(thrownError { try ConfigFSTSM(fileSystem: emptyGuest).report(inblob: Self.nonce) })
        #expect(empty == .malformed(structure: ConfigFSTSM.reportDirectory + "/" + denied.created.last! + "/outblob", reason: "the provider returned no report"))
        #expect(tsm.entries.isEmpty && denied.entries.isEmpty)
    }

    @Test("An unwritable inblob (EACCES) fails with its path")
    func permissionDenied() throws {
        let (guest, tsm) = try Self.snpGuest()
        guest.failures["inblob"] = EACCES
        let interface = ConfigFSTSM(fileSystem: guest)
        let error = try #require(thrownError { try interface.report(inblob: Self.nonce) })
        #expect(error == .fileSystem(operation: "write", path: ConfigFSTSM.reportDirectory + "/" + tsm.created[0] + "/inblob", errno: EACCES))
        #expect(error.description.hasSuffix("/inblob: Permission denied"))
        #expect(tsm.entries.isEmpty)
    }

    @Test("Without configfs-tsm the report directory is absent and mkdir fails with ENOENT")
    func missing() throws {
        let tree = try GuestTree()
        let tsm = ConfigFSTSM(fileSystem: tree.fileSystem)
        #expect(try tsm.isAvailable() == false)
        let error = try #require(thrownError { try tsm.report(inblob: Self.nonce) })
        guard case let .fileSystem(operation, path, code) = error else { Issue.record("\(error)"); return }
        #expect(operation == "create directory" && path.hasPrefix(ConfigFSTSM.reportDirectory + "/cvmkit-") && code == ENOENT)
    }

    @Test("provider() reads the provider from a scratch entry it removes")
    func provider() throws {
        let (guest, tsm) = try Self.snpGuest()
        #expect(try ConfigFSTSM(fileSystem: guest).provider() == "sev_guest")
        #expect(tsm.created.count == 1 && tsm.entries.isEmpty)
    }
}

/// The library error `body` throws, or nil (recording an issue for any other error).
func thrownError(_ body: () throws -> some Any) -> GuestAttestationError? {
    do {
        _ = try body()
        return nil
    } catch let error as GuestAttestationError {
        return error
    } catch {
        Issue.record("unexpected \(error)")
        return nil
    }
}
