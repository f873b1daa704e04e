import EvidenceCore
import Foundation

/// The TD report body of a quote: what the TDX module reports about the trust domain (Intel TDX
/// DCAP Quoting Library API, Appendix A.3.2 "TD Quote Body"; `sgx_report2_body_t` for TDX 1.0,
/// 584 bytes, and `sgx_report2_body_v1_5_t` for TDX 1.5, 648 bytes, which appends TEE_TCB_SVN2
/// and MRSERVICETD).
///
/// The offsets in the comments are from the start of the body.
public struct TDReportBody: Sendable, Hashable {
    /// Which of the two layouts the body has.
    public enum Kind: UInt16, Sendable, Hashable, CustomStringConvertible {
        /// TD report for TDX 1.0 (quote v5 body type 2; the only body of a v4 quote).
        case td10 = 2
        /// TD report for TDX 1.5 (quote v5 body type 3).
        case td15 = 3

        /// The body's size in bytes.
        public var size: Int { self == .td10 ? 584 : 648 }

        public var description: String { self == .td10 ? "TD report 1.0" : "TD report 1.5" }
    }

    /// The layout.
    public let kind: Kind
    /// TEE_TCB_SVN (0x000, 16 bytes): byte 0 is the TDX module's minor SVN, byte 1 its major
    /// version, the rest the other TDX TCB components the TCB Info's `tdxtcbcomponents` list.
    public let teeTCBSVN: [UInt8]
    /// MRSEAM (0x010, 48 bytes): measurement of the TDX module.
    public let mrSEAM: [UInt8]
    /// MRSIGNERSEAM (0x040, 48 bytes): the TDX module's signer; zero for Intel's module.
    public let mrSignerSEAM: [UInt8]
    /// SEAMATTRIBUTES (0x070): must be zero for TDX 1.0.
    public let seamAttributes: UInt64
    /// TDATTRIBUTES (0x078).
    public let tdAttributes: TDAttributes
    /// XFAM (0x080): the extended features the TD may use.
    public let xfam: UInt64
    /// MRTD (0x088, 48 bytes): measurement of the TD's initial contents.
    public let mrTD: [UInt8]
    /// MRCONFIGID (0x0B8, 48 bytes): software-defined ID of non-owner configuration.
    public let mrConfigID: [UInt8]
    /// MROWNER (0x0E8, 48 bytes): software-defined ID of the TD's owner.
    public let mrOwner: [UInt8]
    /// MROWNERCONFIG (0x118, 48 bytes): software-defined ID of owner configuration.
    public let mrOwnerConfig: [UInt8]
    /// RTMR[0…3] (0x148, 4 × 48 bytes): runtime-extendable measurement registers.
    public let rtmrs: [[UInt8]]
    /// REPORTDATA (0x208, 64 bytes): chosen by the TD, typically a nonce or key hash.
    public let reportData: [UInt8]
    /// TEE_TCB_SVN2 (0x248, 16 bytes, TDX 1.5 only): the TCB SVNs for TD preserving updates.
    public let teeTCBSVN2: [UInt8]?
    /// MRSERVICETD (0x258, 48 bytes, TDX 1.5 only): hash of bound service TDs, or zero.
    public let mrServiceTD: [UInt8]?

    init(_ reader: inout LittleEndianReader<TDXError>, kind: Kind) throws(TDXError) {
        self.kind = kind
        self.teeTCBSVN = try reader.bytes(16, field: "TD report TEE_TCB_SVN")
        self.mrSEAM = try reader.bytes(48, field: "TD report MRSEAM")
        self.mrSignerSEAM = try reader.bytes(48, field: "TD report MRSIGNERSEAM")
        self.seamAttributes = try reader.integer(UInt64.self, field: "TD report SEAMATTRIBUTES")
        self.tdAttributes = TDAttributes(rawValue: try reader.integer(UInt64.self, field: "TD report TDATTRIBUTES"))
        self.xfam = try reader.integer(UInt64.self, field: "TD report XFAM")
        self.mrTD = try reader.bytes(48, field: "TD report MRTD")
        self.mrConfigID = try reader.bytes(48, field: "TD report MRCONFIGID")
        self.mrOwner = try reader.bytes(48, field: "TD report MROWNER")
        self.mrOwnerConfig = try reader.bytes(48, field: "TD report MROWNERCONFIG")
        var rtmrs: [[UInt8]] = []
        for index in 0..<4 {
            rtmrs.append(try reader.bytes(48, field: "TD report RTMR\(index)"))
        }
        self.rtmrs = rtmrs
        self.reportData = try reader.bytes(64, field: "TD report REPORTDATA")
        if kind == .td15 {
            self.teeTCBSVN2 = try reader.bytes(16, field: "TD report TEE_TCB_SVN2")
            self.mrServiceTD = try reader.bytes(48, field: "TD report MRSERVICETD")
        } else {
            self.teeTCBSVN2 = nil
            self.mrServiceTD = nil
        }
    }

    func encode(to writer: inout LittleEndianWriter) {
        writer.bytes(self.teeTCBSVN + self.mrSEAM + self.mrSignerSEAM)
        writer.integer(self.seamAttributes)
        writer.integer(self.tdAttributes.rawValue)
        writer.integer(self.xfam)
        writer.bytes(self.mrTD + self.mrConfigID + self.mrOwner + self.mrOwnerConfig)
        writer.bytes(self.rtmrs.joined())
        writer.bytes(self.reportData)
        writer.bytes((self.teeTCBSVN2 ?? []) + (self.mrServiceTD ?? []))
    }
}

/// TDATTRIBUTES (Intel TDX Module ABI specification, "TD_PARAMS", ATTRIBUTES): the TD's
/// debug and feature bits as the TDX module reports them.
public struct TDAttributes: Sendable, Hashable, CustomStringConvertible {
    /// The 64-bit value.
    public let rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// Bit 0, DEBUG: the host can read and write the TD's private memory and state.
    public var debug: Bool { self.rawValue & 1 != 0 }
    /// Bit 28, SEPT_VE_DISABLE: EPT violations are not converted to #VE.
    public var septVEDisable: Bool { self.rawValue & (1 << 28) != 0 }

    public var description: String { hex64(self.rawValue) }
}
