import EventLog

/// Rewrites the events that measure the kernel command line, so that a prediction can cover a
/// new one. Two measurers are recognised, by their event data:
///
/// - GRUB (PCR 8, RTMR[2] in a TDX CCEL) logs each command and the command line as EV_IPL text
///   (PFP v1.06 §10.4.1) `grub_cmd: linux PATH ARGS` and `kernel_cmdline: PATH ARGS`, and
///   measures the text after the prefix without its NUL.
/// - systemd-stub and systemd-boot (PCR 12, or 9 for older versions) log the command line as
///   EV_IPL UTF-16LE text with its NUL and measure exactly the event data.
///
/// An event is rewritten only when every digest it carries is the hash of its data under that
/// model, so events measured in some other way are never touched.
enum KernelCommandLine {
    private static let grubPrefixes = ["kernel_cmdline: ", "grub_cmd: linux ", "grub_cmd: linuxefi "]

    /// Rewrites every recognised command line event; false if there is none.
    static func rewrite(_ log: inout EventLog, to commandLine: String) -> Bool {
        var rewritten = false
        for position in log.events.indices where log.events[position].eventType == .ipl {
            let event = log.events[position]
            guard let (data, measured, text) = replacement(for: event, commandLine: commandLine),
                  event.digests.allSatisfy({ $0.algorithm.hash(Self.measured(event.data)) == $0.bytes }) else { continue }
            var digests: [TCGDigest] = []
            for digest in event.digests {
                guard let bytes = digest.algorithm.hash(measured) else { continue }
                digests.append(TCGDigest(algorithm: digest.algorithm, bytes: bytes))
            }
            log.events[position].data = data
            log.events[position].content = .text(text)
            log.events[position].digests = digests
            rewritten = true
        }
        return rewritten
    }

    /// The bytes GRUB or systemd measure for event data of either form.
    private static func measured(_ data: [UInt8]) -> [UInt8] {
        guard let prefix = grubPrefix(data) else { return data }
        return Array(data.dropFirst(grubMeasuredStart(prefix)).prefix { $0 != 0 })
    }

    private static func grubPrefix(_ data: [UInt8]) -> String? {
        grubPrefixes.first { data.starts(with: Array($0.utf8)) }
    }

    /// GRUB measures from after "kernel_cmdline: " or "grub_cmd: ".
    private static func grubMeasuredStart(_ prefix: String) -> Int {
        prefix.hasPrefix("grub_cmd: ") ? "grub_cmd: ".utf8.count : prefix.utf8.count
    }

    /// The new event data, the bytes whose hash is its digest, and the data as text.
    private static func replacement(for event: TCGPCREvent2, commandLine: String) -> (data: [UInt8], measured: [UInt8], text: String)? {
        if let prefix = grubPrefix(event.data) {
            let path = event.data.dropFirst(prefix.utf8.count).prefix { $0 != 0 && $0 != UInt8(ascii: " ") }
            var data: [UInt8] = Array(prefix.utf8)
            data += path
            data += Array((" " + commandLine).utf8)
            let text = String(decoding: data, as: UTF8.self)
            if event.data.last == 0 { data.append(0) }
            return (data, measured(data), text)
        }
        let isUTF16 = event.data.count >= 4 && event.data.count % 2 == 0 && event.data.suffix(2) == [0, 0]
            && stride(from: 1, to: event.data.count, by: 2).allSatisfy { event.data[$0] == 0 }
        guard isUTF16 else { return nil }
        var data: [UInt8] = commandLine.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        data += [0, 0]
        return (data, data, commandLine)
    }
}
