import TPM2

/// How a command uses a handle's authorization (TPM 2.0 Part 3 §4.6: Auth Index and Role).
enum AuthRole {
    case user, admin, dup
}

/// One command being executed: its handles, the parameter reader, and the response being
/// built. Parameter reads are numbered so that a format error names the parameter
/// (Part 2 §6.6.3: TPM_RC_P + n).
struct CommandContext {
    let code: TPMCommandCode
    var handles: [TPMHandle]
    var params: TPMReader
    var parameterNumber = 0
    var out = TPMWriter()
    var responseHandle: TPMHandle?
    let locality: UInt8
    /// For each authorized handle, the session that authorized it (for PolicySecret and the
    /// policy commands that need to know the caller's session).
    var authSessionHandles: [TPMHandle] = []

    /// Reads the next parameter; a format error becomes a response code naming it. An unknown
    /// selector maps to `selectorCode` (TPM_RC_HASH, TPM_RC_SCHEME...).
    mutating func read<T>(
        _ selectorCode: TPMResponseCode = .selector, _ body: (inout TPMReader) throws(TPMMarshalError) -> T
    ) throws(TPMResponseCode) -> T {
        parameterNumber += 1
        do {
            return try body(&params)
        } catch {
            throw Self.responseCode(for: error, selectorCode: selectorCode).parameter(parameterNumber)
        }
    }

    static func responseCode(for error: TPMMarshalError, selectorCode: TPMResponseCode) -> TPMResponseCode {
        switch error {
        case .truncated: .insufficient
        case .oversize, .trailingBytes: .size
        case .unknownSelector: selectorCode
        case .invalidValue: .value
        }
    }

    /// Reads a TPM2B with the given maximum.
    mutating func sized(_ field: String, maximum: Int) throws(TPMResponseCode) -> [UInt8] {
        try read { r throws(TPMMarshalError) in try r.sized(field, maximum: maximum) }
    }

    mutating func u8(_ field: String) throws(TPMResponseCode) -> UInt8 { try read { r throws(TPMMarshalError) in try r.u8(field) } }
    mutating func u16(_ field: String) throws(TPMResponseCode) -> UInt16 { try read { r throws(TPMMarshalError) in try r.u16(field) } }
    mutating func u32(_ field: String) throws(TPMResponseCode) -> UInt32 { try read { r throws(TPMMarshalError) in try r.u32(field) } }

    /// Reads a TPMI_ALG_HASH; `allowNull` admits TPM_ALG_NULL (returned as nil).
    mutating func hashAlg(allowNull: Bool = false) throws(TPMResponseCode) -> TPMHashAlgorithm? {
        parameterNumber += 1
        let id: TPMAlgorithmID
        do { id = try TPMAlgorithmID(from: &params) } catch { throw Self.responseCode(for: error, selectorCode: .hash).parameter(parameterNumber) }
        if id == .null, allowNull { return nil }
        guard let hash = TPMHashAlgorithm(id) else { throw TPMResponseCode.hash.parameter(parameterNumber) }
        return hash
    }

    /// Fails with TPM_RC_SIZE if parameters are left over (Part 3 §5.2).
    func finishParameters() throws(TPMResponseCode) {
        guard params.isAtEnd else { throw TPMResponseCode.size }
    }

    /// The error code for the parameter read last.
    func parameterError(_ code: TPMResponseCode) -> TPMResponseCode { code.parameter(parameterNumber) }
}
