import Foundation
import TestSupport
import Testing

/// The shared test data (`../shared/testdata`, see its README), the peer tools the tests compare
/// with, and the `cvm` executable built beside this test bundle.
enum Peers {
    /// `…/shared/testdata/eventlog`.
    static let eventLogs = TestData.root.appendingPathComponent("eventlog")

    /// Debian's signed boot files (shim-signed, grub-efi-amd64-signed, linux-image-amd64; see
    /// scripts/install-deps.sh): the newest installed kernel and its initrd.
    static let shim = "/usr/lib/shim/shimx64.efi.signed"
    static let grub = "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed"
    static let kernel: String? = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/boot")) ?? []
        return names.filter { $0.hasPrefix("vmlinuz-") }.sorted().last.map { "/boot/" + $0 }
    }()
    static var initrd: String? { kernel.map { $0.replacingOccurrences(of: "vmlinuz-", with: "initrd.img-") } }
    static let debianBootFiles: Bool = ([shim, grub, "/usr/bin/pesign"] + [kernel, initrd].compactMap { $0 }).allSatisfy(FileManager.default.fileExists(atPath:))
        && kernel != nil
    static let debianBootFilesMissing = "needs Debian's signed shim, GRUB and kernel with its initrd, and pesign (scripts/install-deps.sh)"

    /// The OVMF images Debian's `ovmf` package installs, those present.
    static let debianOVMF = ["/usr/share/ovmf/OVMF.fd", "/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"]
        .filter(FileManager.default.fileExists(atPath:))

    /// An executable on PATH.
    static func onPath(_ name: String) -> URL? {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
            .map { URL(fileURLWithPath: String($0)).appendingPathComponent(name) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// PyPI's sev-snp-measure, the reference SNP launch digest calculator.
    static let sevSNPMeasure = onPath("sev-snp-measure")

    /// Runs a tool; its exit status, standard output and standard error.
    static func run(_ tool: URL, _ arguments: [String]) throws -> (status: Int32, output: [UInt8], errors: String) {
        let process = Process()
        process.executableURL = tool
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Both tools here write little to standard error, far less than a pipe holds.
        let printed = Array(output.fileHandleForReading.readDataToEndOfFile())
        let complaint = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, printed, complaint)
    }

    /// The trimmed standard output of a tool that must succeed.
    static func output(_ tool: URL, _ arguments: [String]) throws -> String {
        let (status, output, errors) = try run(tool, arguments)
        try #require(status == 0, "\(tool.lastPathComponent) \(arguments.joined(separator: " ")) failed: \(errors)")
        return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The Authenticode digest `pesign -h` prints (`hash: <hex>`), sha1 or sha256.
    static func pesign(_ file: String, _ digest: String) throws -> [UInt8] {
        let output = try self.output(URL(fileURLWithPath: "/usr/bin/pesign"), ["-h", "-d", digest, "-i", file])
        let line = try #require(output.split(separator: "\n").first { $0.hasPrefix("hash: ") })
        return try #require(bytes(hex: String(line.dropFirst(6))))
    }

    /// The digest coreutils' `sha1sum`, `sha256sum` or `sha384sum` prints for a file.
    static func coreutilsDigest(_ file: String, _ bank: String) throws -> [UInt8] {
        let output = try self.output(URL(fileURLWithPath: "/usr/bin/\(bank)sum"), [file])
        return try #require(bytes(hex: String(output.prefix { $0 != " " })))
    }

    static func bytes(hex: String) -> [UInt8]? {
        let digits = hex.map(\.hexDigitValue)
        guard digits.count % 2 == 0, !digits.contains(nil) else { return nil }
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(digits[$0]! << 4 | digits[$0 + 1]!) }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    static func read(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static func eventLog(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: eventLogs.appendingPathComponent(name)))
    }
}
