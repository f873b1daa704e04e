import EvidenceCore

/// The Quoting Enclave's SGX report: the 384-byte enclave report body in which Intel's TD
/// Quoting Enclave vouches for the attestation key (Intel TDX DCAP Quoting Library API, Appendix
/// A.4 "Enclave Report Body"; the SGX REPORTBODY of the Intel SDM Vol. 3D §38.15, whose reserved
/// areas later SGX versions named ISVEXTPRODID, CONFIGID, CONFIGSVN and ISVFAMILYID).
///
/// The PCK certificate's key signs exactly these 384 bytes; offsets are from its start.
public struct QEReport: Sendable, Hashable {
    /// Size of the report body: 384 bytes.
    public static let size = 384

    /// CPUSVN (0x000, 16 bytes).
    public let cpuSVN: [UInt8]
    /// MISCSELECT (0x010).
    public let miscSelect: UInt32
    /// ISVEXTPRODID (0x020, 16 bytes).
    public let isvExtProdID: [UInt8]
    /// ATTRIBUTES (0x030, 16 bytes): flags then XFRM.
    public let attributes: [UInt8]
    /// MRENCLAVE (0x040, 32 bytes).
    public let mrEnclave: [UInt8]
    /// MRSIGNER (0x080, 32 bytes): SHA-256 of the enclave signer's modulus.
    public let mrSigner: [UInt8]
    /// CONFIGID (0x0C0, 64 bytes).
    public let configID: [UInt8]
    /// ISVPRODID (0x100).
    public let isvProdID: UInt16
    /// ISVSVN (0x102).
    public let isvSVN: UInt16
    /// CONFIGSVN (0x104).
    public let configSVN: UInt16
    /// ISVFAMILYID (0x130, 16 bytes).
    public let isvFamilyID: [UInt8]
    /// REPORTDATA (0x140, 64 bytes): SHA-256(attestation key ‖ QE authentication data), then zeros.
    public let reportData: [UInt8]

    init(_ reader: inout LittleEndianReader<TDXError>) throws(TDXError) {
        self.cpuSVN = try reader.bytes(16, field: "QE report CPUSVN")
        self.miscSelect = try reader.integer(UInt32.self, field: "QE report MISCSELECT")
        try reader.reserved(12, field: "QE report RESERVED1")
        self.isvExtProdID = try reader.bytes(16, field: "QE report ISVEXTPRODID")
        self.attributes = try reader.bytes(16, field: "QE report ATTRIBUTES")
        self.mrEnclave = try reader.bytes(32, field: "QE report MRENCLAVE")
        try reader.reserved(32, field: "QE report RESERVED2")
        self.mrSigner = try reader.bytes(32, field: "QE report MRSIGNER")
        try reader.reserved(32, field: "QE report RESERVED3")
        self.configID = try reader.bytes(64, field: "QE report CONFIGID")
        self.isvProdID = try reader.integer(UInt16.self, field: "QE report ISVPRODID")
        self.isvSVN = try reader.integer(UInt16.self, field: "QE report ISVSVN")
        self.configSVN = try reader.integer(UInt16.self, field: "QE report CONFIGSVN")
        try reader.reserved(42, field: "QE report RESERVED4")
        self.isvFamilyID = try reader.bytes(16, field: "QE report ISVFAMILYID")
        self.reportData = try reader.bytes(64, field: "QE report REPORTDATA")
    }

    func encode(to writer: inout LittleEndianWriter) {
        writer.bytes(self.cpuSVN)
        writer.integer(self.miscSelect)
        writer.zeros(12)
        writer.bytes(self.isvExtProdID + self.attributes + self.mrEnclave)
        writer.zeros(32)
        writer.bytes(self.mrSigner)
        writer.zeros(32)
        writer.bytes(self.configID)
        writer.integer(self.isvProdID)
        writer.integer(self.isvSVN)
        writer.integer(self.configSVN)
        writer.zeros(42)
        writer.bytes(self.isvFamilyID + self.reportData)
    }
}
