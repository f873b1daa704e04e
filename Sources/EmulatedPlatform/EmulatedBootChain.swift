import Authenticode
import Foundation

/// What the emulated VM boots, as a Debian guest does under UEFI: shim, GRUB (which reads its
/// configuration, the kernel and the initrd), and the kernel's EFI stub with its command line.
public struct EmulatedBootChain: Sendable {
    /// The first-stage loader the firmware starts from the boot option (`\EFI\BOOT\BOOTX64.EFI`).
    public var shim: PEImage
    /// The boot loader shim starts.
    public var grub: PEImage
    /// The kernel (an EFI-stub PE image) GRUB loads.
    public var kernel: PEImage
    /// The initial RAM disk GRUB loads.
    public var initrd: [UInt8]
    /// The kernel command line.
    public var commandLine: String

    /// A boot chain of the given files.
    public init(shim: PEImage, grub: PEImage, kernel: PEImage, initrd: [UInt8], commandLine: String) {
        self.shim = shim
        self.grub = grub
        self.kernel = kernel
        self.initrd = initrd
        self.commandLine = commandLine
    }

    /// The command line the emulated guest boots with unless told otherwise.
    public static let defaultCommandLine = "root=/dev/mapper/root ro console=ttyS0"

    /// Three small synthetic EFI applications (``SyntheticPEImage``) and a synthetic initrd: the
    /// same bytes every time, so every launch measures the same values.
    public static func synthetic(commandLine: String = defaultCommandLine) throws(EmulatedPlatformError) -> EmulatedBootChain {
        do {
            return EmulatedBootChain(
                shim: try SyntheticPEImage.make(code: filler("CVMKit emulated shim 15.8", count: 2048)),
                grub: try SyntheticPEImage.make(code: filler("CVMKit emulated GRUB 2.06", count: 4096)),
                kernel: try SyntheticPEImage.make(code: filler("CVMKit emulated Linux 6.1 EFI stub", count: 8192)),
                initrd: filler("CVMKit emulated initramfs: cryptsetup, systemd-cryptsetup", count: 16384),
                commandLine: commandLine)
        } catch {
            throw .bootFile(path: "synthetic image", reason: error.description)
        }
    }

    /// Debian's signed shim, GRUB and kernel with the kernel's initrd, where the packages
    /// shim-signed, grub-efi-amd64-signed and linux-image-amd64 put them (see
    /// scripts/install-deps.sh): a boot chain that measures exactly as a Debian guest's does.
    public static func debian(
        kernelVersion: String? = nil, commandLine: String = defaultCommandLine
    ) throws(EmulatedPlatformError) -> EmulatedBootChain {
        let version: String
        if let kernelVersion {
            version = kernelVersion
        } else {
            let installed = (try? FileManager.default.contentsOfDirectory(atPath: "/boot")) ?? []
            guard let newest = installed.filter({ $0.hasPrefix("vmlinuz-") }).sorted().last else {
                throw .bootFile(path: "/boot/vmlinuz-*", reason: "no kernel is installed (apt-get install linux-image-amd64)")
            }
            version = String(newest.dropFirst("vmlinuz-".count))
        }
        return EmulatedBootChain(
            shim: try image("/usr/lib/shim/shimx64.efi.signed"),
            grub: try image("/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed"),
            kernel: try image("/boot/vmlinuz-\(version)"),
            initrd: try file("/boot/initrd.img-\(version)"),
            commandLine: commandLine)
    }

    /// The same chain with one byte of the kernel's first section changed: a kernel that still
    /// loads but is not the one the owner measured.
    public func tamperingKernel() throws(EmulatedPlatformError) -> EmulatedBootChain {
        var bytes = self.kernel.bytes
        guard let section = self.kernel.sections.first(where: { $0.sizeOfRawData > 0 }) else {
            throw .bootFile(path: "kernel", reason: "it has no section to change")
        }
        bytes[Int(section.pointerToRawData + section.sizeOfRawData / 2)] ^= 0x01
        var tampered = self
        do { tampered.kernel = try PEImage(bytes: bytes) } catch { throw .bootFile(path: "kernel", reason: error.description) }
        return tampered
    }

    private static func file(_ path: String) throws(EmulatedPlatformError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .bootFile(path: path, reason: "it cannot be read")
        }
        return Array(data)
    }

    private static func image(_ path: String) throws(EmulatedPlatformError) -> PEImage {
        let bytes = try file(path)
        do { return try PEImage(bytes: bytes) } catch { throw .bootFile(path: path, reason: error.description) }
    }

    /// `label` then a deterministic byte pattern, `count` bytes in all.
    private static func filler(_ label: String, count: Int) -> [UInt8] {
        let head = Array(label.utf8)
        return head + (0..<max(count - head.count, 0)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    }
}
