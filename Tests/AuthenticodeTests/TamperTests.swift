import Authenticode
import Foundation
import Testing
import X509

/// Debian's signed grub with single bytes changed or the file cut short: each change must fail
/// with the error that names what was changed, and where a digest is involved the digest we
/// report must be the one pesign computes for the changed file.
@Suite("Tampered real images", .enabled(if: Peer.available, Comment(rawValue: Peer.missing)))
struct TamperTests {
    let original: [UInt8]
    let image: PEImage
    let signature: AuthenticodeSignature
    let anchor: Certificate

    init() throws {
        original = try Peer.bytes(Peer.grub)
        image = try PEImage(bytes: original)
        signature = try #require(try image.signatures().first)
        anchor = try SignatureTests.debianCA()
    }

    func flipped(at offset: Int) -> [UInt8] {
        var bytes = original
        bytes[offset] ^= 0x01
        return bytes
    }

    /// The error verifying `bytes` against the Debian CA throws, after checking that sbverify
    /// refuses the same file.
    func verificationError(_ bytes: [UInt8]) throws -> AuthenticodeError? {
        let file = try Peer.temporaryFile(bytes)
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(try !SignatureTests.sbverifyAccepts(file, anchor))
        return #expect(throws: AuthenticodeError.self) { try PEImage(bytes: bytes).verify(trusting: [.certificate(anchor)]) }
    }

    /// Expects an image digest mismatch whose computed digest is pesign's digest of `bytes` and
    /// whose signed digest is `signed` (by default the digest the original signature signs).
    func expectImageDigestMismatch(_ bytes: [UInt8], signed expected: [UInt8]? = nil, _ what: Comment) throws {
        let file = try Peer.temporaryFile(bytes)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let pesign = try Peer.pesignDigest(file, "sha256")
        guard case let .imageDigestMismatch(0, .sha256, signed, computed)? = try verificationError(bytes) else {
            Issue.record("\(what): expected an image digest mismatch")
            return
        }
        #expect(DigestTests.hex(computed) == pesign, what)
        #expect(signed == expected ?? signature.imageDigest, what)
    }

    /// The offset of the first occurrence of `needle` in the attribute certificate table.
    func offsetInSignature(of needle: [UInt8]) throws -> Int {
        let table = try #require(image.certificateTable)
        let start = Int(table.address)
        let offset = (start...(start + Int(table.size) - needle.count)).first { original[$0..<$0 + needle.count].elementsEqual(needle) }
        return try #require(offset)
    }

    @Test("the unmodified file verifies")
    func untampered() throws {
        #expect(try image.verify(trusting: [.certificate(anchor)]).signatureIndex == 0)
    }

    @Test("a changed CheckSum is not hashed: pesign's digest is unchanged and the signature still verifies")
    func checksumExcluded() throws {
        let bytes = flipped(at: image.checksumOffset)
        let file = try Peer.temporaryFile(bytes)
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(try Peer.pesignDigest(file, "sha256") == (try Peer.pesignDigest(Peer.grub, "sha256")))
        #expect(try PEImage(bytes: bytes).verify(trusting: [.certificate(anchor)]).signatureIndex == 0)
    }

    @Test("a changed byte in the MS-DOS stub, the COFF header or a section is an image digest mismatch")
    func hashedBytes() throws {
        try expectImageDigestMismatch(flipped(at: 0x4E), "MS-DOS stub")
        try expectImageDigestMismatch(flipped(at: image.checksumOffset - 24), "Optional Header SizeOfCode")
        for section in image.sections where section.sizeOfRawData > 0 {
            try expectImageDigestMismatch(flipped(at: Int(section.pointerToRawData + section.sizeOfRawData / 2)), "section \(section.name)")
        }
    }

    @Test("a changed digest in SpcIndirectDataContent is an image digest mismatch")
    func signedDigest() throws {
        var changed = signature.imageDigest
        changed[5] ^= 0x01
        try expectImageDigestMismatch(flipped(at: try offsetInSignature(of: signature.imageDigest) + 5), signed: changed, "SpcIndirectDataContent digest")
    }

    @Test("a changed messageDigest attribute is a message digest mismatch")
    func messageDigest() throws {
        let digest = try #require(signature.signerInfos.first?.messageDigest)
        guard case .messageDigestMismatch(0, _, _)? = try verificationError(flipped(at: try offsetInSignature(of: digest) + 3)) else {
            Issue.record("expected a message digest mismatch")
            return
        }
    }

    @Test("a changed byte of the RSA signature is an invalid signature")
    func signatureBytes() throws {
        let value = try #require(signature.signerInfos.first?.signature)
        guard case .signatureInvalid(0, _)? = try verificationError(flipped(at: try offsetInSignature(of: value) + value.count / 2)) else {
            Issue.record("expected an invalid signature")
            return
        }
    }

    @Test("a WIN_CERTIFICATE of another revision, or a SignedData that is not DER, is malformed")
    func malformedSignature() throws {
        let table = Int(try #require(image.certificateTable).address)
        #expect(throws: AuthenticodeError.invalidCertificateTable(
            offset: table, reason: "wRevision 0x201 wCertificateType 0x2 is not a revision 2.0 PKCS_SIGNED_DATA entry")) {
            try PEImage(bytes: flipped(at: table + 4)).signatures()
        }
        let error = #expect(throws: AuthenticodeError.self) { try PEImage(bytes: flipped(at: table + 8)).signatures() }
        guard case .malformedSignature(0, _)? = error else {
            Issue.record("expected a malformed signature, got \(String(describing: error))")
            return
        }
    }

    @Test("corrupt headers are refused with the field and offset")
    func malformedHeaders() throws {
        #expect(throws: AuthenticodeError.invalidField(field: "e_magic", offset: 0, reason: "not \"MZ\"")) {
            try PEImage(bytes: flipped(at: 0))
        }
        let peOffset = Int(original[0x3C]) | Int(original[0x3D]) << 8
        #expect(throws: AuthenticodeError.invalidField(field: "PE signature", offset: peOffset, reason: "not \"PE\\0\\0\"")) {
            try PEImage(bytes: flipped(at: peOffset))
        }
        #expect(throws: AuthenticodeError.invalidField(field: "Optional Header Magic", offset: peOffset + 24, reason: "0x30b is neither PE32 nor PE32+")) {
            try PEImage(bytes: flipped(at: peOffset + 25))
        }
    }

    @Test("a file cut short is truncated at the field that no longer fits")
    func truncation() throws {
        let table = try #require(image.certificateTable)
        let cut = Int(table.address) + Int(table.size) - 10
        #expect(throws: AuthenticodeError.truncated(field: "Attribute Certificate Table", offset: Int(table.address), needed: Int(table.size), available: Int(table.size) - 10)) {
            try PEImage(bytes: Array(original[..<cut]))
        }
        let last = try #require(image.sections.max { $0.pointerToRawData < $1.pointerToRawData })
        let sectionCut = Int(last.pointerToRawData) + 1
        let error = #expect(throws: AuthenticodeError.self) { try PEImage(bytes: Array(original[..<sectionCut])) }
        guard case .truncated(let field, Int(last.pointerToRawData), Int(last.sizeOfRawData), 1)? = error, field.hasSuffix("(\(last.name)) raw data") else {
            Issue.record("expected the last section to be truncated, got \(String(describing: error))")
            return
        }
        #expect(throws: AuthenticodeError.truncated(field: "e_lfanew", offset: 0x3C, needed: 4, available: 2)) {
            try PEImage(bytes: Array(original[..<0x3E]))
        }
    }
}
