import ArgumentParser
import Foundation

/// Programs the `cvm bench` commands start: peers to compare against, and tools whose output
/// they read. posix_spawnp, because a child of Foundation's Process inherits the spawning
/// thread's signal mask, where every signal is blocked: `openssl speed` then never sees the
/// SIGALRM that ends each of its measurements, and swtpm ignores the SIGTERM that should stop
/// it. Children start here with no signal blocked and every signal at its default action.
enum ChildProcess {
    /// Where the child's standard output and standard error go.
    private enum Output {
        case discard
        case pipe(Int32)
    }

    /// Starts `arguments[0]` (a path, or a name looked up on PATH) with its output discarded.
    static func start(_ arguments: [String]) throws -> pid_t {
        try spawn(arguments, output: .discard)
    }

    /// Runs `arguments[0]` to the end; its exit status (-1 when a signal ended it or it could not
    /// start) and its standard output and error together.
    static func run(_ arguments: [String]) -> (status: Int32, output: String) {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { return (-1, "pipe: \(String(cString: strerror(errno)))") }
        // Close-on-exec, so the child keeps only its duplicates of the write end.
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        defer { close(ends[0]) }
        let pid: pid_t
        do {
            defer { close(ends[1]) }
            pid = try spawn(arguments, output: .pipe(ends[1]))
        } catch {
            return (-1, "\(error)")
        }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let got = chunk.withUnsafeMutableBytes { read(ends[0], $0.baseAddress, $0.count) }
            if got < 0, errno == EINTR { continue }
            guard got > 0 else { break }
            output += chunk[..<got]
        }
        return (wait(pid), String(decoding: output, as: UTF8.self))
    }

    /// The first line `tool flag` prints (a version line), or the tool's name.
    static func firstLine(_ tool: String, _ flag: String = "--version") -> String {
        let (status, output) = run([tool, flag])
        guard status == 0, let line = output.split(separator: "\n").first else { return tool }
        return String(line)
    }

    /// Waits for `pid` to end; its exit status, or -1 when a signal ended it.
    @discardableResult
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS: the low 7 bits are the terminating signal, if any.
        return status & 0x7F == 0 ? (status >> 8) & 0xFF : -1
    }

    /// Whether `pid` has ended (and is reaped).
    static func hasExited(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == pid
    }

    /// SIGTERM, then waits for the end.
    static func stop(_ pid: pid_t) {
        kill(pid, SIGTERM)
        wait(pid)
    }

    private static func spawn(_ arguments: [String], output: Output) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        switch output {
        case .discard:
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        case let .pipe(descriptor):
            posix_spawn_file_actions_adddup2(&actions, descriptor, 1)
            posix_spawn_file_actions_adddup2(&actions, descriptor, 2)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let error = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, environ)
        guard error == 0 else { throw ValidationError("cannot start \(arguments[0]): \(String(cString: strerror(error)))") }
        return pid
    }
}
