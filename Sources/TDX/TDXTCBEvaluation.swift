import EvidenceCore

/// Where a verified quote's TCB stands according to Intel's TCB Info and QE Identity, matched the
/// way Intel's TDX Quote Verification Library matches them (QVL `TcbLevelCheck.cpp`,
/// `TdxModuleCheck.cpp`, `EnclaveReportVerifier.cpp`; steps 4.1.2.4.11 and 4.1.2.4.15–17 of its
/// verification flow).
public struct TDXTCBEvaluation: Sendable, Hashable {
    /// The overall status: the TDX TCB level's status converged with the TDX module's and the
    /// QE's, as the QVL reports it.
    public let status: TCBStatus
    /// Advisory IDs of the matched platform, TDX module and QE levels, without repeats.
    public let advisoryIDs: [String]
    /// The first TCB level whose SGX components and PCESVN the PCK certificate meets.
    public let sgxTCBLevel: TCBInfo.TCBLevel
    /// The first TCB level whose SGX components, PCESVN and TDX components the platform meets;
    /// its status is the platform's.
    public let tdxTCBLevel: TCBInfo.TCBLevel
    /// The TDX module identity matched ("TDX_03"), or "tdxModule" for module version 0.
    public let tdxModuleIdentity: String
    /// The TDX module TCB level matched, absent for module version 0, whose identity has none.
    public let tdxModuleTCBLevel: TCBInfo.ModuleTCBLevel?
    /// The QE Identity level matched by the QE's ISVSVN, if QE Identity was given.
    public let qeTCBLevel: QEIdentity.TCBLevel?
    /// The TCB Info's evaluation data number.
    public let tcbEvaluationDataNumber: Int

    /// Evaluates the TCB of a quote whose signatures are verified.
    static func evaluate(
        body: TDReportBody, qeReport: QEReport, pck: SGXExtensions, tcbInfo: TCBInfo, qeIdentity: QEIdentity?
    ) throws(TDXError) -> TDXTCBEvaluation {
        // 4.1.2.4.10: the TCB Info must describe this platform.
        guard tcbInfo.fmspc == pck.fmspc else {
            throw .collateralMismatch(document: TCBInfo.document, field: "fmspc", expected: hexString(tcbInfo.fmspc), actual: hexString(pck.fmspc))
        }
        guard tcbInfo.pceID == pck.pceID else {
            throw .collateralMismatch(document: TCBInfo.document, field: "pceId", expected: hexString(tcbInfo.pceID), actual: hexString(pck.pceID))
        }
        let (moduleName, moduleLevel) = try Self.tdxModule(body, tcbInfo)
        let qeLevel = try qeIdentity.map { identity throws(TDXError) in try Self.qeLevel(qeReport, identity) }
        let (sgxLevel, tdxLevel) = try Self.platformLevels(pck.tcb, teeTCBSVN: body.teeTCBSVN, tcbInfo)
        let status = tdxLevel.status
            .converged(with: moduleLevel?.status ?? .upToDate)
            .converged(with: qeLevel?.status ?? .upToDate)
        var advisories: [String] = []
        for id in tdxLevel.advisoryIDs + (moduleLevel?.advisoryIDs ?? []) + (qeLevel?.advisoryIDs ?? []) where !advisories.contains(id) {
            advisories.append(id)
        }
        return TDXTCBEvaluation(
            status: status, advisoryIDs: advisories, sgxTCBLevel: sgxLevel, tdxTCBLevel: tdxLevel, tdxModuleIdentity: moduleName,
            tdxModuleTCBLevel: moduleLevel, qeTCBLevel: qeLevel, tcbEvaluationDataNumber: tcbInfo.tcbEvaluationDataNumber)
    }

    /// 4.1.2.4.17.1–3 (QVL `matchTcbLevels`): walking the levels highest first, the SGX level is the
    /// first the PCK certificate's SGX components and PCESVN meet, the TDX level the first that the
    /// TEE_TCB_SVN also meets. TEE_TCB_SVN bytes 0 and 1 (the module's SVN and major version) are
    /// left to the module identity when the major version is not 0.
    private static func platformLevels(
        _ pck: PCKTCB, teeTCBSVN: [UInt8], _ tcbInfo: TCBInfo
    ) throws(TDXError) -> (TCBInfo.TCBLevel, TCBInfo.TCBLevel) {
        let firstTDXComponent = teeTCBSVN[1] > 0 ? 2 : 0
        var sgxLevel: TCBInfo.TCBLevel?
        for level in tcbInfo.tcbLevels
        where zip(pck.sgxComponentSVNs, level.sgxComponents).allSatisfy({ $0 >= $1 }) && pck.pceSVN >= level.pceSVN {
            sgxLevel = sgxLevel ?? level
            if (firstTDXComponent..<16).allSatisfy({ teeTCBSVN[$0] >= level.tdxComponents[$0] }) {
                return (sgxLevel ?? level, level)
            }
        }
        let sgx = "SGX TCB components \(pck.sgxComponentSVNs.map(String.init).joined(separator: ",")) with PCESVN \(pck.pceSVN)"
        guard sgxLevel != nil else { throw .tcbLevelNotFound(document: TCBInfo.document, tcb: sgx) }
        throw .tcbLevelNotFound(document: TCBInfo.document, tcb: "\(sgx) and TEE_TCB_SVN \(hexString(teeTCBSVN))")
    }

    /// 4.1.2.4.11 and 4.1.2.4.17.4 (QVL `checkTdxModuleTcbStatus`): the identity "TDX_<major>" for
    /// TEE_TCB_SVN[1] > 0, else the TCB Info's `tdxModule`; MRSIGNERSEAM and masked SEAMATTRIBUTES
    /// must match it, and the module's ISVSVN (TEE_TCB_SVN[0]) selects its first level at or below.
    private static func tdxModule(_ body: TDReportBody, _ tcbInfo: TCBInfo) throws(TDXError) -> (String, TCBInfo.ModuleTCBLevel?) {
        let major = body.teeTCBSVN[1]
        let identity: TCBInfo.TDXModuleIdentity
        let name: String
        if major == 0 {
            identity = tcbInfo.tdxModule
            name = "tdxModule"
        } else {
            name = "TDX_" + hexString([major]).uppercased()
            guard let found = tcbInfo.tdxModuleIdentities.first(where: { $0.id.uppercased() == name }) else {
                let known = tcbInfo.tdxModuleIdentities.map(\.id).joined(separator: ", ")
                throw .tdxModuleMismatch(field: "identity", expected: "one of [\(known)]", actual: name)
            }
            identity = found
        }
        guard identity.mrSigner == body.mrSignerSEAM else {
            throw .tdxModuleMismatch(field: "MRSIGNERSEAM", expected: hexString(identity.mrSigner), actual: hexString(body.mrSignerSEAM))
        }
        if let mismatch = masked("SEAMATTRIBUTES", littleEndian(body.seamAttributes), identity.attributesMask, identity.attributes) {
            throw .tdxModuleMismatch(field: mismatch.field, expected: mismatch.expected, actual: mismatch.actual)
        }
        guard major != 0 else { return (name, nil) }
        let isvSVN = UInt16(body.teeTCBSVN[0])
        guard let level = identity.tcbLevels.first(where: { isvSVN >= $0.isvSVN }) else {
            throw .tcbLevelNotFound(document: "\(TCBInfo.document) TDX module \(name)", tcb: "ISVSVN \(isvSVN)")
        }
        return (name, level)
    }

    /// A masked comparison of collateral (value AND mask must equal expected): nil when it holds,
    /// otherwise the field, expected and actual values for the mismatch error.
    private static func masked(_ field: String, _ value: [UInt8], _ mask: [UInt8], _ expected: [UInt8]) -> (field: String, expected: String, actual: String)? {
        guard zip(value, mask).map({ $0 & $1 }) != expected else { return nil }
        return ("\(field) under mask \(hexString(mask))", hexString(expected), hexString(value))
    }

    /// The little-endian bytes of a report field, as the collateral's masks are written.
    private static func littleEndian(_ value: some FixedWidthInteger & UnsignedInteger) -> [UInt8] {
        var writer = LittleEndianWriter()
        writer.integer(value)
        return writer.bytes
    }

    /// 4.1.2.9.5–10 (QVL `EnclaveReportVerifier`): masked MISCSELECT and ATTRIBUTES, MRSIGNER and
    /// ISVPRODID must match; the QE's ISVSVN selects its first level at or below.
    private static func qeLevel(_ report: QEReport, _ identity: QEIdentity) throws(TDXError) -> QEIdentity.TCBLevel {
        if let mismatch = masked("MISCSELECT", littleEndian(report.miscSelect), identity.miscSelectMask, identity.miscSelect)
            ?? masked("ATTRIBUTES", report.attributes, identity.attributesMask, identity.attributes) {
            throw .qeIdentityMismatch(field: mismatch.field, expected: mismatch.expected, actual: mismatch.actual)
        }
        guard report.mrSigner == identity.mrSigner else {
            throw .qeIdentityMismatch(field: "MRSIGNER", expected: hexString(identity.mrSigner), actual: hexString(report.mrSigner))
        }
        guard report.isvProdID == identity.isvProdID else {
            throw .qeIdentityMismatch(field: "ISVPRODID", expected: "\(identity.isvProdID)", actual: "\(report.isvProdID)")
        }
        guard let level = identity.tcbLevels.first(where: { report.isvSVN >= $0.isvSVN }) else {
            throw .tcbLevelNotFound(document: QEIdentity.document, tcb: "QE ISVSVN \(report.isvSVN)")
        }
        return level
    }
}
