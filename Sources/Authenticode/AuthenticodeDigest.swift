import Crypto
import SwiftASN1

/// The digest algorithms an Authenticode signature may use for the image hash and for its
/// SignerInfo (Windows Authenticode Portable Executable Signature Format, "Authenticode-Specific
/// Structures": DigestInfo in SpcIndirectDataContent).
public enum AuthenticodeHashAlgorithm: String, Sendable, CaseIterable, CustomStringConvertible {
    case sha1, sha256, sha384, sha512

    public var description: String { rawValue }

    /// The algorithm's OID (RFC 3279 §2.2.1 for SHA-1, RFC 5754 §2 for SHA-2).
    var oid: ASN1ObjectIdentifier {
        switch self {
        case .sha1: [1, 3, 14, 3, 2, 26]
        case .sha256: [2, 16, 840, 1, 101, 3, 4, 2, 1]
        case .sha384: [2, 16, 840, 1, 101, 3, 4, 2, 2]
        case .sha512: [2, 16, 840, 1, 101, 3, 4, 2, 3]
        }
    }

    init?(oid: ASN1ObjectIdentifier) {
        guard let algorithm = Self.allCases.first(where: { $0.oid == oid }) else { return nil }
        self = algorithm
    }

    /// The hash of the concatenated `chunks`.
    func hash<Chunks: Sequence>(_ chunks: Chunks) -> [UInt8] where Chunks.Element == ArraySlice<UInt8> {
        switch self {
        case .sha1: Self.hash(chunks, Insecure.SHA1())
        case .sha256: Self.hash(chunks, SHA256())
        case .sha384: Self.hash(chunks, SHA384())
        case .sha512: Self.hash(chunks, SHA512())
        }
    }

    private static func hash<Chunks: Sequence, H: HashFunction>(_ chunks: Chunks, _ initial: H) -> [UInt8]
    where Chunks.Element == ArraySlice<UInt8> {
        var hasher = initial
        for chunk in chunks { hasher.update(data: chunk) }
        return Array(hasher.finalize())
    }
}

extension PEImage {
    /// The file ranges the Authenticode image hash covers, in hashing order (Authenticode PE
    /// document, "Calculating the PE Image Hash", steps 1–14):
    /// the headers up to SizeOfHeaders without the CheckSum field and the Certificate Table data
    /// directory entry; then each section with raw data, sorted by PointerToRawData; then any data
    /// after the last section up to the attribute certificate table (or the end of the file).
    public var hashedRanges: [Range<Int>] {
        var ranges: [Range<Int>] = [0..<checksumOffset]
        if let entry = certificateTableEntryOffset {
            ranges += [checksumOffset + 4..<entry, entry + 8..<sizeOfHeaders]
        } else {
            ranges.append(checksumOffset + 4..<sizeOfHeaders)
        }
        let sorted = sections.filter { $0.sizeOfRawData > 0 }.sorted { $0.pointerToRawData < $1.pointerToRawData }
        ranges += sorted.map { Int($0.pointerToRawData)..<Int($0.pointerToRawData) + Int($0.sizeOfRawData) }
        let trailingEnd = certificateTable.map { Int($0.address) } ?? bytes.count
        if trailingEnd > sectionDataEnd {
            ranges.append(sectionDataEnd..<trailingEnd)
        }
        return ranges
    }

    /// The Authenticode image digest (the value SpcIndirectDataContent signs, and the digest UEFI
    /// firmware measures into PCR 4 for EV_EFI_BOOT_SERVICES_APPLICATION with SHA-256).
    public func authenticodeDigest(_ algorithm: AuthenticodeHashAlgorithm = .sha256) -> [UInt8] {
        algorithm.hash(hashedRanges.lazy.map { bytes[$0] })
    }
}
