/// A decoding error as "at <path>: <what>".
package func explain(_ error: DecodingError) -> String {
    let context: DecodingError.Context
    switch error {
    case let .typeMismatch(_, found), let .valueNotFound(_, found), let .keyNotFound(_, found), let .dataCorrupted(found):
        context = found
    @unknown default:
        return String(describing: error)
    }
    var path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    if case let .keyNotFound(key, _) = error { path += ".\(key.stringValue)" }
    return "at \(path.isEmpty ? "the top level" : path): \(context.debugDescription)"
}
