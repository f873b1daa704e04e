import SEVSNP
import TPM2

/// Every way parsing, building or verifying Azure HCL evidence can fail. Each case names the
/// section, field or offset concerned, so that ``description`` is a sentence a user can act on.
public enum AzureCVMError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The report ends inside `section`, which needs `needed` bytes from `offset`.
    case truncated(section: String, offset: Int, needed: Int, available: Int)
    /// The header's signature is not "HCLA" (0x414C4348).
    case badSignature(UInt32)
    /// The header's version is not 1 or 2.
    case unsupportedHeaderVersion(UInt32)
    /// The header's request type is not one IGVM_ATTEST defines (1, 2 or 3).
    case unknownRequestType(UInt32)
    /// A reserved field holds a non-zero byte.
    case reservedFieldNotZero(field: String, offset: Int)
    /// The request data's version is not 1, the only version the vTPM report uses.
    case unsupportedRequestDataVersion(UInt32)
    /// The request data names a hardware report this library does not read (0 invalid, 1 VBS, 3 TVM).
    case unsupportedReportType(UInt32)
    /// The request data names a hash other than SHA-256, SHA-384 or SHA-512.
    case unsupportedHashType(UInt32)
    /// A size field disagrees with the sizes of the sections it covers.
    case sizeMismatch(field: String, value: UInt32, expected: Int)
    /// A byte after the report, in the zero padding of the NV index, is not zero.
    case paddingNotZero(offset: Int)
    /// The SEV-SNP report in the hardware report area did not parse.
    case snpReportMalformed(SNPError)
    /// The TDREPORT's REPORTTYPE.TYPE is not 0x81 (TDX).
    case notATDReport(type: UInt8)
    /// The runtime claims are not the JSON Azure defines.
    case runtimeClaimsMalformed(reason: String)
    /// REPORT_DATA does not start with the hash of the runtime claims.
    case reportDataMismatch(expected: [UInt8], actual: [UInt8])
    /// REPORT_DATA holds a non-zero byte after the hash of the runtime claims.
    case reportDataPaddingNotZero(offset: Int)
    /// The runtime claims carry no key with this `kid`.
    case missingKey(kid: String)
    /// A key in the runtime claims is not a usable RSA public key.
    case invalidKey(kid: String, reason: String)
    /// The hardware report is a TDX TDREPORT, which only a TDX quote (not yet supported) can vouch for.
    case tdxVerificationUnsupported
    /// The SEV-SNP report's signature or AMD certificate chain did not verify.
    case snpReportNotVerified(SNPError)
    /// The vTPM quote did not verify under the report's attestation key.
    case quoteNotVerified(TPMVerificationError)
    /// The builder was given values it cannot encode.
    case builderInvalid(reason: String)

    public var description: String {
        switch self {
        case let .truncated(section, offset, needed, available):
            return "The HCL report ends inside the \(section): it needs \(needed) bytes from offset \(offset), but only \(available) remain."
        case let .badSignature(value):
            return "The HCL report header's signature at offset 0 is 0x\(String(value, radix: 16)); it must be \"HCLA\" (0x414c4348)."
        case let .unsupportedHeaderVersion(version):
            return "The HCL report header has version \(version) at offset 4; only versions 1 and 2 are defined."
        case let .unknownRequestType(type):
            return "The HCL report header has request type \(type) at offset 12; IGVM_ATTEST defines 1 (KEY_RELEASE), 2 (AK_CERT) and 3 (WRAPPED_KEY)."
        case let .reservedFieldNotZero(field, offset):
            return "The reserved field \(field) holds a non-zero byte at offset \(offset); it must be zero."
        case let .unsupportedRequestDataVersion(version):
            return "The IGVM request data has version \(version) at offset 1220; only version 1 is defined for the vTPM report."
        case let .unsupportedReportType(type):
            let name = [0: "INVALID", 1: "VBS", 3: "TVM"][type].map { " (\($0))" } ?? ""
            return "The IGVM request data has report type \(type)\(name) at offset 1224; only 2 (SEV-SNP) and 4 (TDX) are supported."
        case let .unsupportedHashType(type):
            return "The IGVM request data has report data hash type \(type) at offset 1228; only 1 (SHA-256), 2 (SHA-384) and 3 (SHA-512) are defined."
        case let .sizeMismatch(field, value, expected):
            return "The field \(field) is \(value), but the sections it covers make \(expected)."
        case let .paddingNotZero(offset):
            return "The byte at offset \(offset), after the end of the report, is not zero padding."
        case let .snpReportMalformed(error):
            return "The SEV-SNP report at offset 32 is malformed: \(error)"
        case let .notATDReport(type):
            return "The TDREPORT at offset 32 has REPORTTYPE.TYPE 0x\(String(type, radix: 16)); a TDX report has 0x81."
        case let .runtimeClaimsMalformed(reason):
            return "The runtime claims at offset 1236 are malformed: \(reason)."
        case let .reportDataMismatch(expected, actual):
            return "The hardware report's REPORT_DATA starts with \(hex(actual)), not \(hex(expected)), the hash of the runtime claims: the claims are not the ones the hardware signed."
        case let .reportDataPaddingNotZero(offset):
            return "The hardware report's REPORT_DATA byte \(offset) is not zero; only the hash of the runtime claims may be set."
        case let .missingKey(kid):
            return "The runtime claims carry no key with kid \"\(kid)\"."
        case let .invalidKey(kid, reason):
            return "The key \"\(kid)\" in the runtime claims is not a usable RSA public key: \(reason)."
        case .tdxVerificationUnsupported:
            return "The hardware report is a TDX TDREPORT; verifying it needs the TD quote, which this library does not verify yet."
        case let .snpReportNotVerified(error):
            return "The SEV-SNP report did not verify: \(error)"
        case let .quoteNotVerified(error):
            return "The vTPM quote did not verify with the HCL report's attestation key: \(error)"
        case let .builderInvalid(reason):
            return "Cannot build the HCL report: \(reason)."
        }
    }
}

/// Lowercase hex for messages and listings.
func hex(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef")
    return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] })
}
