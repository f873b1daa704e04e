import AzureCVM
import DiskEncryptionTPM
import Foundation
import X509
import TPM2
import TPMClient
import VirtualTPM

/// A launched emulated confidential VM, as its guest sees it: a vTPM, the firmware's event log,
/// the HCL report in NV index 0x01400001, and the disk the initrd tried to unlock. An agent
/// collects evidence from these handles exactly as it would on an Azure confidential VM.
public final class EmulatedVM: Sendable {
    /// Where the AK is (Azure's handle).
    public static let attestationKeyHandle = EmulatedParavisor.attestationKeyHandle
    /// Where the EK is.
    public static let endorsementKeyHandle = EmulatedParavisor.endorsementKeyHandle

    /// The guest's vTPM, what `/dev/tpmrm0` is on a real VM.
    public let tpm: TPM2Client
    /// The firmware's TCG event log, what `/sys/kernel/security/tpm0/binary_bios_measurements` holds.
    public let eventLog: [UInt8]
    /// The LUKS2 disk image.
    public let diskPath: String
    /// What the initrd found when it tried to unlock the disk.
    public let diskUnlock: InitrdDiskUnlock
    /// The boot chain that ran (with the changed kernel, if the configuration asked for one).
    public let bootChain: EmulatedBootChain
    /// The SEV-SNP launch measurement of the VM's firmware, the reports' MEASUREMENT.
    public var launchMeasurement: [UInt8] { self.paravisor.measurement }
    /// The engine behind ``tpm``, kept for the VM's lifetime.
    let engine: TPMEngine
    let paravisor: EmulatedParavisor

    init(
        engine: TPMEngine, tpm: TPM2Client, paravisor: EmulatedParavisor, eventLog: [UInt8], diskPath: String,
        diskUnlock: InitrdDiskUnlock, bootChain: EmulatedBootChain
    ) {
        self.engine = engine
        self.tpm = tpm
        self.paravisor = paravisor
        self.eventLog = eventLog
        self.diskPath = diskPath
        self.diskUnlock = diskUnlock
        self.bootChain = bootChain
    }

    /// Reads NV index 0x01400001 with owner authorization, as guest tooling does.
    public func readHCLReport() throws(EmulatedPlatformError) -> [UInt8] {
        try EmulatedPlatform.step("reading NV index 0x01400001") { () throws(TPMClientError) in
            var bytes: [UInt8] = []
            while bytes.count < HCLReport.currentNVIndexSize {
                let size = min(1024, HCLReport.currentNVIndexSize - bytes.count)
                bytes += try self.tpm.nvRead(index: TPMHandle(HCLReport.nvIndex), size: UInt16(size), offset: UInt16(bytes.count), authHandle: .owner)
            }
            return bytes
        }
    }

    /// Writes `userData` (64 bytes) to NV index 0x01400002, after which the paravisor writes a new
    /// report carrying it as `user-data`, and reads that report: how a guest binds its own data
    /// (a nonce, a key's hash) to the hardware report on Azure.
    public func requestHCLReport(userData: [UInt8]) throws(EmulatedPlatformError) -> [UInt8] {
        guard userData.count == 64 else { throw .invalidConfiguration("the guest input is 64 bytes, not \(userData.count)") }
        try EmulatedPlatform.step("writing NV index 0x01400002") { () throws(TPMClientError) in
            try self.tpm.nvWrite(index: TPMHandle(HCLReport.guestInputNVIndex), data: userData, authHandle: .owner)
        }
        try self.paravisor.writeReport(self.tpm)
        return try self.readHCLReport()
    }

    /// What an attestation agent collects: the HCL report from NV, the event log, the SHA-256 values
    /// of `pcrs`, and a TPM2_Quote over them by the AK with `nonce` as qualifying data.
    public func collectEvidence(nonce: [UInt8], pcrs: [Int] = Array(0..<24)) throws(EmulatedPlatformError) -> EmulatedEvidence {
        let report = try self.readHCLReport()
        let values: [Int: [UInt8]]
        do { values = try self.tpm.sha256Values(of: pcrs) } catch { throw .disk(error) }
        let (quote, ak) = try EmulatedPlatform.step("quoting PCRs with the AK") { () throws(TPMClientError) in
            (try self.tpm.quote(key: Self.attestationKeyHandle, qualifyingData: nonce,
                                selection: TPMLPCRSelection([TPMSPCRSelection(hash: .sha256, indices: pcrs)])),
             try self.tpm.readPublic(Self.attestationKeyHandle).publicArea)
        }
        return EmulatedEvidence(
            hclReport: report, eventLog: self.eventLog, nonce: nonce, quote: quote, pcrValues: [.sha256: values],
            attestationKey: ak)
    }
}

/// The evidence an agent collects from an emulated VM (see ``EmulatedVM/collectEvidence(nonce:pcrs:)``).
public struct EmulatedEvidence: Sendable {
    /// NV index 0x01400001.
    public let hclReport: [UInt8]
    /// The TCG event log.
    public let eventLog: [UInt8]
    /// The verifier's nonce, the quote's qualifying data.
    public let nonce: [UInt8]
    /// TPMS_ATTEST and its RSASSA-SHA256 signature by the AK.
    public let quote: TPMQuoteResult
    /// The quoted PCR values.
    public let pcrValues: TPMPCRValues
    /// The AK's public area, as TPM2_ReadPublic gives it.
    public let attestationKey: TPMTPublic
}

extension EmulatedEvidence {
    /// The evidence as the files an agent would send (names as in the Azure cases of the shared
    /// test data): the report, the log, the quote (TPMS_ATTEST and TPMT_SIGNATURE), the PCR values
    /// as `{"sha256": {"0": "<hex>"}}`, the nonce in hex, and the AK as TPMT_PUBLIC and as PEM.
    public func files() throws(EmulatedPlatformError) -> [String: [UInt8]] {
        let pem: String
        let json: Data
        do {
            pem = try TPMVerifyingKey(self.attestationKey).certificatePublicKey.serializeAsPEM().pemString
            let banks = Dictionary(uniqueKeysWithValues: self.pcrValues.map { bank, values in
                (bank.description,
                 Dictionary(uniqueKeysWithValues: values.map { (String($0.key), hexString($0.value)) }))
            })
            json = try JSONSerialization.data(withJSONObject: banks, options: [.prettyPrinted, .sortedKeys])
        } catch {
            throw .io(path: "evidence", reason: "\(error)")
        }
        return [
            "hcl_report.bin": self.hclReport,
            "eventlog.bin": self.eventLog,
            "quote.tpms_attest.bin": self.quote.attest,
            "quote.tpmt_signature.bin": self.quote.signature.tpmBytes,
            "pcrs.json": Array(json) + [0x0A],
            "nonce.hex": Array((hexString(self.nonce) + "\n").utf8),
            "ak.tpmt_public.bin": self.attestationKey.tpmBytes,
            "ak_pub.pem": Array(pem.utf8) + [0x0A],
        ]
    }
}

/// Lowercase hex.
func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}
