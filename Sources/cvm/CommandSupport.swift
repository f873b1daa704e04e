import Foundation

/// The bytes of a file named on the command line.
func readBinaryFile(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Lowercase hex, two digits per byte.
func hexEncoded(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}
