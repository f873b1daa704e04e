import ArgumentParser
import Crypto
import DiskEncryption
import Foundation

/// `cvm bench disk`: CVMKit's AES-XTS data path beside `cryptsetup benchmark` (the kernel's
/// crypto API) and `openssl speed` (OpenSSL's EVP AES-256-XTS), and keyslot unlock time beside
/// `cryptsetup open --test-passphrase` on the same volume, in one run.
struct BenchDisk: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disk",
        abstract: "AES-XTS throughput and keyslot unlock time: CVMKit beside cryptsetup and openssl.",
        discussion: "Build in release mode first (swift build -c release). Throughput is one thread, 4 KiB sectors, 512-bit keys.")

    @Option(help: "Seconds per throughput measurement (each is repeated in 3 alternating rounds).")
    var seconds: Double = 3

    @Option(help: "PBKDF2-SHA256 iterations of the PBKDF2 keyslot.")
    var pbkdf2Iterations: Int = 1_000_000

    @Option(help: "Argon2id passes of the Argon2id keyslot.")
    var argon2Iterations: Int = 4

    @Option(help: "Argon2id memory in KiB.")
    var argon2Memory: Int = 262_144

    @Option(help: "Argon2id lanes.")
    var argon2Parallel: Int = 1

    @Option(help: "Unlocks timed per tool and keyslot (the median is shown).")
    var repeats: Int = 3

    static let rounds = 3
    static let sectorSize = 4096
    static let bufferSize = 1 << 20
    static let mebibyte = Double(1 << 20)

    func validate() throws {
        guard seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600]") }
        guard repeats > 0 else { throw ValidationError("--repeats must be positive") }
    }

    func run() throws {
        let openssl = ChildProcess.firstLine("openssl", "version")
        print("cvm bench disk: \(ProcessInfo.processInfo.activeProcessorCount) cores; \(ChildProcess.firstLine("cryptsetup")); \(openssl)")
        print("")
        print("| AES-XTS, 512-bit key (median of \(Self.rounds) alternating rounds, per CPU second) | encrypt (MiB/s) | decrypt (MiB/s) |")
        print("|---|---:|---:|")
        let runs: [() throws -> Double?] = [
            { try cvmkitThroughput(encrypting: true) }, { try cvmkitThroughput(encrypting: false) },
            { opensslThroughput(["-bytes", "4096"]) }, { opensslThroughput(["-bytes", "4096", "-decrypt"]) }, { opensslThroughput([]) },
        ]
        // Rounds alternate between the implementations so that a change in the load of this
        // shared machine affects all alike.
        var samples = [[Double]](repeating: [], count: runs.count)
        for _ in 0..<Self.rounds {
            for (index, run) in runs.enumerated() {
                if let rate = try run() { samples[index].append(rate) }
            }
        }
        let medians = samples.map { $0.isEmpty ? nil : $0.sorted()[$0.count / 2] }
        func cell(_ value: Double?) -> String { value.map { String(format: "%.0f", $0) } ?? "unavailable" }
        func ratio(_ ours: Double?, _ theirs: Double?) -> String {
            guard let ours, let theirs else { return "–" }
            return String(format: "%.0f%%", 100 * ours / theirs)
        }
        let window = "-seconds \(Int(seconds.rounded(.up)))"
        print("| CVMKit AESXTS, 4 KiB sectors, 1 MiB buffers | \(cell(medians[0])) | \(cell(medians[1])) |")
        print("| openssl speed -evp aes-256-xts \(window) -bytes 4096 [-decrypt] | \(cell(medians[2])) | \(cell(medians[3])) |")
        print("| openssl speed -evp aes-256-xts \(window), 16 KiB column | \(cell(medians[4])) | – |")
        print("| cryptsetup benchmark --cipher aes-xts-plain64 --key-size 512 | \(cryptsetupThroughput()) |")
        print("| CVMKit / openssl at 4 KiB | \(ratio(medians[0], medians[2])) | \(ratio(medians[1], medians[3])) |")
        print("")
        print("| keyslot unlock (same volume) | cryptsetup open --test-passphrase (ms) | CVMKit unlock (ms) |")
        print("|---|---:|---:|")
        let kdfs: [(String, [String])] = [
            ("PBKDF2-SHA256, \(pbkdf2Iterations) iterations", ["--pbkdf", "pbkdf2", "--hash", "sha256", "--pbkdf-force-iterations", String(pbkdf2Iterations)]),
            ("Argon2id, t=\(argon2Iterations) m=\(argon2Memory) KiB p=\(argon2Parallel)",
             ["--pbkdf", "argon2id", "--pbkdf-force-iterations", String(argon2Iterations), "--pbkdf-memory", String(argon2Memory),
              "--pbkdf-parallel", String(argon2Parallel)]),
        ]
        for (name, arguments) in kdfs {
            let (cryptsetup, cvmkit) = try unlockTimes(formatArguments: arguments)
            print(String(format: "| %@ | %.0f | %.0f |", name as NSString, cryptsetup, cvmkit))
        }
    }

    /// MiB/s of ``AESXTS`` over 1 MiB of 4 KiB sectors with dm-crypt's sector numbering.
    func cvmkitThroughput(encrypting: Bool) throws -> Double {
        let cipher = try AESXTS(key: SymmetricKey(size: .init(bitCount: 512)))
        var buffer = (0..<Self.bufferSize).map { _ in UInt8.random(in: 0...255) }
        var sector: UInt64 = 0
        let unitStep = UInt64(Self.sectorSize / 512)
        return try Self.rate(seconds: seconds, bytes: Self.bufferSize) {
            if encrypting {
                try cipher.encrypt(&buffer, unitSize: Self.sectorSize, firstUnit: sector, unitStep: unitStep)
            } else {
                try cipher.decrypt(&buffer, unitSize: Self.sectorSize, firstUnit: sector, unitStep: unitStep)
            }
            sector &+= UInt64(Self.bufferSize / Self.sectorSize) * unitStep
        }
    }

    /// MiB/s of `bytes` per call of `body`, run for `seconds` of this thread's CPU time after a
    /// warm-up call: `openssl speed` counts user CPU time, so both figures leave out the time
    /// other work on the machine takes.
    static func rate(seconds: Double, bytes: Int, _ body: () throws -> Void) throws -> Double {
        try callsPerSecond(seconds: seconds, cpuTime: true, body) * Double(bytes) / Self.mebibyte
    }

    /// The encryption and decryption columns of `cryptsetup benchmark` (MiB/s, kernel crypto API
    /// through AF_ALG), or why there are none.
    func cryptsetupThroughput() -> String {
        let (status, output) = ChildProcess.run(["cryptsetup", "benchmark", "--cipher", "aes-xts-plain64", "--key-size", "512"])
        guard status == 0, let line = output.split(separator: "\n").last(where: { $0.contains("aes-xts") }) else {
            let reason = output.split(separator: "\n").first.map(String.init) ?? "exit \(status)"
            return "unavailable: \(reason) | – "
        }
        let fields = line.split(separator: " ")
        let rates = fields.indices.filter { fields[$0] == "MiB/s" }.map { String(fields[$0 - 1]) }
        guard rates.count == 2 else { return "unparsed: \(line) | – " }
        return "\(rates[0]) | \(rates[1])"
    }

    /// The last (largest block) column of `openssl speed -evp aes-256-xts` (1000s of bytes per
    /// second) in MiB/s, or nil when openssl does not run.
    func opensslThroughput(_ extra: [String]) -> Double? {
        let (status, output) = ChildProcess.run(["openssl", "speed", "-evp", "aes-256-xts", "-seconds", String(Int(seconds.rounded(.up)))] + extra)
        guard status == 0, let line = output.split(separator: "\n").last(where: { $0.hasPrefix("AES-256-XTS") }),
            let last = line.split(separator: " ").last, let thousands = Double(last.dropLast())
        else { return nil }
        return thousands * 1000 / Self.mebibyte
    }

    /// Median milliseconds of `cryptsetup open --test-passphrase` and of CVMKit's unlock on a
    /// volume cryptsetup formats with `formatArguments`.
    func unlockTimes(formatArguments: [String]) throws -> (cryptsetup: Double, cvmkit: Double) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cvm-bench-disk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("volume.img").path
        let keyFile = directory.appendingPathComponent("key").path
        let passphrase = Array("cvm bench disk".utf8)
        try Data(passphrase).write(to: URL(fileURLWithPath: keyFile))
        guard FileManager.default.createFile(atPath: path, contents: nil) else { throw ValidationError("cannot create \(path)") }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: 17 << 20)
        try handle.close()
        let format = ChildProcess.run(["cryptsetup", "luksFormat", "--type", "luks2", "--batch-mode", "--key-file", keyFile] + formatArguments + [path])
        guard format.status == 0 else { throw ValidationError("cryptsetup luksFormat failed: \(format.output)") }

        let clock = ContinuousClock()
        var cryptsetup: [Double] = []
        var cvmkit: [Double] = []
        for _ in 0..<repeats {
            let start = clock.now
            let open = ChildProcess.run(["cryptsetup", "open", "--test-passphrase", "--key-file", keyFile, path])
            guard open.status == 0 else { throw ValidationError("cryptsetup open --test-passphrase failed: \(open.output)") }
            cryptsetup.append((clock.now - start).inSeconds * 1000)
            let ours = clock.now
            _ = try LUKS2Volume(path: path).unlock(passphrase: passphrase)
            cvmkit.append((clock.now - ours).inSeconds * 1000)
        }
        return (cryptsetup.sorted()[repeats / 2], cvmkit.sorted()[repeats / 2])
    }
}
