import EventLog

/// A file of the boot chain that the firmware loads as an EFI application.
public enum BootApplicationRole: String, Sendable, Hashable, CaseIterable {
    /// The first-stage loader the firmware starts from the boot option.
    case shim
    /// GRUB, which shim starts.
    case grub
    /// The kernel's EFI stub, when GRUB has the firmware load it.
    case kernel
    /// A unified kernel image: the last boot application.
    case uki
}

/// Where the files of a UEFI → shim → GRUB → kernel boot appear among a log's boot applications,
/// the EV_EFI_BOOT_SERVICES_APPLICATION events the firmware logs for every image it loads (PFP
/// v1.06 §10.4.4). Real logs differ in what surrounds them: firmware applications before shim
/// (`Fv(...)/FvFile(...)`), fallback boots that load shim twice, GRUB 2.06 and later have the
/// firmware load the kernel (RHEL's twice), older GRUB reads it without a load. So the files are
/// found by what GRUB logs rather than by their place:
///
/// - GRUB is the last boot application before GRUB's first measurement (its first `grub_cmd:`
///   EV_IPL event or PCR 9 file measurement; GRUB manual, "Measured Boot");
/// - shim is the boot application before GRUB;
/// - the kernel is every boot application after GRUB's `linux` (or `linuxefi`) command;
///
/// and every other load of the same image (the same digests) is that file too.
struct BootChainLayout {
    /// The positions among the boot applications (0 for the first) of each file.
    let positions: [BootApplicationRole: [Int]]

    init(_ log: EventLog) {
        let events = log.events
        let bootApplications = events.indices.filter { events[$0].eventType == .efiBootServicesApplication }
        let commands = events.indices.filter { events[$0].eventType == .ipl && events[$0].data.starts(with: Self.commandPrefix) }
        guard let firstCommand = commands.first else {
            self.positions = [:]
            return
        }
        let firstFile = events.indices.first { events[$0].eventType == .ipl && events[$0].pcrIndex == 9 } ?? firstCommand
        let sameImage = { (position: Int) in
            bootApplications.indices.filter { events[bootApplications[$0]].digests == events[bootApplications[position]].digests }
        }
        var positions: [BootApplicationRole: [Int]] = [:]
        if let grub = bootApplications.lastIndex(where: { $0 < min(firstCommand, firstFile) }) {
            positions[.grub] = sameImage(grub)
            if grub > 0 { positions[.shim] = sameImage(grub - 1) }
        }
        if let linux = commands.first(where: { command in Self.linuxPrefixes.contains { events[command].data.starts(with: $0) } }) {
            positions[.kernel] = bootApplications.indices.filter { bootApplications[$0] > linux }
        }
        self.positions = positions
    }

    /// GRUB's command events: `grub_cmd: COMMAND ARGS` (PCR 8).
    private static let commandPrefix = Array("grub_cmd: ".utf8)
    /// The commands that load the kernel.
    private static let linuxPrefixes = ["grub_cmd: linux ", "grub_cmd: linuxefi "].map { Array($0.utf8) }
}
