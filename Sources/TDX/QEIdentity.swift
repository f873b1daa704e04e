import Foundation

/// Intel's identity of the TD Quoting Enclave, Enclave Identity version 2 with id "TD_QE": the
/// MRSIGNER, ISVPRODID, MISCSELECT and ATTRIBUTES (under masks) a genuine TD QE reports, and its
/// TCB levels by ISVSVN (Intel SGX and TDX PCS API v4, "Get TDX QE Identity", Enclave Identity V2
/// data structure).
public struct QEIdentity: Sendable, Hashable {
    /// How errors name this document.
    static let document = "QE Identity"

    /// "TD_QE".
    public let id: String
    /// 2.
    public let version: Int
    /// When Intel issued it.
    public let issueDate: Date
    /// When the next one is due.
    public let nextUpdate: Date
    /// The TCB evaluation data number.
    public let tcbEvaluationDataNumber: Int
    /// MISCSELECT after masking (4 bytes, as in the report).
    public let miscSelect: [UInt8]
    /// The mask applied to MISCSELECT.
    public let miscSelectMask: [UInt8]
    /// ATTRIBUTES after masking (16 bytes).
    public let attributes: [UInt8]
    /// The mask applied to ATTRIBUTES.
    public let attributesMask: [UInt8]
    /// The MRSIGNER the QE must have (32 bytes).
    public let mrSigner: [UInt8]
    /// The ISVPRODID the QE must have.
    public let isvProdID: UInt16
    /// Levels by the QE's ISVSVN, highest first.
    public let tcbLevels: [TCBLevel]
    /// The body and signature as served.
    let signed: SignedCollateral

    /// One QE TCB level.
    public struct TCBLevel: Sendable, Hashable {
        /// `tcb.isvsvn`.
        public let isvSVN: UInt16
        /// `tcbDate`.
        public let tcbDate: Date
        /// `tcbStatus`.
        public let status: TCBStatus
        /// `advisoryIDs`.
        public let advisoryIDs: [String]
    }

    /// Parses a QE Identity document: `{"enclaveIdentity": {…}, "signature": "…"}`.
    public init(json: some Collection<UInt8>) throws(TDXError) {
        let signed = try SignedCollateral(json: Array(json), bodyKey: "enclaveIdentity", document: Self.document)
        let wire = try signed.decode(Wire.self)
        let field = CollateralField(document: Self.document)
        guard wire.version == 2 else { throw field.failure("version", "is \(wire.version); only Enclave Identity v2 is supported") }
        guard wire.id == "TD_QE" else { throw field.failure("id", "is \"\(wire.id)\", not \"TD_QE\"") }
        self.signed = signed
        self.id = wire.id
        self.version = wire.version
        self.issueDate = try field.date(wire.issueDate, "issueDate")
        self.nextUpdate = try field.date(wire.nextUpdate, "nextUpdate")
        self.tcbEvaluationDataNumber = wire.tcbEvaluationDataNumber
        self.miscSelect = try field.hex(wire.miscselect, "miscselect", count: 4)
        self.miscSelectMask = try field.hex(wire.miscselectMask, "miscselectMask", count: 4)
        self.attributes = try field.hex(wire.attributes, "attributes", count: 16)
        self.attributesMask = try field.hex(wire.attributesMask, "attributesMask", count: 16)
        self.mrSigner = try field.hex(wire.mrsigner, "mrsigner", count: 32)
        self.isvProdID = wire.isvprodid
        var levels: [TCBLevel] = []
        for (index, level) in wire.tcbLevels.enumerated() {
            let at = "tcbLevels[\(index)]"
            // QVL's Enclave Identity statuses (EnclaveIdentityV2, parseStringToTcbStatus).
            let status = try field.status(
                level.tcbStatus, "\(at).tcbStatus",
                allowed: [.upToDate, .configurationNeeded, .outOfDate, .outOfDateConfigurationNeeded, .revoked])
            levels.append(TCBLevel(
                isvSVN: level.tcb.isvsvn, tcbDate: try field.date(level.tcbDate, "\(at).tcbDate"), status: status,
                advisoryIDs: level.advisoryIDs ?? []))
        }
        guard !levels.isEmpty else { throw field.failure("tcbLevels", "is empty") }
        self.tcbLevels = levels.sorted { $0.isvSVN > $1.isvSVN }
    }

    private struct Wire: Decodable {
        struct Level: Decodable {
            struct TCB: Decodable { let isvsvn: UInt16 }
            let tcb: TCB
            let tcbDate: String
            let tcbStatus: String
            let advisoryIDs: [String]?
        }
        let id: String
        let version: Int
        let issueDate: String
        let nextUpdate: String
        let tcbEvaluationDataNumber: Int
        let miscselect: String
        let miscselectMask: String
        let attributes: String
        let attributesMask: String
        let mrsigner: String
        let isvprodid: UInt16
        let tcbLevels: [Level]
    }
}
