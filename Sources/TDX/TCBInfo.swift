import EvidenceCore
import Foundation

/// Intel's TDX TCB Info, version 3 with id "TDX": for one FMSPC, the TCB levels of the platform
/// (SGX TCB components and PCESVN from the PCK certificate, TDX TCB components from the TD
/// report's TEE_TCB_SVN) and of the TDX module, each with a status and the advisories that apply
/// (Intel SGX and TDX PCS API v4, "Get TDX TCB Info", TCB Info V3 data structure).
///
/// Parsing checks the structure and keeps the signed bytes; ``TDXVerifier`` checks the signature
/// with the TCB signing chain and the dates against the verification time.
public struct TCBInfo: Sendable, Hashable {
    /// How errors name this document.
    static let document = "TCB Info"

    /// "TDX".
    public let id: String
    /// 3.
    public let version: Int
    /// When Intel issued this TCB Info.
    public let issueDate: Date
    /// When the next TCB Info is due; it must not be relied on after that.
    public let nextUpdate: Date
    /// The FMSPC it describes (6 bytes).
    public let fmspc: [UInt8]
    /// The PCE ID it describes (2 bytes).
    public let pceID: [UInt8]
    /// 0, the only TCB type defined.
    public let tcbType: Int
    /// The TCB evaluation data number, which grows with each TCB recovery.
    public let tcbEvaluationDataNumber: Int
    /// The TDX module identity for TD reports whose TDX module major version (TEE_TCB_SVN[1]) is 0.
    public let tdxModule: TDXModuleIdentity
    /// The TDX module identities ("TDX_01", "TDX_03", …) for later module versions.
    public let tdxModuleIdentities: [TDXModuleIdentity]
    /// The platform TCB levels, highest first in the order Intel's QVL sorts them.
    public let tcbLevels: [TCBLevel]
    /// The body and signature as served.
    let signed: SignedCollateral

    /// One platform TCB level (TCB Info V3 "tcbLevels").
    public struct TCBLevel: Sendable, Hashable {
        /// `tcb.sgxtcbcomponents[0…15].svn`.
        public let sgxComponents: [UInt8]
        /// `tcb.pcesvn`.
        public let pceSVN: UInt16
        /// `tcb.tdxtcbcomponents[0…15].svn`.
        public let tdxComponents: [UInt8]
        /// `tcbDate`.
        public let tcbDate: Date
        /// `tcbStatus`.
        public let status: TCBStatus
        /// `advisoryIDs`, e.g. "INTEL-SA-00837".
        public let advisoryIDs: [String]

        /// QVL's order of TCB levels (TcbLevel::operator>): SGX components, compared
        /// lexicographically, then PCESVN, then TDX components.
        static func isHigher(_ lhs: TCBLevel, _ rhs: TCBLevel) -> Bool {
            if lhs.sgxComponents != rhs.sgxComponents { return rhs.sgxComponents.lexicographicallyPrecedes(lhs.sgxComponents) }
            if lhs.pceSVN != rhs.pceSVN { return lhs.pceSVN > rhs.pceSVN }
            return rhs.tdxComponents.lexicographicallyPrecedes(lhs.tdxComponents)
        }
    }

    /// The identity of a TDX module and its TCB levels (TCB Info V3 "tdxModule" and
    /// "tdxModuleIdentities"; "tdxModule" has no levels).
    public struct TDXModuleIdentity: Sendable, Hashable {
        /// "TDX_<major version in two hex digits>", e.g. "TDX_03"; empty for "tdxModule".
        public let id: String
        /// MRSIGNERSEAM the module must have (48 bytes).
        public let mrSigner: [UInt8]
        /// SEAMATTRIBUTES the module must have after masking (8 bytes, as in the TD report).
        public let attributes: [UInt8]
        /// The mask applied to SEAMATTRIBUTES (8 bytes).
        public let attributesMask: [UInt8]
        /// Levels by the module's ISVSVN (TEE_TCB_SVN[0]), highest first.
        public let tcbLevels: [ModuleTCBLevel]
    }

    /// One TDX module TCB level.
    public struct ModuleTCBLevel: Sendable, Hashable {
        /// `tcb.isvsvn`.
        public let isvSVN: UInt16
        /// `tcbDate`.
        public let tcbDate: Date
        /// `tcbStatus`: UpToDate, OutOfDate or Revoked.
        public let status: TCBStatus
        /// `advisoryIDs`.
        public let advisoryIDs: [String]
    }

    /// Parses a TCB Info document: `{"tcbInfo": {…}, "signature": "…"}`.
    public init(json: some Collection<UInt8>) throws(TDXError) {
        let signed = try SignedCollateral(json: Array(json), bodyKey: "tcbInfo", document: Self.document)
        let wire = try signed.decode(Wire.self)
        let field = CollateralField(document: Self.document)
        guard wire.version == 3 else { throw field.failure("version", "is \(wire.version); only TCB Info v3 describes TDX") }
        guard wire.id == "TDX" else { throw field.failure("id", "is \"\(wire.id)\", not \"TDX\"") }
        guard wire.tcbType == 0 else { throw field.failure("tcbType", "is \(wire.tcbType); only 0 is defined") }
        self.signed = signed
        self.id = wire.id
        self.version = wire.version
        self.issueDate = try field.date(wire.issueDate, "issueDate")
        self.nextUpdate = try field.date(wire.nextUpdate, "nextUpdate")
        self.fmspc = try field.hex(wire.fmspc, "fmspc", count: 6)
        self.pceID = try field.hex(wire.pceId, "pceId", count: 2)
        self.tcbType = wire.tcbType
        self.tcbEvaluationDataNumber = wire.tcbEvaluationDataNumber
        self.tdxModule = try wire.tdxModule.identity(field, path: "tdxModule")
        var identities: [TDXModuleIdentity] = []
        for (index, identity) in (wire.tdxModuleIdentities ?? []).enumerated() {
            identities.append(try identity.identity(field, path: "tdxModuleIdentities[\(index)]"))
        }
        self.tdxModuleIdentities = identities
        var levels: [TCBLevel] = []
        for (index, level) in wire.tcbLevels.enumerated() {
            levels.append(try level.level(field, path: "tcbLevels[\(index)]"))
        }
        guard !levels.isEmpty else { throw field.failure("tcbLevels", "is empty") }
        // QVL keeps the levels in a set ordered by SGX components, then PCESVN, then TDX
        // components, highest first, and refuses duplicates.
        levels.sort(by: TCBLevel.isHigher)
        for (higher, lower) in zip(levels, levels.dropFirst())
        where (higher.sgxComponents, higher.pceSVN, higher.tdxComponents) == (lower.sgxComponents, lower.pceSVN, lower.tdxComponents) {
            throw field.failure("tcbLevels", "holds two levels with the same TCB")
        }
        self.tcbLevels = levels
    }

    /// The JSON shape, decoded before its values are checked.
    private struct Wire: Decodable {
        let id: String
        let version: Int
        let issueDate: String
        let nextUpdate: String
        let fmspc: String
        let pceId: String
        let tcbType: Int
        let tcbEvaluationDataNumber: Int
        let tdxModule: ModuleWire
        let tdxModuleIdentities: [ModuleWire]?
        let tcbLevels: [LevelWire]
    }

    private struct ModuleWire: Decodable {
        let id: String?
        let mrsigner: String
        let attributes: String
        let attributesMask: String
        let tcbLevels: [ModuleLevelWire]?

        func identity(_ field: CollateralField, path: String) throws(TDXError) -> TDXModuleIdentity {
            var levels: [ModuleTCBLevel] = []
            for (index, level) in (self.tcbLevels ?? []).enumerated() {
                let at = "\(path).tcbLevels[\(index)]"
                let status = try field.status(level.tcbStatus, "\(at).tcbStatus", allowed: [.upToDate, .outOfDate, .revoked])
                levels.append(ModuleTCBLevel(
                    isvSVN: level.tcb.isvsvn, tcbDate: try field.date(level.tcbDate, "\(at).tcbDate"), status: status,
                    advisoryIDs: level.advisoryIDs ?? []))
            }
            let isIdentity = path != "tdxModule"
            guard !isIdentity || self.id != nil else { throw field.failure("\(path).id", "is missing") }
            guard !isIdentity || !levels.isEmpty else { throw field.failure("\(path).tcbLevels", "is missing or empty") }
            levels.sort { $0.isvSVN > $1.isvSVN }
            return TDXModuleIdentity(
                id: self.id ?? "", mrSigner: try field.hex(self.mrsigner, "\(path).mrsigner", count: 48),
                attributes: try field.hex(self.attributes, "\(path).attributes", count: 8),
                attributesMask: try field.hex(self.attributesMask, "\(path).attributesMask", count: 8), tcbLevels: levels)
        }
    }

    private struct ModuleLevelWire: Decodable {
        struct TCB: Decodable { let isvsvn: UInt16 }
        let tcb: TCB
        let tcbDate: String
        let tcbStatus: String
        let advisoryIDs: [String]?
    }

    private struct LevelWire: Decodable {
        struct Component: Decodable { let svn: UInt8 }
        struct TCB: Decodable {
            let sgxtcbcomponents: [Component]
            let pcesvn: UInt16
            let tdxtcbcomponents: [Component]
        }
        let tcb: TCB
        let tcbDate: String
        let tcbStatus: String
        let advisoryIDs: [String]?

        func level(_ field: CollateralField, path: String) throws(TDXError) -> TCBLevel {
            guard self.tcb.sgxtcbcomponents.count == 16 else { throw field.failure("\(path).tcb.sgxtcbcomponents", "does not have 16 entries") }
            guard self.tcb.tdxtcbcomponents.count == 16 else { throw field.failure("\(path).tcb.tdxtcbcomponents", "does not have 16 entries") }
            return TCBLevel(
                sgxComponents: self.tcb.sgxtcbcomponents.map(\.svn), pceSVN: self.tcb.pcesvn,
                tdxComponents: self.tcb.tdxtcbcomponents.map(\.svn), tcbDate: try field.date(self.tcbDate, "\(path).tcbDate"),
                status: try field.status(self.tcbStatus, "\(path).tcbStatus", allowed: TCBStatus.allCases),
                advisoryIDs: self.advisoryIDs ?? [])
        }
    }
}

/// Value checks shared by the collateral documents, with errors naming the document and field.
struct CollateralField {
    let document: String

    func failure(_ field: String, _ reason: String) -> TDXError {
        .collateralMalformed(document: self.document, reason: "\(field) \(reason)")
    }

    /// An ISO 8601 UTC time such as "2024-03-13T00:00:00Z", with or without fractional seconds.
    func date(_ text: String, _ field: String) throws(TDXError) -> Date {
        let plain = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = plain.date(from: text) ?? fractional.date(from: text) else {
            throw self.failure(field, "\"\(text)\" is not an ISO 8601 time")
        }
        return date
    }

    func hex(_ text: String, _ field: String, count: Int) throws(TDXError) -> [UInt8] {
        guard let value = decodeHex(text), value.count == count else { throw self.failure(field, "is not \(count) bytes of hex") }
        return value
    }

    func status(_ text: String, _ field: String, allowed: [TCBStatus]) throws(TDXError) -> TCBStatus {
        guard let status = TCBStatus(rawValue: text), allowed.contains(status) else {
            throw self.failure(field, "\"\(text)\" is not one of \(allowed.map(\.rawValue).joined(separator: ", "))")
        }
        return status
    }
}
