import Foundation
import TPM2
import TPMClient
import Testing
import VirtualTPM

/// `DeviceTransport` against the engine behind one end of a Unix socket pair (standing in for
/// the kernel's TPM driver), and against a plain file, which never answers.
@Suite("TPM device transport")
struct DeviceTransportTests {
    /// Serves frames from the other end of a socket pair: reads a command by its header's size,
    /// runs it, writes the response in `pieces` parts to exercise reassembly.
    final class Driver: @unchecked Sendable {
        let engine: TPMEngine
        let descriptor: Int32
        let pieces: Int

        init(engine: TPMEngine, descriptor: Int32, pieces: Int) {
            self.engine = engine
            self.descriptor = descriptor
            self.pieces = pieces
        }

        func readExactly(_ count: Int) -> [UInt8]? {
            var bytes = [UInt8](repeating: 0, count: count)
            var done = 0
            while done < count {
                let got = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + done, count - done) }
                guard got > 0 else { return nil }
                done += got
            }
            return bytes
        }

        func serve() {
            defer { close(descriptor) }
            while let header = readExactly(10) {
                let size = Int(header[2...5].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
                guard let rest = readExactly(size - 10) else { return }
                let response = engine.execute(header + rest, locality: 0)
                let step = (response.count + pieces - 1) / pieces
                for start in stride(from: 0, to: response.count, by: step) {
                    let part = Array(response[start..<min(start + step, response.count)])
                    _ = part.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
                    usleep(1000)
                }
            }
        }
    }

    static func connected(pieces: Int) throws -> TPM2Client {
        var pair: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
        let engine = try TPMEngine(mode: .ephemeral)
        engine.powerOn()
        let driver = Driver(engine: engine, descriptor: pair[1], pieces: pieces)
        Thread.detachNewThread { driver.serve() }
        return TPM2Client(transport: DeviceTransport(fileDescriptor: pair[0], name: "socket pair"))
    }

    @Test("Commands go out in one write and responses arrive whole or in pieces")
    func exchanges() throws {
        for pieces in [1, 3] {
            let client = try Self.connected(pieces: pieces)
            try client.startup(.clear)
            #expect(try client.getRandom(16).count == 16)
            #expect(try client.tpmProperty(.nvBufferMax) == UInt32(TPMLimits.maxNVBuffer))
            let index = TPMSNVPublic(nvIndex: TPMHandle(0x0150_0000), nameAlg: .sha256, attributes: [.ownerWrite, .ownerRead, .noDA], authPolicy: [], dataSize: 40)
            try client.nvDefineSpace(publicInfo: index)
            #expect(try client.nvReadPublic(TPMHandle(0x0150_0000)) == index)
        }
    }

    @Test("A missing device and a file that never answers are transport errors naming the path")
    func failures() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cvmkit-device-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.appendingPathComponent("tpmrm0").path
        #expect(throws: TPMClientError.transport("open \(missing): No such file or directory")) {
            try TPM2Client(transport: DeviceTransport(path: missing)).getRandom(8)
        }
        let file = directory.appendingPathComponent("file").path
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        #expect(throws: TPMClientError.transport("\(file): connection closed")) {
            try TPM2Client(transport: DeviceTransport(path: file)).getRandom(8)
        }
    }
}
