import EvidenceCore

/// A certification data block: a 2-byte type, a 4-byte size and that many bytes (Intel TDX DCAP
/// Quoting Library API, Appendix A.3.5 "Certification Data").
public struct CertificationData: Sendable, Hashable {
    /// The certification data types the specification defines (same appendix, table "Certification
    /// Data Type").
    public enum DataType: UInt16, Sendable, Hashable, CustomStringConvertible {
        /// 1: plain PCK identifier (PPID, CPUSVN, PCESVN, PCEID).
        case plainPPID = 1
        /// 2: PPID encrypted with RSA-2048-OAEP.
        case encryptedPPID2048 = 2
        /// 3: PPID encrypted with RSA-3072-OAEP.
        case encryptedPPID3072 = 3
        /// 4: the PCK leaf certificate.
        case pckCertificate = 4
        /// 5: the PCK certificate chain, PEM: PCK certificate, PCK Platform/Processor CA, Root CA.
        case pckCertificateChain = 5
        /// 6: QE report certification data (``QEReportCertificationData``).
        case qeReportCertificationData = 6

        public var description: String {
            switch self {
            case .plainPPID: "plain PPID"
            case .encryptedPPID2048: "RSA-2048 encrypted PPID"
            case .encryptedPPID3072: "RSA-3072 encrypted PPID"
            case .pckCertificate: "PCK certificate"
            case .pckCertificateChain: "PCK certificate chain"
            case .qeReportCertificationData: "QE report certification data"
            }
        }
    }

    /// Certification Data Type.
    public let type: DataType
    /// Certification Data, exactly as the size field announced.
    public let data: [UInt8]

    /// Reads a block that must end exactly where `reader` ends, of one of the `allowed` types.
    static func read(_ reader: inout LittleEndianReader<TDXError>, allowed: [DataType], name: String) throws(TDXError) -> (DataType, ArraySlice<UInt8>) {
        let typeOffset = reader.offset
        let rawType = try reader.integer(UInt16.self, field: "\(name) type")
        guard let type = DataType(rawValue: rawType), allowed.contains(type) else {
            throw .unexpectedCertificationDataType(rawType, offset: typeOffset, expected: allowed.last?.rawValue ?? 0)
        }
        let sizeOffset = reader.offset
        let data = try reader.sized(UInt32.self, field: name)
        guard reader.remaining == 0 else {
            throw .sizeMismatch(field: "\(name) size", offset: sizeOffset, declared: data.count, expected: data.count + reader.remaining)
        }
        return (type, data)
    }

    init(type: DataType, data: ArraySlice<UInt8>) {
        self.type = type
        self.data = Array(data)
    }

    func encode(to writer: inout LittleEndianWriter) {
        writer.integer(self.type.rawValue)
        writer.integer(UInt32(self.data.count))
        writer.bytes(self.data)
    }
}

/// Certification data type 6: the QE report that binds the attestation key, its signature by the
/// PCK key, the QE authentication data and the nested certification data that identifies the PCK
/// (Intel TDX DCAP Quoting Library API, Appendix A.3.6 "QE Report Certification Data";
/// `sgx_qe_report_certification_data_t`).
public struct QEReportCertificationData: Sendable, Hashable {
    /// QE Report (384 bytes).
    public let qeReport: QEReport
    /// QE Report Signature (64 bytes): ECDSA P-256 r ‖ s, big-endian, by the PCK key over the QE report.
    public let qeReportSignature: [UInt8]
    /// QE Authentication Data: the bytes hashed with the attestation key into the QE report.
    public let qeAuthenticationData: [UInt8]
    /// The nested certification data, types 1–5; verification needs type 5, the PCK chain.
    public let certificationData: CertificationData
    /// The exact 384 bytes of the QE report, as the PCK key signed them.
    let qeReportBytes: [UInt8]

    init(_ reader: inout LittleEndianReader<TDXError>) throws(TDXError) {
        let reportBytes = try reader.slice(QEReport.size, field: "QE report")
        var reportReader = LittleEndianReader<TDXError>(reportBytes)
        self.qeReport = try QEReport(&reportReader)
        self.qeReportBytes = Array(reportBytes)
        self.qeReportSignature = try reader.bytes(64, field: "QE report signature")
        self.qeAuthenticationData = Array(try reader.sized(UInt16.self, field: "QE authentication data"))
        let (type, data) = try CertificationData.read(
            &reader, allowed: [.plainPPID, .encryptedPPID2048, .encryptedPPID3072, .pckCertificate, .pckCertificateChain],
            name: "QE certification data")
        self.certificationData = CertificationData(type: type, data: data)
    }

    func encode(to writer: inout LittleEndianWriter) {
        writer.bytes(self.qeReportBytes + self.qeReportSignature)
        writer.integer(UInt16(self.qeAuthenticationData.count))
        writer.bytes(self.qeAuthenticationData)
        self.certificationData.encode(to: &writer)
    }
}

/// The quote signature data of a v4 or v5 quote (Intel TDX DCAP Quoting Library API, Appendix
/// A.3.4 "ECDSA 256-bit Quote Signature Data Structure - Version 4"; `sgx_ecdsa_sig_data_v4_t`):
/// the quote signature, the attestation key, and certification data of type 6.
public struct TDXQuoteSignatureData: Sendable, Hashable {
    /// Quote Signature (64 bytes): ECDSA P-256 r ‖ s, big-endian, by the attestation key over the
    /// header and body.
    public let quoteSignature: [UInt8]
    /// ECDSA Attestation Key (64 bytes): the P-256 public point x ‖ y, big-endian.
    public let attestationKey: [UInt8]
    /// Certification Data of type 6.
    public let qeReportCertificationData: QEReportCertificationData

    init(_ reader: inout LittleEndianReader<TDXError>) throws(TDXError) {
        self.quoteSignature = try reader.bytes(64, field: "quote signature")
        self.attestationKey = try reader.bytes(64, field: "ECDSA attestation key")
        let (_, data) = try CertificationData.read(&reader, allowed: [.qeReportCertificationData], name: "certification data")
        var inner = LittleEndianReader<TDXError>(data)
        self.qeReportCertificationData = try QEReportCertificationData(&inner)
    }

    func encode(to writer: inout LittleEndianWriter) {
        writer.bytes(self.quoteSignature + self.attestationKey)
        var inner = LittleEndianWriter()
        self.qeReportCertificationData.encode(to: &inner)
        CertificationData(type: .qeReportCertificationData, data: inner.bytes[...]).encode(to: &writer)
    }
}
