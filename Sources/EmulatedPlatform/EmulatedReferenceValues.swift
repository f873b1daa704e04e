import Foundation
import SEVSNP

/// The reference values an owner derives for an emulated VM from the artifacts alone, never read
/// off a running VM: the SEV-SNP launch measurement of the firmware image on the VM's vCPUs, the
/// SHA-256 PCRs of the owner's boot (secure boot on, the owner's kernel) replayed from the event
/// log the firmware writes for it, and the TCB the emulated chip certifies as the minimum. The
/// document is the reference values JSON of docs/policy.md ("Reference values").
public struct EmulatedReferenceValues: Sendable, Equatable {
    /// The accepted SEV-SNP MEASUREMENT (48 bytes).
    public let snpMeasurement: [UInt8]
    /// The accepted SHA-256 value of each PCR.
    public let pcrs: [Int: [UInt8]]
    /// The lowest REPORTED_TCB accepted.
    public let minimumTCB: TCBComponents

    /// The JSON document (`snpMeasurements`, `pcrs.sha256`, `minimumTCB`), members sorted, bytes
    /// in lowercase hex.
    public func json() throws(EmulatedPlatformError) -> [UInt8] {
        let document: [String: Any] = [
            "snpMeasurements": [hexString(self.snpMeasurement)],
            "pcrs": ["sha256": Dictionary(uniqueKeysWithValues: self.pcrs.map { ("\($0.key)", [hexString($0.value)]) })],
            "minimumTCB": Dictionary(uniqueKeysWithValues: self.minimumTCB.named.compactMap { name, value in value.map { (name, Int($0)) } }),
        ]
        do {
            return Array(try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])) + [0x0A]
        } catch {
            throw .io(path: "reference values", reason: "\(error)")
        }
    }
}

extension EmulatedPlatform {
    /// The reference values for VMs launched with `configuration` on this host: its firmware's
    /// launch measurement for the configuration's vCPUs, the PCRs `pcrs` (by default those the
    /// boot chain determines: the boot applications 4, the secure boot policy 7, GRUB's commands 8
    /// and the files GRUB read 9) of the configuration's boot chain booted as the owner boots it,
    /// and this host's chip's TCB.
    public func referenceValues(
        for configuration: EmulatedVMConfiguration, pcrs: [Int] = [4, 7, 8, 9]
    ) throws(EmulatedPlatformError) -> EmulatedReferenceValues {
        let measurement = try self.firmware.launchMeasurement(vcpus: configuration.vcpus, vcpuType: configuration.vcpuType)
        let replay = try self.firmware.bootLog(configuration.bootChain, secureBoot: true).replay()
        let sha256 = replay.values.banks[.sha256] ?? [:]
        var values: [Int: [UInt8]] = [:]
        for index in pcrs {
            guard (0..<24).contains(index), let value = sha256[UInt32(index)] else {
                throw .invalidConfiguration("PCR \(index) is not a PCR the boot measures")
            }
            values[index] = value
        }
        return EmulatedReferenceValues(snpMeasurement: measurement, pcrs: values, minimumTCB: self.secureProcessor.tcb)
    }
}
