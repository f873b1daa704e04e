import Crypto

/// What a guest and its hypervisor choose for an emulated report; everything else — TCB, CHIP_ID,
/// CPUID, firmware version — comes from the ``EmulatedSNPChain``.
public struct EmulatedReportContents: Sendable {
    /// REPORT_DATA (64 bytes).
    public var reportData: [UInt8]
    /// MEASUREMENT (48 bytes).
    public var measurement: [UInt8]
    /// HOST_DATA (32 bytes).
    public var hostData: [UInt8]
    /// POLICY; bit 17 is reserved and must be one.
    public var policy: UInt64
    /// VMPL of the requester.
    public var vmpl: UInt32
    /// GUEST_SVN.
    public var guestSVN: UInt32

    /// Contents with the given fields; the defaults are a policy of ABI 0.0 with SMT allowed and
    /// VMPL 0.
    public init(
        reportData: [UInt8] = Array(repeating: 0, count: 64), measurement: [UInt8] = Array(repeating: 0, count: 48),
        hostData: [UInt8] = Array(repeating: 0, count: 32), policy: UInt64 = 0x30000, vmpl: UInt32 = 0, guestSVN: UInt32 = 0
    ) {
        self.reportData = reportData
        self.measurement = measurement
        self.hostData = hostData
        self.policy = policy
        self.vmpl = vmpl
        self.guestSVN = guestSVN
    }
}

extension EmulatedSNPChain {
    /// A version-3 ATTESTATION_REPORT (SEV-SNP Firmware ABI, pub. 56860, §7.3, Table 23) with
    /// `contents`, signed by the VCEK: ECDSA P-384 with SHA-384 over bytes 0x000–0x29F, R and S
    /// stored at 0x2A0 and 0x2E8 as 72-byte little-endian integers.
    public func signReport(_ contents: EmulatedReportContents) throws(SNPError) -> SNPReport {
        let sizes = [("REPORT_DATA", contents.reportData, 64), ("MEASUREMENT", contents.measurement, 48),
                     ("HOST_DATA", contents.hostData, 32)]
        for (field, value, size) in sizes where value.count != size {
            throw .emulationFailed(reason: "\(field) must be \(size) bytes, not \(value.count)")
        }
        let tcb = TCBVersion(self.tcb, product: self.product).rawValue
        let (family, model): (UInt8, UInt8) = switch self.product {
        case .milan: (0x19, 0x01)
        case .genoa: (0x19, 0x11)
        case .turin: (0x1A, 0x02)
        }
        var bytes = [UInt8](repeating: 0, count: SNPReport.size)
        let put = { (offset: Int, value: UInt64, width: Int) in
            for index in 0..<width { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
        }
        put(0x000, 3, 4)                               // VERSION
        put(0x004, UInt64(contents.guestSVN), 4)       // GUEST_SVN
        put(0x008, contents.policy, 8)                 // POLICY
        put(0x030, UInt64(contents.vmpl), 4)           // VMPL
        put(0x034, 1, 4)                               // SIGNATURE_ALGO: ECDSA P-384 with SHA-384
        put(0x038, tcb, 8)                             // CURRENT_TCB
        put(0x040, 1, 8)                               // PLATFORM_INFO: SMT enabled
        bytes.replaceSubrange(0x050..<0x090, with: contents.reportData)
        bytes.replaceSubrange(0x090..<0x0C0, with: contents.measurement)
        bytes.replaceSubrange(0x0C0..<0x0E0, with: contents.hostData)
        bytes.replaceSubrange(0x140..<0x160, with: (0..<32).map { _ in UInt8.random(in: 0...255) })  // REPORT_ID
        put(0x180, tcb, 8)                             // REPORTED_TCB
        bytes.replaceSubrange(0x188..<0x18B, with: [family, model, 1])  // CPUID_FAM_ID, CPUID_MOD_ID, CPUID_STEP
        bytes.replaceSubrange(0x1A0..<0x1E0, with: self.chipID)
        put(0x1E0, tcb, 8)                             // COMMITTED_TCB
        bytes.replaceSubrange(0x1E8..<0x1EB, with: [0, 55, 1])  // CURRENT_BUILD, _MINOR, _MAJOR: 1.55.0
        bytes.replaceSubrange(0x1EC..<0x1EF, with: [0, 55, 1])  // COMMITTED_BUILD, _MINOR, _MAJOR
        put(0x1F0, tcb, 8)                             // LAUNCH_TCB
        let signature: P384.Signing.ECDSASignature
        do {
            signature = try self.vcekKey.signature(for: SHA384.hash(data: bytes[0..<SNPReport.signedSize]))
        } catch {
            throw .emulationFailed(reason: String(describing: error))
        }
        let raw = Array(signature.rawRepresentation)
        bytes.replaceSubrange(0x2A0..<0x2D0, with: raw.prefix(48).reversed())
        bytes.replaceSubrange(0x2E8..<0x318, with: raw.suffix(48).reversed())
        return try SNPReport(bytes: bytes)
    }
}
