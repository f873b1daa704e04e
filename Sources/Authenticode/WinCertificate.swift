/// A WIN_CERTIFICATE entry of the attribute certificate table (PE/COFF §5.7).
public struct WinCertificate: Sendable, Equatable {
    /// WIN_CERT_REVISION_2_0.
    public static let revision2: UInt16 = 0x0200
    /// WIN_CERT_TYPE_PKCS_SIGNED_DATA: bCertificate is a PKCS#7 SignedData.
    public static let typePKCSSignedData: UInt16 = 0x0002

    /// File offset of the entry.
    public var offset: Int
    public var revision: UInt16
    public var certificateType: UInt16
    /// bCertificate: dwLength minus the 8-byte header.
    public var certificate: [UInt8]
}

extension PEImage {
    /// The WIN_CERTIFICATE entries of the attribute certificate table, each starting on an
    /// 8-byte boundary (PE/COFF §5.7). Only revision 2.0 PKCS_SIGNED_DATA entries are accepted, the
    /// only kind Authenticode and UEFI (UEFI 2.10 §32.2.4 WIN_CERTIFICATE_EFI_PKCS) use for PE images.
    public func winCertificates() throws(AuthenticodeError) -> [WinCertificate] {
        guard let table = certificateTable else { throw .notSigned }
        let reader = PEReader(bytes: bytes)
        let end = Int(table.address) + Int(table.size)
        var offset = Int(table.address)
        var entries: [WinCertificate] = []
        while offset < end {
            guard end - offset >= 8 else {
                throw .invalidCertificateTable(offset: offset, reason: "\(end - offset) bytes remain, less than a WIN_CERTIFICATE header")
            }
            let length = Int(try reader.u32(at: offset, "WIN_CERTIFICATE dwLength"))
            guard length > 8, length <= end - offset else {
                throw .invalidCertificateTable(offset: offset, reason: "dwLength \(length) is not between 9 and the \(end - offset) bytes left in the table")
            }
            let entry = WinCertificate(offset: offset,
                                       revision: try reader.u16(at: offset + 4, "WIN_CERTIFICATE wRevision"),
                                       certificateType: try reader.u16(at: offset + 6, "WIN_CERTIFICATE wCertificateType"),
                                       certificate: Array(bytes[offset + 8..<offset + length]))
            guard entry.revision == WinCertificate.revision2, entry.certificateType == WinCertificate.typePKCSSignedData else {
                throw .invalidCertificateTable(
                    offset: offset,
                    reason: "wRevision 0x\(String(entry.revision, radix: 16)) wCertificateType 0x\(String(entry.certificateType, radix: 16)) is not a revision 2.0 PKCS_SIGNED_DATA entry")
            }
            entries.append(entry)
            offset += (length + 7) & ~7
        }
        return entries
    }
}
