import EvidenceCore

/// The 48-byte header that starts every TDX quote (Intel TDX DCAP Quoting Library API, Appendix
/// A.3 "Quote Format", Table "Quote Header"; `sgx_quote4_header_t`, shared unchanged by quote v5).
public struct TDXQuoteHeader: Sendable, Hashable {
    /// Size of the header: 48 bytes.
    public static let size = 48
    /// QE Vendor ID of Intel's Quoting Enclave (same table).
    public static let intelQEVendorID: [UInt8] = [
        0x93, 0x9A, 0x72, 0x33, 0xF7, 0x9C, 0x4C, 0xA9, 0x94, 0x0A, 0x0D, 0xB3, 0x95, 0x7F, 0x06, 0x07,
    ]
    /// Attestation key type 2: ECDSA-256-with-P-256 curve.
    public static let ecdsaP256 = UInt16(2)
    /// TEE type 0x00000081: TDX.
    public static let teeTypeTDX = UInt32(0x81)

    /// Version (0x00): 4 or 5.
    public let version: UInt16
    /// Attestation Key Type (0x02): always 2, ECDSA-256-with-P-256.
    public let attestationKeyType: UInt16
    /// TEE Type (0x04): always 0x81, TDX.
    public let teeType: UInt32
    /// QE Vendor ID (0x0C, 16 bytes): Intel's QE.
    public let qeVendorID: [UInt8]
    /// User Data (0x1C, 20 bytes): custom attestation key owner data; Intel's QE puts the
    /// platform's QE identifier in the first 16 bytes.
    public let userData: [UInt8]

    init(_ reader: inout LittleEndianReader<TDXError>) throws(TDXError) {
        self.version = try reader.integer(UInt16.self, field: "header VERSION")
        guard self.version == 4 || self.version == 5 else { throw .unsupportedVersion(self.version) }
        self.attestationKeyType = try reader.integer(UInt16.self, field: "header ATTESTATION_KEY_TYPE")
        guard self.attestationKeyType == Self.ecdsaP256 else { throw .unsupportedAttestationKeyType(self.attestationKeyType) }
        self.teeType = try reader.integer(UInt32.self, field: "header TEE_TYPE")
        guard self.teeType == Self.teeTypeTDX else { throw .unsupportedTEEType(self.teeType) }
        // Bytes 8–11 held QE_SVN and PCE_SVN in quote v3; v4 reserves them.
        try reader.reserved(4, field: "header RESERVED")
        self.qeVendorID = try reader.bytes(16, field: "header QE_VENDOR_ID")
        guard self.qeVendorID == Self.intelQEVendorID else { throw .unknownQEVendor(self.qeVendorID) }
        self.userData = try reader.bytes(20, field: "header USER_DATA")
    }

    func encode(to writer: inout LittleEndianWriter) {
        writer.integer(self.version)
        writer.integer(self.attestationKeyType)
        writer.integer(self.teeType)
        writer.zeros(4)
        writer.bytes(self.qeVendorID)
        writer.bytes(self.userData)
    }
}
