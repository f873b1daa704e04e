import Foundation
import Testing

/// The peer tool `sev-snp-measure` (PyPI, virtee/sev-snp-measure), run as a separate process so
/// that the launch measurement tests compare against its output rather than ours.
enum MeasureOracle {
    /// The executable on PATH, or nil (with a warning on standard error) when it is not installed.
    static let executable: URL? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let found = path.split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent("sev-snp-measure") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
        if found == nil {
            warn("sev-snp-measure is not on PATH: the oracle tests are SKIPPED. Install it with `pip install sev-snp-measure`.")
        }
        return found
    }()

    /// The OVMF images Debian's `ovmf` package installs, those present on this machine.
    static let debianOVMF: [String] = {
        let candidates = [
            "/usr/share/ovmf/OVMF.fd", "/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_CODE.secboot.fd",
            "/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
        ]
        let present = candidates.filter { FileManager.default.fileExists(atPath: $0) }
        if present.isEmpty {
            warn("Debian's OVMF images are absent: the OVMF oracle tests are SKIPPED. Install them with `apt-get install -y ovmf`.")
        }
        return present
    }()

    /// What the tool printed on standard output, trimmed, or its error message when it failed.
    enum Outcome: Equatable {
        case measurement(String)
        case failure(String)
    }

    /// Runs `sev-snp-measure --mode <mode>` with `arguments` in `directory`.
    static func run(_ arguments: [String], mode: String = "snp", in directory: URL? = nil) throws -> Outcome {
        let (status, printed, complaint) = try self.execute(try #require(executable), ["--mode", mode] + arguments, in: directory)
        return status == 0 ? .measurement(printed) : .failure(complaint)
    }

    /// Runs `body` with a new directory of the temporary directory, removed afterwards.
    static func withScratchDirectory<T>(_ body: (URL) throws -> T) throws -> T {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("snp-measure-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        return try body(scratch)
    }

    /// The trimmed standard output of a command that must succeed.
    private static func output(of tool: URL, _ arguments: [String]) throws -> String {
        let (status, printed, complaint) = try self.execute(tool, arguments, in: nil)
        try #require(status == 0, "\(tool.path) \(arguments.first ?? "") failed: \(complaint)")
        return printed
    }

    /// Runs a command and returns its exit status and trimmed standard output and error; the
    /// openssl comparisons use it too.
    static func execute(_ tool: URL, _ arguments: [String], in directory: URL?) throws -> (Int32, String, String) {
        let process = Process()
        process.executableURL = tool
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let complaint = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let trimmed = { (text: String) in text.trimmingCharacters(in: .whitespacesAndNewlines) }
        return (process.terminationStatus, trimmed(printed), trimmed(complaint))
    }

    /// What the tool's OVMF parser (`sevsnpmeasure.ovmf.OVMF`) reads from an image.
    struct Layout: Decodable, Equatable {
        let apResetAddress: Int
        /// GPA, size and type of each SEV metadata section.
        let sections: [[Int]]
        /// The SEV hash table GPA, read only when a SNP_KERNEL_HASHES section exists.
        let hashTableAddress: Int?
    }

    /// What the tool's parser reads from each image, nil where it raises.
    static func layouts(of files: [String]) throws -> [Layout?] {
        try self.each(files, """
            from sevsnpmeasure.ovmf import OVMF, SectionType
            def each(path):
                o = OVMF(path)
                kernel = o.has_metadata_section(SectionType.SNP_KERNEL_HASHES)
                return {"apResetAddress": o.sev_es_reset_eip(),
                    "sections": [[s.gpa, s.size, s.section_type_int] for s in o.metadata_items()],
                    "hashTableAddress": o.sev_hashes_table_gpa() if kernel else None}
            """)
    }

    /// The launch digest the tool's library computes for each image, nil where it raises (the
    /// tool then fails).
    static func digests(of files: [String], vcpus: Int, vcpuSignature: UInt32, guestFeatures: UInt64) throws -> [String?] {
        try self.each(files, """
            from sevsnpmeasure.guest import snp_calc_launch_digest
            def each(path, vcpus, signature, features):
                return snp_calc_launch_digest(vcpus, signature, path, None, None, None, features, "").hex()
            """, parameters: [vcpus, Int(vcpuSignature), Int(guestFeatures)])
    }

    /// Writes images to files of a scratch directory and runs `body` with their paths.
    static func withImageFiles<T>(_ images: [[UInt8]], _ body: ([String]) throws -> T) throws -> T {
        try self.withScratchDirectory { scratch in
            let files = try images.enumerated().map { index, image in
                let file = scratch.appendingPathComponent("\(index).fd")
                try Data(image).write(to: file)
                return file.path
            }
            return try body(files)
        }
    }

    /// Runs `function`, Python defining `each(path, *parameters)`, on every file in one process of
    /// the Python that has the tool installed, and decodes the JSON values it returns; nil where it raises.
    private static func each<T: Decodable>(_ files: [String], _ function: String, parameters: [Int] = []) throws -> [T?] {
        let script = function + """

            import json, sys
            def guarded(path):
                try:
                    return each(path, *json.loads(sys.argv[1]))
                except Exception:
                    return None
            print(json.dumps([guarded(path) for path in sys.argv[2:]]))
            """
        let printed = try self.output(of: URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script, "\(parameters)"] + files)
        return try JSONDecoder().decode([T?].self, from: Data(printed.utf8))
    }

    private static func warn(_ message: String) {
        FileHandle.standardError.write(Data("\n*** WARNING: \(message) ***\n\n".utf8))
    }
}
