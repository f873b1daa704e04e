import Attestation
import Foundation
import Synchronization

/// Parsed policies and reference values, kept for a second so that a busy service does not read
/// and parse the same two documents for every attestation. A change made through any replica's
/// admin API is in force everywhere within ``lifetime``.
final class DocumentCache: Sendable {
    /// How long a parsed document is used before the store is read again.
    let lifetime: Duration = .seconds(1)
    private let entries = Mutex<[String: (document: any Sendable, loadedAt: ContinuousClock.Instant)]>([:])

    /// The document `name` of `kind`, parsed by `parse`, from the cache or the store; nil when
    /// the store has no such document.
    func document<T: Sendable>(
        _ kind: DocumentKind, name: String, store: any AttestationStore, parse: ([UInt8]) throws -> T
    ) async throws -> T? {
        let key = "\(kind.rawValue)/\(name)"
        let now = ContinuousClock.now
        if let cached = entries.withLock({ $0[key] }), now - cached.loadedAt < lifetime, let document = cached.document as? T {
            return document
        }
        guard let json = try await store.document(kind, name: name) else {
            entries.withLock { _ = $0.removeValue(forKey: key) }
            return nil
        }
        let document = try parse(json)
        entries.withLock { $0[key] = (document, now) }
        return document
    }
}
