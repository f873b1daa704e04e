import Foundation

/// Locates the shared evidence in `../shared/testdata` (each folder's README says where its files
/// came from). Test targets extend it with their own fixtures.
public enum TestData {
    /// `…/shared/testdata`, found from this file: the package root is three levels up.
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/testdata").standardized

    /// The bytes of a file, by its path below the root.
    public static func bytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: root.appendingPathComponent(path)))
    }

    /// The text of a file, by its path below the root.
    public static func text(_ path: String) throws -> String {
        String(decoding: try bytes(path), as: UTF8.self)
    }
}

extension [UInt8] {
    /// Parses hex written into a test; traps on anything but an even number of hex digits.
    public init(hex: String) {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        self = bytes
    }

    /// Lowercase hex.
    public var hex: String { self.map { String(format: "%02x", $0) }.joined() }
}
