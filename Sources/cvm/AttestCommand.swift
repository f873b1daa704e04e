import ArgumentParser
import AttestationClient
import Crypto
import Foundation
import KeyBroker
import EvidenceCore

/// Options shared by the commands that talk to `cvm serve`.
struct ServerConnectionOptions: ParsableArguments {
    @Option(help: "The attestation service's URL.")
    var server = "http://127.0.0.1:8443"

    @Option(help: "File with the admin token (default: .cvm-serve/admin-token, or the CVM_ADMIN_TOKEN variable).")
    var adminTokenFile: String?

    /// A client with the admin token when one can be found.
    func client() throws -> AttestationClient {
        var token = ProcessInfo.processInfo.environment["CVM_ADMIN_TOKEN"]
        let path = adminTokenFile ?? ".cvm-serve/admin-token"
        if token == nil, adminTokenFile != nil || FileManager.default.fileExists(atPath: path) {
            token = String(decoding: try readBinaryFile(path), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return AttestationClient(baseURL: server, adminToken: token)
    }
}

/// `cvm attest`: send evidence to the service and print its verdict.
struct AttestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attest",
        abstract: "Attest evidence with the service and print the verdict and the signed EAR.",
        discussion: "Get a nonce with `cvm attest challenge`, bind it into the evidence (cvm agent collect, cvm launch), then attest.",
        subcommands: [Send.self, ChallengeCommand.self],
        defaultSubcommand: Send.self
    )

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "send", abstract: "POST the evidence bundle to /v1/attest.")

        @OptionGroup var connection: ServerConnectionOptions

        @Option(help: "The evidence bundle (JSON, see docs/evidence.md).")
        var evidence: String

        @Option(help: "The policy to appraise against (a name stored in the service).")
        var policy: String?

        @Option(help: "The reference values to appraise against (a name stored in the service).")
        var referenceValues: String?

        @Flag(help: "Print only the EAR JWT.")
        var earOnly = false

        func run() async throws {
            let result = try await connection.client().attest(evidence: try readBinaryFile(evidence), policy: policy, referenceValues: referenceValues)
            if earOnly {
                print(result.ear)
                return
            }
            try printVerdict(result, showingEAR: true)
        }
    }

    struct ChallengeCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "challenge", abstract: "Get a single-use nonce (printed as hex).")

        @OptionGroup var connection: ServerConnectionOptions

        func run() async throws {
            let challenge = try await connection.client().challenge()
            print(hexString(challenge.nonceBytes))
        }
    }
}

/// `cvm secret`: manage the key broker's secrets and release them.
struct SecretCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secret",
        abstract: "Store secrets in the key broker, list them, and release one to attested evidence.",
        subcommands: [Put.self, Get.self, Release.self]
    )

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Store (or replace) a secret with its release policy.")

        @OptionGroup var connection: ServerConnectionOptions

        @Argument(help: "The secret's name.")
        var name: String

        @Option(help: "File holding the secret value (use - for standard input).")
        var valueFile: String

        @Option(help: "The policy that releases it.")
        var policy = "default"

        @Option(help: "The reference values the policy is appraised against.")
        var referenceValues = "default"

        func run() async throws {
            var value = try readBinaryFile(valueFile == "-" ? "/dev/stdin" : valueFile)
            defer { value.zeroize() }
            try await connection.client().putSecret(name, value: value, policy: policy, referenceValues: referenceValues)
            print("stored secret \(name) (\(value.count) bytes) released by policy \(policy) against reference values \(referenceValues)")
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List secrets, or show one's metadata (values are never returned).")

        @OptionGroup var connection: ServerConnectionOptions

        @Argument(help: "A secret's name (all when omitted).")
        var name: String?

        func run() async throws {
            let secrets = try await connection.client().secrets().filter { name == nil || $0["name"] == name }
            if let name, secrets.isEmpty { throw ValidationError("no secret named \(name)") }
            for secret in secrets {
                print("\(secret["name"] ?? "?"): policy \(secret["policy"] ?? "?"), reference values \(secret["referenceValues"] ?? "?"), updated \(secret["updatedAt"] ?? "?")")
            }
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Release a secret to evidence; decrypt it with the runtime key.")

        @OptionGroup var connection: ServerConnectionOptions

        @Argument(help: "The secret's name.")
        var name: String

        @Option(help: "The evidence bundle whose runtimeKey is the public half of --runtime-key.")
        var evidence: String

        @Option(help: "PEM P-256 private key whose public key the evidence binds (the VM's runtime key).")
        var runtimeKey: String

        @Option(help: "Write the secret here (default: standard output).")
        var output: String?

        func run() async throws {
            let key = try P256.KeyAgreement.PrivateKey(pemRepresentation: String(decoding: try readBinaryFile(runtimeKey), as: UTF8.self))
            let bundle = try readBinaryFile(evidence)
            guard let nonce = (try? JSONSerialization.jsonObject(with: Data(bundle)) as? [String: Any])?["nonce"] as? String,
                  let nonceBytes = Data(base64Encoded: nonce)
            else { throw ValidationError("\(evidence) is not an evidence bundle with a base64 nonce") }
            let response = try await connection.client().release(secret: name, evidence: bundle)
            var value = try response.secret.open(name: name, nonce: Array(nonceBytes), with: key)
            defer { value.zeroize() }
            if let output {
                try writePrivateFile(value, to: output)
                FileHandle.standardError.write(Data("released secret \(name) (\(value.count) bytes) to \(output)\n".utf8))
            } else {
                FileHandle.standardOutput.write(Data(value))
            }
        }
    }
}

/// Prints the service's verdict, every rule with expected and actual; exits 2 unless affirming.
func printVerdict(_ result: AttestationResponse, showingEAR: Bool) throws {
    print("status: \(result.status)")
    for rule in result.rules {
        print("  \(rule.passed ? "✔" : "✘") \(rule.rule): expected \(rule.expected), actual \(rule.actual)")
    }
    if showingEAR { print("ear: \(result.ear)") }
    if result.status != "affirming" { throw ExitCode(2) }
}
