import Foundation
import SwiftASN1
import X509

/// The signed Debian boot files and the peer tools (pesign, sbverify, sbattach, openssl,
/// osslsigncode) whose output the tests compare with. Debian packages: shim-signed,
/// grub-efi-amd64-signed, linux-image-amd64, pesign, sbsigntool, osslsigncode, openssl.
enum Peer {
    static let shim = "/usr/lib/shim/shimx64.efi.signed"
    static let grub = "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed"
    /// The installed signed kernels.
    static let kernels: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/boot")) ?? []
        return names.filter { $0.hasPrefix("vmlinuz-") }.sorted().map { "/boot/" + $0 }
    }()
    static let signedFiles = [shim, grub] + kernels
    static let tools = ["pesign", "sbverify", "sbattach", "openssl", "osslsigncode"]

    /// Whether the files and tools are installed; the suites are skipped otherwise.
    static let available: Bool = {
        let present = (signedFiles + tools.map { "/usr/bin/" + $0 }).allSatisfy(FileManager.default.fileExists(atPath:))
        return present && !kernels.isEmpty
    }()
    static let missing = "needs /usr/lib/shim/shimx64.efi.signed, grubx64.efi.signed, /boot/vmlinuz-* and pesign, sbverify, sbattach, openssl, osslsigncode: apt-get install shim-signed grub-efi-amd64-signed linux-image-amd64 pesign sbsigntool osslsigncode openssl"

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs /usr/bin/`tool` and returns its standard output and standard error, and its exit status.
    static func run(_ tool: String, _ arguments: [String]) throws -> (output: String, status: Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/" + tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (String(decoding: data, as: UTF8.self), process.terminationStatus)
    }

    /// The Authenticode digest `pesign -h` prints (`hash: <hex>`), for sha1 or sha256.
    static func pesignDigest(_ file: String, _ digest: String) throws -> String {
        let (output, _) = try run("pesign", ["-h", "-d", digest, "-i", file])
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("hash: ") }) else {
            throw Failure(description: "pesign printed no hash for \(file): \(output)")
        }
        return String(line.dropFirst(6))
    }

    /// One signature as `sbverify --list` prints it: the SignerInfo issuers and the
    /// (subject, issuer) of each SignedData certificate, names in OpenSSL's /K=V form.
    struct ListedSignature: Equatable, CustomStringConvertible {
        var issuers: [String] = []
        var certificates: [[String]] = []
        var description: String { "issuers \(issuers), certificates \(certificates)" }
    }

    static func sbverifyList(_ file: String) throws -> [ListedSignature] {
        var signatures: [ListedSignature] = []
        var inIssuers = false
        for line in try run("sbverify", ["--list", file]).output.split(separator: "\n").map(String.init) {
            if line.hasPrefix("signature ") {
                signatures.append(ListedSignature())
            } else if line == "image signature issuers:" {
                inIssuers = true
            } else if line == "image signature certificates:" {
                inIssuers = false
            } else if inIssuers, line.hasPrefix(" - ") {
                signatures[signatures.count - 1].issuers.append(String(line.dropFirst(3)))
            } else if line.hasPrefix(" - subject: ") {
                signatures[signatures.count - 1].certificates.append([String(line.dropFirst(12))])
            } else if line.hasPrefix("   issuer:  ") {
                signatures[signatures.count - 1].certificates[signatures[signatures.count - 1].certificates.count - 1].append(String(line.dropFirst(12)))
            }
        }
        return signatures
    }

    /// A name in OpenSSL's one-line form, /C=US/O=…/CN=…, as sbverify prints it.
    static func oneLine(_ name: DistinguishedName) -> String {
        name.map { rdn in "/" + rdn.map(\.description).joined(separator: "+") }.joined()
    }

    /// The certificates OpenSSL prints from the first signature that `sbattach --detach` extracts.
    static func detachedCertificates(_ file: String) throws -> [Certificate] {
        let signature = FileManager.default.temporaryDirectory.appendingPathComponent("authenticode-\(UUID()).p7").path
        defer { try? FileManager.default.removeItem(atPath: signature) }
        _ = try run("sbattach", ["--detach", signature, file])
        let (pem, status) = try run("openssl", ["pkcs7", "-inform", "DER", "-in", signature, "-print_certs"])
        guard status == 0 else { throw Failure(description: "openssl pkcs7 failed: \(pem)") }
        return try PEMDocument.parseMultiple(pemString: pem).map { try Certificate(pemDocument: $0) }
    }

    /// The DER certificate embedded anywhere in `bytes` whose subject common name is `commonName`
    /// (shim carries its vendor certificate, the Debian Secure Boot CA, as raw DER).
    static func embeddedCertificate(in bytes: [UInt8], commonName: String) -> Certificate? {
        for start in 0..<max(0, bytes.count - 8) where bytes[start] == 0x30 && bytes[start + 1] == 0x82 && bytes[start + 4] == 0x30 {
            let length = 4 + (Int(bytes[start + 2]) << 8 | Int(bytes[start + 3]))
            guard start + length <= bytes.count,
                  let certificate = try? Certificate(derEncoded: Array(bytes[start..<start + length])) else { continue }
            if certificate.subject.contains(where: { rdn in rdn.contains { $0.description == "CN=" + commonName } }) {
                return certificate
            }
        }
        return nil
    }

    /// The bytes of a hex string as the peer tools print them.
    static func bytes(hex: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) ?? hex.endIndex
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }

    static func bytes(_ file: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: file)))
    }

    /// Writes `bytes` to a new temporary file and returns its path.
    static func temporaryFile(_ bytes: [UInt8], suffix: String = ".efi") throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("authenticode-\(UUID())\(suffix)").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Writes `certificate` as PEM to a new temporary file and returns its path.
    static func pemFile(_ certificate: Certificate) throws -> String {
        try temporaryFile(Array(try certificate.serializeAsPEM().pemString.utf8), suffix: ".pem")
    }
}
