import Authenticode
import EventLog
import Foundation
import PCRPrediction
import Testing

/// The PCR 9 chain of `log` in `bank` when the GRUB file measurements whose logged path (event
/// data without its NUL) is a key of `files` take the digest coreutils' `sha1sum`, `sha256sum` or
/// `sha384sum` prints for the file, and every other event keeps its logged digest.
private func grubFileChain(_ log: EventLog, _ bank: TPMAlgorithm, _ files: [String: String]) throws -> [UInt8] {
    var value = [UInt8](repeating: 0, count: try #require(bank.digestSize))
    for event in log.events where event.pcrIndex == 9 && event.eventType != .noAction {
        let path = String(decoding: event.data.prefix { $0 != 0 }, as: UTF8.self)
        let digest: [UInt8]
        if event.eventType == .ipl, let file = files[path] {
            let output = try Peer.run("\(bank)sum", [file]).output
            digest = try #require(Peer.bytes(hex: String(output.prefix { $0 != " " })))
        } else {
            digest = try #require(event.digest(bank))
        }
        value = try #require(bank.hash(value + digest))
    }
    return value
}

/// GRUB file (PCR 9) prediction on real shim + GRUB logs. The logged paths are copied from what
/// tpm2_eventlog prints for the logs (PCR 8 `grub_cmd: linux`/`initrd` and PCR 9 EV_IPL events);
/// the replacement files are this machine's, hashed by coreutils.
@Suite("PCR prediction of new files GRUB measures", .enabled(if: FileManager.default.fileExists(atPath: PredictionLogs.directory.path)))
struct GRUBFilePredictionTests {
    static let kernel = "/etc/os-release"
    static let initrd = "/etc/passwd"

    @Test("RHEL 9: --kernel and --initrd replace the files GRUB's linux and initrd commands load")
    func kernelAndInitrd() throws {
        let log = try EventLog(bytes: try CommandLinePredictionTests.log("keylime-mb-secureboot.bin"))
        let kernelPath = "(hd0,gpt2)/vmlinuz-5.14.0-503.11.1.el9_5.x86_64"
        let initrdPath = "(hd0,gpt2)/initramfs-5.14.0-503.11.1.el9_5.x86_64.img"
        let prediction = try PCRPrediction(log: log, replacing: [], files: [
            BootFile(target: .kernel, contents: try Peer.bytes(Self.kernel)),
            BootFile(target: .initrd, contents: try Peer.bytes(Self.initrd)),
        ])
        #expect(prediction.predicted[.sha256, 9] == (try grubFileChain(log, .sha256, [kernelPath: Self.kernel, initrdPath: Self.initrd])))
        #expect(prediction.changedRegisters == [9])
        #expect(prediction.replacedFiles.map(\.path) == [kernelPath, initrdPath])
        for file in prediction.replacedFiles {
            #expect(log.events[file.event].data == Array((file.path + "\0").utf8))
        }
    }

    @Test("Ubuntu 21.04: --kernel and --file PATH=FILE in the SHA-1, SHA-256 and SHA-384 banks")
    func everyBank() throws {
        let log = try EventLog(bytes: try CommandLinePredictionTests.log("gce-ubuntu2104-no-secureboot.bin"))
        let grubenv = "(hd0,gpt1)/boot/grub/grubenv"
        let prediction = try PCRPrediction(log: log, replacing: [], files: [
            BootFile(target: .kernel, contents: try Peer.bytes(Self.kernel)),
            BootFile(target: .path(grubenv), contents: try Peer.bytes(Self.initrd)),
        ])
        let files = ["/boot/vmlinuz-5.11.0-1006-gcp": Self.kernel, grubenv: Self.initrd]
        for bank in [TPMAlgorithm.sha1, .sha256, .sha384] {
            #expect(prediction.predicted[bank, 9] == (try grubFileChain(log, bank, files)))
        }
        #expect(prediction.changedRegisters == [9])
        #expect(prediction.replacedFiles.map(\.path) == [grubenv, grubenv, "/boot/vmlinuz-5.11.0-1006-gcp"])
    }

    @Test("a file the log does not measure, or an initrd without an initrd command, is refused")
    func refused() throws {
        let log = try EventLog(bytes: try CommandLinePredictionTests.log("gce-ubuntu2104-no-secureboot.bin"))
        #expect(throws: PCRPredictionError.noGRUBCommand("initrd")) {
            try PCRPrediction(log: log, replacing: [], files: [BootFile(target: .initrd, contents: [1])])
        }
        #expect(throws: PCRPredictionError.noFileEvent("(hd0,gpt1)/boot/grub/missing.cfg")) {
            try PCRPrediction(log: log, replacing: [], files: [BootFile(target: .path("(hd0,gpt1)/boot/grub/missing.cfg"), contents: [1])])
        }
    }
}

/// The peers of the UKI tests.
enum UKITools {
    static let stub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"
    static let measure = "/usr/lib/systemd/systemd-measure"
    static let available = [stub, measure, "/usr/bin/objcopy"].allSatisfy(FileManager.default.fileExists(atPath:))
}

/// UKI prediction. The UKI is built here the way systemd-stub(7) describes, by adding sections
/// with objcopy to Debian's systemd-stub (systemd-boot-efi); the expected PCR 11 is what
/// `systemd-measure calculate` (systemd 252) prints for the same section files, and the expected
/// PCR 4 replaces the last boot application's digest by pesign's digest of the UKI.
///
/// Debian's stub carries its own .sbat section, which systemd 252 does not measure and current
/// systemd does: the UKI keeps it, and a copy whose .sdmagic names a later systemd-stub is expected
/// to measure it too.
@Suite("PCR prediction of a new unified kernel image",
       .enabled(if: Peer.available && UKITools.available,
                Comment(rawValue: Peer.missing + ", " + UKITools.stub + ", systemd-measure and objcopy: apt-get install systemd-boot-efi systemd binutils")))
struct UKIPredictionTests {

    /// Section files: name, path, and the address objcopy places the section at.
    static func sections(in directory: URL) throws -> [(name: String, path: String, address: Int)] {
        let cmdline = directory.appendingPathComponent("cmdline").path
        try Data("root=/dev/vda2 ro quiet".utf8).write(to: URL(fileURLWithPath: cmdline))
        let initrd = try #require(Peer.kernels.first).replacingOccurrences(of: "vmlinuz-", with: "initrd.img-")
        let kernel = try #require(Peer.kernels.first)
        let kernelSize = try #require(try FileManager.default.attributesOfItem(atPath: kernel)[.size] as? Int)
        var sections = [(".osrel", "/etc/os-release", 0x20000), (".cmdline", cmdline, 0x30000), (".linux", kernel, 0x100_0000)]
        if FileManager.default.fileExists(atPath: initrd) {
            sections.append((".initrd", initrd, 0x100_0000 + (kernelSize / 0x100_0000 + 1) * 0x100_0000))
        }
        return sections
    }

    /// The UKI objcopy builds from the stub and `sections`.
    static func build(_ sections: [(name: String, path: String, address: Int)], in directory: URL) throws -> String {
        let uki = directory.appendingPathComponent("uki.efi").path
        var arguments: [String] = []
        for section in sections {
            arguments += ["--add-section", "\(section.name)=\(section.path)",
                          "--change-section-vma", "\(section.name)=0x\(String(section.address, radix: 16))"]
        }
        try objcopy(arguments + [UKITools.stub, uki])
        return uki
    }

    /// PCR 11 before any boot phase, as `systemd-measure calculate --phase=` prints it (`11:BANK=HEX`).
    static func measured(_ sections: [(name: String, path: String, address: Int)], _ bank: TPMAlgorithm) throws -> [UInt8]? {
        let options = ["calculate", "--bank=\(bank)", "--phase="] + sections.map { "--\($0.name.dropFirst())=\($0.path)" }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: UKITools.measure)
        process.arguments = options
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let line = output.split(separator: "\n").first { $0.hasPrefix("11:\(bank)=") }
        return line.flatMap { Peer.bytes(hex: String($0.dropFirst("11:\(bank)=".count))) }
    }

    /// Runs objcopy and expects it to succeed.
    static func objcopy(_ arguments: [String]) throws {
        let (output, status) = try Peer.run("objcopy", arguments)
        #expect(status == 0, "\(output)")
    }

    /// Runs `body` with the section files, the path of the UKI built from them, and the UKI.
    static func withUKI(_ body: ([(name: String, path: String, address: Int)], String, PEImage) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cvm-uki-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let sections = try sections(in: directory)
        let path = try build(sections, in: directory)
        try body(sections, path, try PEImage(bytes: try Peer.bytes(path)))
    }

    @Test("systemd-boot log: PCR 11 equals systemd-measure's, PCR 4 takes pesign's UKI digest, again after a first UKI")
    func uki() throws {
        try Self.withUKI { sections, path, uki in
            let log = try EventLog(bytes: try CommandLinePredictionTests.log("workstation-arch-linux-systemd-boot.bin"))
            let prediction = try PCRPrediction(log: log, replacing: [], uki: uki)
            let lastApplication = try #require(log.events.last { $0.eventType == .efiBootServicesApplication })
            for bank in [TPMAlgorithm.sha1, .sha256] {
                let expected = try #require(try Self.measured(sections, bank))
                #expect(prediction.predicted[bank, 11] == expected)
                var pcr4 = [UInt8](repeating: 0, count: expected.count)
                for event in log.events where event.pcrIndex == 4 {
                    let logged = event.index == lastApplication.index
                        ? Peer.bytes(hex: try Peer.pesignDigest(path, bank.description)) : event.digest(bank)
                    let digest = try #require(logged)
                    pcr4 = try #require(bank.hash(pcr4 + digest))
                }
                #expect(prediction.predicted[bank, 4] == pcr4)
            }
            #expect(prediction.changedRegisters == [4, 11])
            #expect(prediction.predictedLog.events.filter { $0.pcrIndex == 11 }.count == 2 * sections.count)

            let again = try PCRPrediction(log: try EventLog(bytes: prediction.predictedLog.encoded()), replacing: [], uki: uki)
            #expect(again.predicted == prediction.predicted)
            #expect(again.predictedLog.events.filter { $0.pcrIndex == 11 }.count == 2 * sections.count)
        }
    }

    /// The Confidential GKE TDX log boots a UKI: its RTMR[2] (MR index 3) holds only systemd-stub's
    /// twelve section measurements (.linux, .osrel, .cmdline, .initrd, .uname, .sbat; name then
    /// data: EV_IPL events whose data is the UTF-16 section name), as the log records them.
    @Test("TDX CCEL booting a UKI: the stub's RTMR[2] events are replaced; RTMR[2] equals systemd-measure's SHA-384 PCR 11")
    func tdx() throws {
        try Self.withUKI { sections, _, uki in
            let log = try EventLog(bytes: try CommandLinePredictionTests.log("gke-tdx-grub-ccel.bin"))
            #expect(log.events.filter { $0.pcrIndex == 3 }.count == 12)
            let prediction = try PCRPrediction(log: log, replacing: [], uki: uki, registers: .tdxRTMRs)
            #expect(prediction.predicted[.sha384, 3] == (try Self.measured(sections, .sha384)))
            #expect(prediction.changedRegisters == [2, 3])
            #expect(prediction.predictedLog.events.filter { $0.pcrIndex == 3 }.count == 2 * sections.count)
        }
    }

    /// The stub's version string with 252 replaced by 257 (same length), set with objcopy
    /// --update-section; the expected PCR 11 extends systemd-measure's value (which covers .linux,
    /// .osrel, .cmdline and .initrd) by the .sbat section that follows them in canonical order,
    /// dumped by objcopy --dump-section.
    @Test("a UKI on a later systemd-stub is also measured for its .sbat")
    func laterStub() throws {
        try Self.withUKI { sections, path, _ in
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
            let magic = directory.appendingPathComponent("sdmagic").path
            let sbat = directory.appendingPathComponent("sbat").path
            let later = directory.appendingPathComponent("later.efi").path
            try Self.objcopy(["--dump-section", ".sdmagic=\(magic)", "--dump-section", ".sbat=\(sbat)", path, directory.appendingPathComponent("dumped.efi").path])
            let version = String(decoding: try Peer.bytes(magic), as: UTF8.self)
            #expect(version.contains("systemd-stub 252"))
            try Data(version.replacingOccurrences(of: "systemd-stub 252", with: "systemd-stub 257").utf8).write(to: URL(fileURLWithPath: magic))
            try Self.objcopy(["--update-section", ".sdmagic=\(magic)", path, later])
            let log = try EventLog(bytes: try CommandLinePredictionTests.log("workstation-arch-linux-systemd-boot.bin"))
            let prediction = try PCRPrediction(log: log, replacing: [], uki: try PEImage(bytes: try Peer.bytes(later)))
            var expected = try #require(try Self.measured(sections, .sha256))
            for measured in [Array(".sbat\0".utf8), try Peer.bytes(sbat)] {
                let digest = try #require(TPMAlgorithm.sha256.hash(measured))
                expected = try #require(TPMAlgorithm.sha256.hash(expected + digest))
            }
            #expect(prediction.predicted[.sha256, 11] == expected)
        }
    }

    @Test("a PE image without a .linux section (grub) is refused")
    func notAUKI() throws {
        let log = try EventLog(bytes: try CommandLinePredictionTests.log("workstation-arch-linux-systemd-boot.bin"))
        #expect(throws: PCRPredictionError.notAUKI) {
            try PCRPrediction(log: log, replacing: [], uki: try PEImage(bytes: try Peer.bytes(Peer.grub)))
        }
    }
}
