import Crypto
import Foundation

/// A runtime key kept in a PEM file (PKCS #8), for when one command makes the evidence that binds
/// the key and another opens the secret released to it (`cvm launch --runtime-key`, then
/// `cvm secret release --runtime-key`). ``GuestAgent`` itself keeps its one-time keys in memory.
public enum RuntimeKeyFile {
    /// The P-256 private key in `path`, or, when there is no file at `path`, a fresh one written
    /// there with mode 0600 (created exclusively, so a file appearing meanwhile is never replaced).
    ///
    /// - Returns: the key, and whether this call created the file.
    public static func loadOrCreate(path: String) throws(GuestAgentError) -> (key: P256.KeyAgreement.PrivateKey, created: Bool) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            guard errno == EEXIST else { throw .runtimeKeyFile(path: path, reason: String(cString: strerror(errno))) }
            guard let contents = FileManager.default.contents(atPath: path) else {
                throw .runtimeKeyFile(path: path, reason: "it cannot be read")
            }
            do {
                return (try P256.KeyAgreement.PrivateKey(pemRepresentation: String(decoding: contents, as: UTF8.self)), false)
            } catch {
                throw .runtimeKeyFile(path: path, reason: "it is not a PEM P-256 private key")
            }
        }
        defer { close(descriptor) }
        let key = P256.KeyAgreement.PrivateKey()
        let pem = Array((key.pemRepresentation + "\n").utf8)
        guard pem.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) == pem.count else {
            let reason = String(cString: strerror(errno))
            unlink(path)
            throw .runtimeKeyFile(path: path, reason: reason)
        }
        return (key, true)
    }
}
