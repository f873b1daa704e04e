import Foundation
import Testing
import TPM2
import TPMClient
import VirtualTPM

/// A persistent vTPM keeps its seeds, NV indices and persistent objects in a sealed state file
/// (TPM 2.0 Part 1 §37 NV memory), refuses a file it cannot authenticate, and comes back with
/// the same EK after a restart.
@Suite struct PersistentTests {
    static let key = [UInt8](repeating: 0x42, count: 32)
    static let nvIndex = TPMHandle(0x0150_0010)
    static let persistentHandle = TPMHandle(0x8100_0010)

    static func nvPublic(_ index: TPMHandle, size: UInt16) -> TPMSNVPublic {
        TPMSNVPublic(nvIndex: index, nameAlg: .sha256, attributes: [.authWrite, .authRead, .noDA], authPolicy: [], dataSize: size)
    }

    /// Opening the store must fail with `.tampered`: AES-GCM authentication failed.
    static func expectTampered(_ store: VTPMStateStore, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: VTPMStateError.self, sourceLocation: sourceLocation) { try TPMEngine(mode: .persistent(store)) }
        guard case .tampered = error else {
            Issue.record("expected VTPMStateError.tampered, got \(String(describing: error))", sourceLocation: sourceLocation)
            return
        }
    }

    @Test func ekNVAndPersistentObjectsSurviveRestart() throws {
        let directory = try TemporaryDirectory()
        let store = try VTPMStateStore(directory: directory.url, key: Self.key)
        let data = Array("survives a restart".utf8)

        let first = try StartedTPM(.persistent(store))
        let ek = try first.client.createPrimary(hierarchy: .endorsement, template: .ekECCP256)
        try first.client.nvDefineSpace(publicInfo: Self.nvPublic(Self.nvIndex, size: UInt16(data.count)))
        try first.client.nvWrite(index: Self.nvIndex, data: data)
        let srk = try first.client.createPrimary(hierarchy: .owner, template: .eccStorageParent)
        try first.client.evictControl(object: srk.handle, persistentHandle: Self.persistentHandle)
        first.engine.powerOff()

        let second = try StartedTPM(.persistent(try VTPMStateStore(directory: directory.url, key: Self.key)))
        let ekAgain = try second.client.createPrimary(hierarchy: .endorsement, template: .ekECCP256)
        #expect(ekAgain.publicArea.unique == ek.publicArea.unique)
        #expect(ekAgain.name == ek.name)
        #expect(try second.client.nvRead(index: Self.nvIndex, size: UInt16(data.count)) == data)
        let restored = try second.client.readPublic(Self.persistentHandle)
        #expect(restored.name == srk.name)
        #expect(restored.publicArea == srk.publicArea)

        // The persistent parent still unwraps what was created under it before the restart.
        let secret = Array("under the persistent SRK".utf8)
        let sealed = try second.client.create(parent: Self.persistentHandle, template: .sealedData(), sensitive: TPMSSensitiveCreate(data: secret))
        second.engine.powerOff()
        let third = try StartedTPM(.persistent(try VTPMStateStore(directory: directory.url, key: Self.key)))
        let loaded = try third.client.load(parent: Self.persistentHandle, sealed)
        #expect(try third.client.unseal(loaded.handle, auth: .password()) == secret)
    }

    /// A write the state store cannot make is TPM_RC_NV_UNAVAILABLE, and the TPM goes on
    /// holding what the file holds: the old value, both before and after a restart.
    @Test func failedStateWriteLeavesNVUnchanged() throws {
        let directory = try TemporaryDirectory()
        let state = directory.url.appendingPathComponent("state")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: false)
        let tpm = try StartedTPM(.persistent(try VTPMStateStore(directory: state, key: Self.key)))
        try tpm.client.nvDefineSpace(publicInfo: Self.nvPublic(Self.nvIndex, size: 8))
        let old = Array("old data".utf8)
        try tpm.client.nvWrite(index: Self.nvIndex, data: old)

        // With a plain file where its directory was, the store can neither recreate the
        // directory nor write its temporary file (even as root).
        let aside = directory.url.appendingPathComponent("aside")
        try FileManager.default.moveItem(at: state, to: aside)
        try Data("not a directory".utf8).write(to: state)
        #expect(throws: TPMClientError.tpm(command: "TPM2_NV_Write", code: .nvUnavailable)) {
            try tpm.client.nvWrite(index: Self.nvIndex, data: Array("new data".utf8))
        }
        #expect(throws: TPMClientError.tpm(command: "TPM2_NV_UndefineSpace", code: .nvUnavailable)) {
            try tpm.client.nvUndefineSpace(index: Self.nvIndex)
        }
        #expect(try tpm.client.nvRead(index: Self.nvIndex, size: 8) == old)

        try FileManager.default.removeItem(at: state)
        try FileManager.default.moveItem(at: aside, to: state)
        tpm.engine.powerOff()
        let restarted = try StartedTPM(.persistent(try VTPMStateStore(directory: state, key: Self.key)))
        #expect(try restarted.client.nvRead(index: Self.nvIndex, size: 8) == old)
    }

    @Test func wrongKeyIsRefused() throws {
        let directory = try TemporaryDirectory()
        let tpm = try StartedTPM(.persistent(try VTPMStateStore(directory: directory.url, key: Self.key)))
        tpm.engine.powerOff()
        var wrongKey = Self.key
        wrongKey[0] ^= 1
        let store = try VTPMStateStore(directory: directory.url, key: wrongKey)
        Self.expectTampered(store)
    }

    @Test(arguments: [0, 13, 40, -1])
    func tamperedStateIsRefused(byteOffset: Int) throws {
        let directory = try TemporaryDirectory()
        let tpm = try StartedTPM(.persistent(try VTPMStateStore(directory: directory.url, key: Self.key)))
        try tpm.client.nvDefineSpace(publicInfo: Self.nvPublic(Self.nvIndex, size: 8))
        tpm.engine.powerOff()
        let file = try #require(try FileManager.default.contentsOfDirectory(at: directory.url, includingPropertiesForKeys: nil).first { $0.pathExtension == "sealed" })
        var bytes = try Data(contentsOf: file)
        bytes[byteOffset >= 0 ? byteOffset : bytes.count + byteOffset] ^= 0x01
        try bytes.write(to: file)
        let store = try VTPMStateStore(directory: directory.url, key: Self.key)
        Self.expectTampered(store)
    }

    @Test func truncatedStateIsRefused() throws {
        let directory = try TemporaryDirectory()
        let tpm = try StartedTPM(.persistent(try VTPMStateStore(directory: directory.url, key: Self.key)))
        tpm.engine.powerOff()
        let file = try #require(try FileManager.default.contentsOfDirectory(at: directory.url, includingPropertiesForKeys: nil).first { $0.pathExtension == "sealed" })
        let bytes = try Data(contentsOf: file)
        try bytes.prefix(bytes.count / 2).write(to: file)
        let store = try VTPMStateStore(directory: directory.url, key: Self.key)
        Self.expectTampered(store)
    }
}
