import ArgumentParser
import Foundation
import GuestAttestation
import TPMClient

/// A file named on the command line could not be read.
struct FileReadError: Error, CustomStringConvertible {
    let path: String
    let code: Int32
    var description: String { "cannot read \(path): \(String(cString: strerror(code)))" }
}

/// The bytes of a file named on the command line, read straight into the array: for a regular
/// file in one read of its size (an 8 MB kernel read through Data costs twice the page faults),
/// otherwise (a pipe, a device) in chunks until the end.
func readBinaryFile(_ path: String) throws(FileReadError) -> [UInt8] {
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { throw FileReadError(path: path, code: errno) }
    defer { close(descriptor) }
    var status = stat()
    let size = fstat(descriptor, &status) == 0 && status.st_mode & S_IFMT == S_IFREG ? Int(status.st_size) : 0
    var bytes: [UInt8] = []
    bytes.reserveCapacity(size)
    var chunk = [UInt8](repeating: 0, count: max(size, 1 << 16))
    while true {
        let got = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if got < 0, errno == EINTR { continue }
        guard got >= 0 else { throw FileReadError(path: path, code: errno) }
        guard got > 0 else { return bytes }
        if bytes.isEmpty, got == chunk.count, got == size {
            swap(&bytes, &chunk)
        } else {
            bytes += chunk[..<got]
        }
    }
}

/// A secret written to a file of mode 0600 from its creation (open(2) with the mode, so it
/// never exists readable by others), replacing what was there; a failure names the path and the
/// reason. For released secrets and generated keys.
func writePrivateFile(_ bytes: [UInt8], to path: String) throws(FileWriteError) {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { throw FileWriteError(path: path, code: errno) }
    defer { close(descriptor) }
    // An existing file keeps its mode through O_TRUNC.
    guard fchmod(descriptor, 0o600) == 0 else { throw FileWriteError(path: path, code: errno) }
    var written = 0
    while written < bytes.count {
        let n = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, bytes.count - written) }
        if n < 0, errno == EINTR { continue }
        guard n > 0 else { throw FileWriteError(path: path, code: errno) }
        written += n
    }
}

/// A file named on the command line could not be written.
struct FileWriteError: Error, CustomStringConvertible {
    let path: String
    let code: Int32
    var description: String { "cannot write \(path): \(String(cString: strerror(code)))" }
}

/// Runs `body` once to warm up, then repeatedly for `seconds` (and at least `minimumCalls`
/// times); returns calls per second. With `cpuTime` the seconds are this thread's CPU time
/// rather than wall-clock time, as `openssl speed` counts (user time unless -elapsed), so that
/// other load on a shared machine does not count. Shared by the `cvm bench` commands.
func callsPerSecond(seconds: Double, minimumCalls: Int = 1, cpuTime: Bool = false, _ body: () throws -> Void) rethrows -> Double {
    try timedCalls(seconds: seconds, minimumCalls: minimumCalls, cpuTime: cpuTime, body).rate
}

/// `callsPerSecond`, with the number of timed calls.
func timedCalls(seconds: Double, minimumCalls: Int = 1, cpuTime: Bool = false, _ body: () throws -> Void) rethrows -> (rate: Double, calls: Int) {
    try body()
    let clock = ContinuousClock()
    let wallStart = clock.now
    let cpuStart = threadCPUTime()
    var count = 0
    var elapsed: Duration = .zero
    repeat {
        try body()
        count += 1
        elapsed = cpuTime ? threadCPUTime() - cpuStart : clock.now - wallStart
    } while elapsed < .seconds(seconds) || count < minimumCalls
    return (Double(count) / elapsed.inSeconds, count)
}

/// CPU time the calling thread has used (CLOCK_THREAD_CPUTIME_ID).
func threadCPUTime() -> Duration {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec)
}

extension Duration {
    /// The duration as a number of seconds.
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// A progress line on standard error for long disk work: bytes done (of the total, when known),
/// the percentage and the rate in MB/s, redrawn at most five times a second and ended with a
/// newline. Shown when standard output is a terminal, or when asked for with --progress.
final class ProgressLine {
    private let label: String
    private let total: UInt64?
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant
    private var lastDrawn: ContinuousClock.Instant
    private var done: UInt64 = 0

    /// A progress line, or nil when it is not to be shown.
    init?(_ label: String, total: UInt64?, forced: Bool) {
        guard forced || isatty(STDOUT_FILENO) != 0 else { return nil }
        self.label = label
        self.total = total
        start = clock.now
        lastDrawn = start
    }

    func update(_ done: UInt64) {
        self.done = done
        let now = clock.now
        guard now - lastDrawn >= .milliseconds(200) else { return }
        lastDrawn = now
        draw(now)
    }

    func finish() {
        draw(clock.now)
        FileHandle.standardError.write(Data("\n".utf8))
    }

    private func draw(_ now: ContinuousClock.Instant) {
        let seconds = max((now - start).inSeconds, 1e-9)
        var text = "\r\(label): \(Self.size(done))"
        if let total, total > 0 {
            text += " of \(Self.size(total)), \(String(format: "%5.1f", Double(done) * 100 / Double(total)))%"
        }
        text += String(format: ", %.1f MB/s   ", Double(done) / seconds / 1e6)
        FileHandle.standardError.write(Data(text.utf8))
    }

    private static func size(_ bytes: UInt64) -> String {
        bytes >= 1 << 30 ? String(format: "%.2f GiB", Double(bytes) / Double(1 << 30)) : String(format: "%.1f MiB", Double(bytes) / Double(1 << 20))
    }
}

/// Warns on standard error when this is a debug build, whose figures mean nothing; for the
/// `cvm bench` commands.
func warnIfDebugBuild() {
    #if DEBUG
    FileHandle.standardError.write(Data("warning: this is a debug build; build with -c release for meaningful figures.\n".utf8))
    #endif
}

/// OpenSSL's ECDSA verify rate on the NIST curve of `bits` (256 or 384), per second of user CPU
/// time: the verify/s column of `openssl speed -seconds N ecdsapBITS`, from its line
/// ` 256 bits ecdsa (nistp256)   0.0000s   0.0001s  38120.6  12803.2`.
func opensslECDSAVerifyRate(openssl: String, bits: Int, seconds: Int) throws -> Double {
    let (status, printed) = ChildProcess.run([openssl, "speed", "-seconds", String(seconds), "ecdsap\(bits)"])
    guard status == 0,
          let line = printed.split(separator: "\n").first(where: { $0.contains("ecdsa (nistp\(bits))") }),
          let rate = line.split(separator: " ").last.flatMap({ Double($0) }) else {
        throw CommandFailure("`\(openssl) speed ecdsap\(bits)` did not print a verify/s figure for nistp\(bits).")
    }
    return rate
}

/// PCR indices given as a comma-separated list.
func pcrIndices(_ list: String) throws -> [Int] {
    let indices = try list.split(separator: ",").map { text in
        // PCRs 0–23 (TCG PC Client Platform TPM Profile: 24 PCRs).
        guard let pcr = Int(text.trimmingCharacters(in: .whitespaces)), (0..<24).contains(pcr) else {
            throw ValidationError("bad PCR '\(text)': PCRs are 0 to 23")
        }
        return pcr
    }
    guard !indices.isEmpty else { throw ValidationError("no PCR given") }
    guard Set(indices).count == indices.count else { throw ValidationError("a PCR is given twice in '\(list)'") }
    return indices
}

/// A TPM named on the command line: `device[:PATH]` (a TPM character device, `/dev/tpmrm0`
/// unless PATH is given, taken below the command's `--root`), `socket:HOST:PORT` or
/// `swtpm:[HOST:]PORT` (bare command frames over TCP, as swtpm's data channel carries them), or
/// `mssim:[HOST:]PORT` (the Microsoft simulator protocol, e.g. `cvm vtpm serve`).
struct TPMAddress: ExpressibleByArgument {
    enum Kind {
        case device(path: String)
        case mssim(host: String, port: UInt16)
        case swtpm(host: String, port: UInt16)
    }

    var kind: Kind

    /// The `--tpm` help of a command that talks to a TPM in the host (not below a `--root`).
    static let help: ArgumentHelp = "The TPM: device[:PATH] (default /dev/tpmrm0), mssim:[HOST:]PORT or swtpm:[HOST:]PORT."

    init?(argument: String) {
        let parts = argument.split(separator: ":", maxSplits: 1).map(String.init)
        if parts.first == "device" {
            kind = .device(path: parts.count == 2 ? parts[1] : "/dev/tpmrm0")
            return
        }
        let fields = argument.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 2 || fields.count == 3, let port = UInt16(fields[fields.count - 1]) else { return nil }
        let host = fields.count == 3 ? fields[1] : "127.0.0.1"
        switch fields[0] {
        case "mssim": kind = .mssim(host: host, port: port)
        case "swtpm": kind = .swtpm(host: host, port: port)
        case "socket" where fields.count == 3: kind = .swtpm(host: host, port: port)
        default: return nil
        }
    }

    /// The client; a device path is taken below `root`.
    func client(root: String = "/") -> TPM2Client {
        switch kind {
        case let .device(path): TPM2Client(transport: DeviceTransport(path: LocalGuestFileSystem(root: root).hostPath(path)))
        case let .mssim(host, port): TPM2Client(transport: MSSimTransport(host: host, port: port))
        case let .swtpm(host, port): TPM2Client(transport: SwtpmTransport(host: host, port: port))
        }
    }

    /// The client, after TPM2_Startup(CLEAR) when a simulator has not started yet (Part 3 §9.3:
    /// TPM_RC_INITIALIZE when it has). A device was started by the firmware.
    func startedClient(root: String = "/") throws -> TPM2Client {
        let client = client(root: root)
        if case .device = kind { return client }
        do {
            try client.startup(.clear)
        } catch where error.responseCode?.base == .initialize {}
        return client
    }
}
