import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs cryptsetup (Debian's cryptsetup-bin), openssl and Python's `cryptography` (Debian's
/// python3-cryptography, over OpenSSL's AES-XTS), the independent implementations every result
/// here is compared with.
enum Tools {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `arguments` (the first being looked up in PATH), returns stdout; throws on a nonzero exit
    /// unless `allowFailure`, in which case the status is returned beside the output.
    /// A tool that exits before reading all its input must not kill the test process.
    static let ignoreBrokenPipes: Void = {
        signal(SIGPIPE, SIG_IGN)
    }()

    @discardableResult
    static func run(_ arguments: [String], input: [UInt8] = [], allowFailure: Bool = false) throws -> (status: Int32, output: [UInt8]) {
        ignoreBrokenPipes
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(Data(input))
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        if process.terminationStatus != 0 && !allowFailure {
            throw Failure(description: "\(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(String(decoding: errors, as: UTF8.self))")
        }
        return (process.terminationStatus, Array(output))
    }

    static var cryptsetupAvailable: Bool {
        (try? run(["cryptsetup", "--version"]))?.status == 0
    }

    /// A fresh directory under the temporary directory.
    static func scratchDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("luks2-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A zero-filled file of `size` bytes.
    static func makeFile(_ directory: URL, _ name: String, size: Int) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try run(["truncate", "-s", String(size), path])
        return path
    }

    static func writeFile(_ directory: URL, _ name: String, _ bytes: [UInt8]) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The volume key cryptsetup recovers with the passphrase in `keyFile`.
    static func cryptsetupVolumeKey(_ path: String, keyFile: String) throws -> [UInt8] {
        let dump = String(decoding: try run(["cryptsetup", "luksDump", "--dump-volume-key", "--batch-mode", "--key-file", keyFile, path]).output, as: UTF8.self)
        let lines = dump.split(separator: "\n")
        guard let start = lines.firstIndex(where: { $0.hasPrefix("MK dump:") }) else {
            throw Failure(description: "no MK dump in \(dump)")
        }
        var hex = ""
        for line in lines[start...] {
            let text = line.hasPrefix("MK dump:") ? line.dropFirst("MK dump:".count) : line[...]
            guard text.first == "\t" || text.first == " " else { break }
            hex += text.filter { !$0.isWhitespace }
        }
        return bytes(hex: hex)
    }

    /// One data unit decrypted (or encrypted) with AES-XTS by Python's `cryptography` (OpenSSL's
    /// EVP AES-XTS; `openssl enc` of OpenSSL 3.0 refuses XTS) with the plain64 IV `sector`.
    static func referenceXTS(_ data: [UInt8], key: [UInt8], sector: UInt64, decrypt: Bool) throws -> [UInt8] {
        var iv = [UInt8](repeating: 0, count: 16)
        for byte in 0..<8 { iv[byte] = UInt8(truncatingIfNeeded: sector >> (8 * byte)) }
        let script = """
            import sys
            from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
            cipher = Cipher(algorithms.AES(bytes.fromhex(sys.argv[1])), modes.XTS(bytes.fromhex(sys.argv[2])))
            operation = cipher.decryptor() if sys.argv[3] == "d" else cipher.encryptor()
            sys.stdout.buffer.write(operation.update(sys.stdin.buffer.read()) + operation.finalize())
            """
        return try run(["python3", "-c", script, hex(key), hex(iv), decrypt ? "d" : "e"], input: data).output
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    static func bytes(hex: String) -> [UInt8] {
        let digits = Array(hex.filter { !$0.isWhitespace })
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
    }

    static func random(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: .min ... .max) }
    }
}
