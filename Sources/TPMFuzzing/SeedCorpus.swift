import Foundation
import TPM2
import TPMClient
import VirtualTPM

/// Records every command frame a client sends, passing it on to `inner`.
final class RecordingTransport: TPMTransport, @unchecked Sendable {
    let inner: any TPMTransport
    private let lock = NSLock()
    private var recorded: [[UInt8]] = []

    init(_ inner: any TPMTransport) { self.inner = inner }

    var frames: [[UInt8]] { lock.withLock { recorded } }

    func send(_ command: [UInt8]) throws(TPMClientError) -> [UInt8] {
        lock.withLock { recorded.append(command) }
        return try inner.send(command)
    }
}

/// Valid command frames to mutate: a session of TPM 2.0 Part 3 commands (startup, random, PCR,
/// primary and ordinary objects, NV, sessions and policy, quote, unseal) driven through
/// `TPM2Client` against a fresh engine and recorded on the way.
public enum SeedCorpus {
    /// The recorded frames, in the order they were sent (the first is TPM2_Startup).
    public static func frames() throws(TPMClientError) -> [[UInt8]] {
        let engine: TPMEngine
        do { engine = try TPMEngine(mode: .ephemeral) } catch { throw .transport("\(error)") }
        engine.powerOn()
        let recorder = RecordingTransport(EngineTransport(engine: engine))
        let client = TPM2Client(transport: recorder)
        try client.startup()
        _ = try client.getRandom(16)
        let pcrs = TPMLPCRSelection([TPMSPCRSelection(hash: .sha256, indices: [0, 7, 16])])
        try client.pcrExtend(pcr: 16, digests: TPMLDigestValues([TPMTHA(algorithm: .sha256, digest: [UInt8](repeating: 0x11, count: 32))]))
        _ = try client.pcrRead(pcrs)
        let parent = try client.createPrimary(hierarchy: .owner, template: .eccStorageParent)
        let key = try client.createPrimary(hierarchy: .owner, template: .eccAttestationKey)
        _ = try client.readPublic(key.handle)
        let created = try client.create(parent: parent.handle, template: .sealedData(), sensitive: TPMSSensitiveCreate(data: Array("seed".utf8)))
        let loaded = try client.load(parent: parent.handle, created)
        _ = try client.unseal(loaded.handle, auth: .password())
        _ = try client.quote(key: key.handle, qualifyingData: [1, 2, 3, 4], selection: pcrs)
        let index = TPMHandle(0x0150_0001)
        try client.nvDefineSpace(publicInfo: TPMSNVPublic(nvIndex: index, nameAlg: .sha256, attributes: [.authWrite, .authRead, .noDA], authPolicy: [], dataSize: 16))
        try client.nvWrite(index: index, data: Array("0123456789abcdef".utf8))
        _ = try client.nvRead(index: index, size: 16)
        let session = try client.startAuthSession(type: .policy)
        try client.policyPCR(session: session.handle, selection: pcrs)
        _ = try client.policyGetDigest(session: session.handle)
        try client.flushContext(session.handle)
        try client.evictControl(object: parent.handle, persistentHandle: TPMHandle(0x8100_0001))
        try client.flushContext(loaded.handle)
        return recorder.frames
    }
}
