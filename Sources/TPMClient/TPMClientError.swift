import TPM2

/// Why a `TPM2Client` call failed: the transport could not carry the command, the TPM answered
/// with an error response code (TPM 2.0 Part 3 §5.2 response header), or the response did not
/// parse as the Part 3 response structure of the command.
public enum TPMClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The transport could not deliver the command or read the response.
    case transport(String)
    /// The TPM returned a response code other than TPM_RC_SUCCESS for the named command.
    case tpm(command: String, code: TPMResponseCode)
    /// The response frame was not a well-formed response to the named command.
    case malformedResponse(command: String, reason: String)

    /// The TPM response code, when the TPM itself refused the command.
    public var responseCode: TPMResponseCode? {
        if case let .tpm(_, code) = self { return code }
        return nil
    }

    public var description: String {
        switch self {
        case let .transport(reason): "TPM transport: \(reason)"
        case let .tpm(command, code): "\(command) failed with \(code)"
        case let .malformedResponse(command, reason): "malformed \(command) response: \(reason)"
        }
    }
}
