import Attestation

/// Checks an operator's policy or reference-values document with the `Attestation` library's
/// own parsers before it is stored, so a typo is a 4xx at upload time rather than a refusal of
/// every VM later.
enum DocumentValidation {
    static func validate(_ kind: DocumentKind, json: [UInt8]) throws(ServiceError) {
        do {
            switch kind {
            case .policy: _ = try AppraisalPolicy(json: json)
            case .referenceValues: _ = try ReferenceValues(json: json)
            }
        } catch {
            throw ServiceError(.unprocessableContent, code: "document_invalid", message: error.description)
        }
    }
}
