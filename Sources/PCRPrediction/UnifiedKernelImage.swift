import Authenticode
import EventLog

/// systemd-stub's PCR 11 measurements of a unified kernel image (UKI).
///
/// systemd-stub measures each UKI section the UKI specification (UAPI.5) defines, except
/// `.pcrsig`, in the specification's canonical order (not the order of the section table), into
/// PCR 11 as two EV_IPL events (PFP v1.06 §10.4.1) whose data is the section name in UTF-16 with
/// its NUL: the first measures the section name in ASCII including its NUL, the second the
/// section's contents as loaded, `VirtualSize` bytes from its `VirtualAddress` (systemd
/// documentation, "TPM2 PCR Measurements Made by systemd"; `systemd-measure calculate` computes
/// the same values). In a TDX CCEL, PCR 11 is RTMR[2] (MR index 3), shared with PCRs 8–15.
///
/// Which sections are measured depends on the stub. systemd 252's (Debian bookworm) knows only
/// `.linux`, `.osrel`, `.cmdline`, `.initrd`, `.splash`, `.dtb`, `.pcrsig` and `.pcrpkey`, so a UKI
/// built on it is not measured for its own `.sbat`; current systemd measures more. The stub's
/// version is read from its `.sdmagic` section (`#### LoaderInfo: systemd-stub VERSION ####`).
enum UnifiedKernelImage {
    /// The sections current systemd measures, in canonical order (its `unified_sections`, without `.pcrsig`).
    static let measuredSections = [".linux", ".osrel", ".cmdline", ".initrd", ".ucode", ".splash", ".dtb",
                                   ".uname", ".sbat", ".pcrpkey", ".profile", ".dtbauto", ".hwids", ".efifw"]
    /// The sections systemd 252 and earlier measure, in canonical order.
    static let systemd252Sections = [".linux", ".osrel", ".cmdline", ".initrd", ".splash", ".dtb", ".pcrpkey"]

    /// The sections the UKI's stub measures: systemd 252's when `.sdmagic` names systemd-stub 252 or
    /// earlier, else current systemd's.
    static func measuredSections(of image: PEImage) -> [String] {
        guard let magic = image.sections.first(where: { $0.name == ".sdmagic" }) else { return measuredSections }
        let text = String(decoding: loaded(magic, of: image).prefix { $0 != 0 }, as: UTF8.self)
        guard let marker = text.range(of: "systemd-stub "),
              let major = Int(text[marker.upperBound...].prefix { $0.isNumber }), major <= 252 else { return measuredSections }
        return systemd252Sections
    }

    /// The PCR 11 events for `image`, with `template`'s banks and every other field.
    static func events(for image: PEImage, template: TCGPCREvent2, register: UInt32) throws(PCRPredictionError) -> [TCGPCREvent2] {
        guard image.sections.contains(where: { $0.name == ".linux" }) else { throw .notAUKI }
        var events: [TCGPCREvent2] = []
        for name in measuredSections(of: image) {
            let sections = image.sections.filter { $0.name == name }
            guard let section = sections.first else { continue }
            guard sections.count == 1 else { throw .repeatedUKISection(name) }
            var event = template
            event.pcrIndex = register
            event.eventType = .ipl
            event.data = description(name)
            event.content = .text(name)
            event.digests = try template.digests(of: Array((name + "\0").utf8))
            events.append(event)
            event.digests = try template.digests(of: loaded(section, of: image))
            events.append(event)
        }
        return events
    }

    /// Whether `event` is one of systemd-stub's section measurements in `register`.
    static func isSectionMeasurement(_ event: TCGPCREvent2, register: UInt32) -> Bool {
        event.pcrIndex == register && event.eventType == .ipl && measuredSections.contains { description($0) == event.data }
    }

    /// The event data: the section name in UTF-16LE with its NUL.
    private static func description(_ name: String) -> [UInt8] {
        (name + "\0").utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
    }

    /// The section as the loader maps it: its raw data cut or zero-filled to `VirtualSize`
    /// (PE/COFF §4, section table).
    private static func loaded(_ section: PEImage.Section, of image: PEImage) -> [UInt8] {
        let start = Int(section.pointerToRawData)
        let raw = image.bytes[start..<start + Int(min(section.sizeOfRawData, section.virtualSize))]
        return Array(raw) + [UInt8](repeating: 0, count: Int(section.virtualSize) - raw.count)
    }
}
