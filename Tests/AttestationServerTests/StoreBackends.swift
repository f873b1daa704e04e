import AttestationServer
import Foundation
import Logging
import PostgresNIO

/// The two storage backends under test. PostgreSQL runs when `CVM_TEST_POSTGRES_URL` names a
/// server (scripts/test.sh starts one with scripts/postgres.sh); each test gets a new database.
enum StoreBackend: String, CaseIterable, CustomStringConvertible {
    case sqlite
    case postgres

    var description: String { rawValue }

    static let postgresURL = ProcessInfo.processInfo.environment["CVM_TEST_POSTGRES_URL"]

    /// The backends this machine can run: PostgreSQL only with a server URL.
    static var available: [StoreBackend] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    /// Runs `body` with a new, migrated store of this backend, and removes it afterwards.
    func withStore<T: Sendable>(_ body: @Sendable (any AttestationStore) async throws -> T) async throws -> T {
        let logger = Logger(label: "store-test")
        switch self {
        case .sqlite:
            let store = try await SQLiteStore(path: nil, logger: logger)
            do {
                try await store.migrate()
                let result = try await body(store)
                try await store.close()
                return result
            } catch {
                try? await store.close()
                throw error
            }
        case .postgres:
            return try await Self.withFreshPostgresDatabase { url in
                let store = try PostgresStore(url: url, logger: logger)
                return try await withThrowingTaskGroup(of: T?.self) { group in
                    group.addTask { await store.run(); return nil }
                    try await store.migrate()
                    let result = try await body(store)
                    group.cancelAll()
                    return result
                }
            }
        }
    }

    /// Creates a uniquely named database on the test server, passes its URL, drops it after.
    static func withFreshPostgresDatabase<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        guard let base = postgresURL, var components = URLComponents(string: base) else {
            throw PostgresUnavailable()
        }
        let name = "cvm_test_\(UInt64.random(in: 0...UInt64.max))"
        try runPSQL(base, "CREATE DATABASE \(name)")
        defer { try? runPSQL(base, "DROP DATABASE \(name) WITH (FORCE)") }
        components.path = "/\(name)"
        return try await body(components.string!)
    }

    private static func runPSQL(_ url: String, _ sql: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = [url, "-q", "-c", sql]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw PostgresUnavailable() }
    }
}

struct PostgresUnavailable: Error, CustomStringConvertible {
    var description: String { "CVM_TEST_POSTGRES_URL does not name a reachable PostgreSQL (scripts/postgres.sh start)" }
}
