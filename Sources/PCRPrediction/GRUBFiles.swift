import EventLog

/// A file GRUB will read on the next boot, and what replaces it.
public struct BootFile: Sendable, Equatable {
    /// Which of the log's GRUB file measurements the file replaces.
    public enum Target: Sendable, Equatable {
        /// The file the log's `linux` (or `linuxefi`) command loads.
        case kernel
        /// The files the log's `initrd` (or `initrdefi`) command loads, in the order of the
        /// command's arguments: the first `.initrd` replaces the first argument, and so on.
        case initrd
        /// Every file measurement whose logged path is exactly this one, e.g. `(hd0,gpt2)/grub2/grub.cfg`.
        case path(String)
    }

    public var target: Target
    public var contents: [UInt8]

    public init(target: Target, contents: [UInt8]) {
        self.target = target
        self.contents = contents
    }
}

/// One GRUB file measurement a prediction rewrote.
public struct ReplacedFile: Sendable, Equatable {
    /// The event's position in the log.
    public var event: Int
    /// The path the event logs.
    public var path: String
}

/// GRUB 2's TPM module measures every file it opens for the boot (grub.cfg, grubenv, modules,
/// the kernel, the initrd) into PCR 9 as an EV_IPL event (PFP v1.06 §10.4.1) whose data is the
/// file's path with a NUL and whose digest, in every bank, is the hash of the whole file (GRUB
/// manual, "Measured Boot"). In a TDX CCEL, PCR 9 is RTMR[2] (MR index 3).
///
/// The old files are not available, so a measurement cannot be recognised by its digest; it is
/// recognised by its logged path. The kernel's and initrd's paths are the arguments GRUB logged
/// for its `linux` and `initrd` commands in PCR 8 (`grub_cmd: linux PATH ARGS`), which name the
/// files exactly as the PCR 9 events do.
enum GRUBFiles {
    private static let kernelCommands = ["linux", "linuxefi"]
    private static let initrdCommands = ["initrd", "initrdefi"]

    /// Replaces the digests of the measurements of `files`; the events replaced, in log order.
    static func rewrite(_ log: inout EventLog, _ files: [BootFile], register: UInt32) throws(PCRPredictionError) -> [ReplacedFile] {
        var replaced: [Int: String] = [:]
        let initrdPaths = commandArguments(log, initrdCommands).last { !$0.isEmpty } ?? []
        let kernelPaths = commandArguments(log, kernelCommands).compactMap(\.first)
            .reduce(into: [String]()) { unique, path in if !unique.contains(path) { unique.append(path) } }
        var initrdsUsed = 0
        for file in files {
            let paths: [String]
            switch file.target {
            case .kernel:
                guard !kernelPaths.isEmpty else { throw .noGRUBCommand("linux") }
                paths = kernelPaths
            case .initrd:
                guard initrdsUsed < initrdPaths.count else { throw .noGRUBCommand("initrd") }
                paths = [initrdPaths[initrdsUsed]]
                initrdsUsed += 1
            case .path(let path):
                paths = [path]
            }
            for path in paths {
                let events = log.events.indices.filter {
                    log.events[$0].pcrIndex == register && log.events[$0].eventType == .ipl && loggedPath(log.events[$0].data) == path
                }
                guard !events.isEmpty else { throw .noFileEvent(path) }
                for position in events {
                    log.events[position].digests = try log.events[position].digests(of: file.contents)
                    replaced[position] = path
                }
            }
        }
        return replaced.sorted { $0.key < $1.key }.map { ReplacedFile(event: log.events[$0.key].index, path: $0.value) }
    }

    /// The event data as a path: the text before its NUL.
    private static func loggedPath(_ data: [UInt8]) -> String {
        String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// The arguments of each logged `grub_cmd: COMMAND ARGS` event for one of `commands`, in log order.
    private static func commandArguments(_ log: EventLog, _ commands: [String]) -> [[String]] {
        log.events.filter { $0.eventType == .ipl }.compactMap { event in
            let words = loggedPath(event.data).split(separator: " ").map(String.init)
            guard words.count >= 2, words[0] == "grub_cmd:", commands.contains(words[1]) else { return nil }
            return Array(words.dropFirst(2))
        }
    }
}

extension TCGPCREvent2 {
    /// The digests of `bytes` in this event's banks.
    func digests(of bytes: [UInt8]) throws(PCRPredictionError) -> [TCGDigest] {
        var digests: [TCGDigest] = []
        for digest in self.digests {
            guard let hash = digest.algorithm.hash(bytes) else { throw .unsupportedBank(digest.algorithm) }
            digests.append(TCGDigest(algorithm: digest.algorithm, bytes: hash))
        }
        return digests
    }
}
