import Foundation

/// Checks an operator's policy or reference-values document before it is stored, so a typo is a
/// 4xx at upload time rather than a refusal of every VM later.
enum DocumentValidation {
    static func validate(_ kind: DocumentKind, json: [UInt8]) throws(ServiceError) {
        guard (try? JSONSerialization.jsonObject(with: Data(json))) is [String: Any] else {
            throw ServiceError(.unprocessableContent, code: "document_invalid", message: "a \(kind.rawValue) document must be a JSON object")
        }
    }
}
