import ArgumentParser
import Attestation
import AttestationServer
import Foundation
import KeyBroker
import Logging
import SEVSNP
import SwiftASN1
import X509

/// `cvm serve`: the attestation service and key broker.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the attestation service and key broker (HTTP).",
        discussion: """
        With no options it just works: the SQLite database, the generated master key and the \
        generated admin token live in --data-dir (created with mode 0700; key files 0600). \
        With --database-url the replicas share PostgreSQL, and every replica needs the same \
        --master-key-file and admin token.
        """
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on.")
    var port = 8443

    @Option(help: "Directory for the SQLite database and generated keys.")
    var dataDir = ".cvm-serve"

    @Option(help: "PostgreSQL URL (postgres://user:password@host:port/db) instead of SQLite.")
    var databaseURL: String?

    @Option(help: "File with the 32-byte master key (64 hex digits or base64); generated in --data-dir when absent.")
    var masterKeyFile: String?

    @Option(help: "File with the admin bearer token; generated in --data-dir when absent. The CVM_ADMIN_TOKEN variable also works.")
    var adminTokenFile: String?

    @Option(help: "PEM certificate chain for TLS.")
    var tlsCertificate: String?

    @Option(help: "PEM private key for TLS.")
    var tlsKey: String?

    @Option(help: "Challenge nonce lifetime in seconds.")
    var nonceLifetime = 300

    @Option(help: "Seconds an EAR the service signs stays valid (its exp claim).")
    var earValidity = 300

    @Option(help: "PEM with the certificates of a TPM attestation-key CA to trust (repeatable).")
    var tpmRoot: [String] = []

    @Option(help: "PEM with an emulated SEV-SNP chain's ARK and ASK (repeatable; needs --allow-emulated).")
    var emulatedSnpRoot: [String] = []

    @Flag(help: "Accept evidence from the emulated roots given (tests and demos only; results say so).")
    var allowEmulated = false

    @Option(help: "Log format: text or json.")
    var logFormat = "text"

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func validate() throws {
        if (tlsCertificate == nil) != (tlsKey == nil) { throw ValidationError("--tls-certificate and --tls-key go together") }
        if databaseURL != nil, masterKeyFile == nil { throw ValidationError("replicas on PostgreSQL must share a master key: give --master-key-file") }
        guard ["text", "json"].contains(logFormat) else { throw ValidationError("--log-format is text or json") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown log level '\(logLevel)'") }
        if allowEmulated != !emulatedSnpRoot.isEmpty { throw ValidationError("--allow-emulated and --emulated-snp-root go together") }
        guard (1...86_400).contains(nonceLifetime) else { throw ValidationError("--nonce-lifetime must be 1 to 86400 seconds") }
        guard (1...86_400).contains(earValidity) else { throw ValidationError("--ear-validity must be 1 to 86400 seconds") }
    }

    func run() async throws {
        let json = logFormat == "json"
        LoggingSystem.bootstrap { label in
            json ? JSONLogHandler(label: label) as any LogHandler : StreamLogHandler.standardError(label: label)
        }
        var logger = Logger(label: "cvm-serve")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info

        let secrets = try ServeSecrets(dataDirectory: dataDir, needsDirectory: databaseURL == nil)
        let masterKey = try MasterKey(encoded: try secrets.material(file: masterKeyFile, generatedName: "master.key") { MasterKey.random().hexEncoded })
        let adminToken = try ProcessInfo.processInfo.environment["CVM_ADMIN_TOKEN"]
            ?? String(decoding: try secrets.material(file: adminTokenFile, generatedName: "admin-token") { ServeSecrets.randomToken() }, as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)

        let storage: ServerOptions.Storage = databaseURL.map { .postgres(url: $0) } ?? .sqlite(path: "\(dataDir)/cvm.sqlite")
        let options = ServerOptions(
            host: host, port: port, storage: storage,
            tls: tlsCertificate.flatMap { certificate in tlsKey.map { (certificate, $0) } },
            service: ServiceConfiguration(masterKey: masterKey, adminToken: adminToken, nonceLifetime: .seconds(nonceLifetime), earValidity: .seconds(earValidity),
                                          verifier: try verifierConfiguration()))
        let scheme = tlsCertificate == nil ? "http" : "https"
        let where_ = databaseURL == nil ? "SQLite at \(dataDir)/cvm.sqlite" : "PostgreSQL"
        try await ServiceApplication.run(options, logger: logger) { port in
            let line = "cvm serve: listening on \(scheme)://\(host):\(port) (\(where_)); admin token in \(adminTokenFile ?? "\(dataDir)/admin-token")\(allowEmulated ? "; EMULATED ROOTS ACCEPTED" : "")\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
    }
}

extension ServeCommand {
    /// AMD's genuine roots, the TPM CAs given, and the emulated roots only when opted in.
    func verifierConfiguration() throws -> AttestationVerifier.Configuration {
        let tpmRoots = try tpmRoot.flatMap { path in
            try PEMDocument.parseMultiple(pemString: String(decoding: try readBinaryFile(path), as: UTF8.self)).map { try Certificate(pemDocument: $0) }
        }
        let emulated = try emulatedSnpRoot.map { path throws -> SNPTrustAnchor in
            let certificates = try AMDCertificate.certificates(pem: String(decoding: try readBinaryFile(path), as: UTF8.self), role: "emulated root")
            guard let root = certificates.first(where: { $0.subject == $0.issuer }) else {
                throw ValidationError("\(path) holds no self-signed ARK")
            }
            return try SNPTrustAnchor(name: SNPTrustAnchor.emulatedName, product: nil, root: root, intermediates: certificates.filter { $0 != root })
        }
        return AttestationVerifier.Configuration(tpmRoots: tpmRoots, emulatedSNPAnchors: emulated, allowEmulatedRoots: allowEmulated)
    }
}

/// The operator's key material for `cvm serve`: read from the given file, or generated once
/// into the data directory with owner-only permissions.
struct ServeSecrets {
    let dataDirectory: String

    init(dataDirectory: String, needsDirectory: Bool) throws {
        self.dataDirectory = dataDirectory
        if needsDirectory {
            try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
    }

    /// The contents of `file`, or of `generatedName` in the data directory (created by `make`).
    func material(file: String?, generatedName: String, make: () -> String) throws -> [UInt8] {
        if let file { return try readBinaryFile(file) }
        let path = "\(dataDirectory)/\(generatedName)"
        if FileManager.default.fileExists(atPath: path) { return try readBinaryFile(path) }
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let contents = Array((make() + "\n").utf8)
        try writePrivateFile(contents, to: path)
        return contents
    }

    /// 32 random bytes as 64 hex digits.
    static func randomToken() -> String {
        MasterKey.random().hexEncoded
    }
}
