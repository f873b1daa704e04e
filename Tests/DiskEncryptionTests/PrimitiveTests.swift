import Crypto
import DiskEncryption
import Testing

/// BLAKE2b and Argon2 against their RFC test vectors; AES-XTS against IEEE 1619 and OpenSSL.
@Suite("Primitives")
struct PrimitiveTests {
    @Test("BLAKE2b-512 of \"abc\" is the RFC 7693 Appendix A value")
    func blake2bVector() {
        let expected = Tools.bytes(hex: """
            ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1
            7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923
            """)
        #expect(BLAKE2b.hash(Array("abc".utf8), outputByteCount: 64) == expected)
    }

    @Test("BLAKE2b-512 of 1000 bytes (several blocks) equals openssl dgst -blake2b512")
    func blake2bMultiBlock() throws {
        let data = Tools.random(1000)
        let output = String(decoding: try Tools.run(["openssl", "dgst", "-blake2b512", "-r"], input: data).output, as: UTF8.self)
        #expect(Tools.hex(BLAKE2b.hash(data, outputByteCount: 64)) == String(output.prefix(128)))
    }

    static let rfc9106Password = [UInt8](repeating: 1, count: 32)
    static let rfc9106Salt = [UInt8](repeating: 2, count: 16)
    static let rfc9106Secret = [UInt8](repeating: 3, count: 8)
    static let rfc9106AssociatedData = [UInt8](repeating: 4, count: 12)

    @Test("Argon2 matches RFC 9106 §5.2 (Argon2i) and §5.3 (Argon2id)", arguments: [
        (Argon2.Variant.argon2i, "c814d9d1dc7f37aa13f0d77f2494bda1c8de6b016dd388d29952a4c4672b6ce8"),
        (Argon2.Variant.argon2id, "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"),
    ])
    func argon2Vectors(variant: Argon2.Variant, tag: String) throws {
        let computed = try Argon2.hash(
            variant: variant, password: Self.rfc9106Password, salt: Self.rfc9106Salt, secret: Self.rfc9106Secret,
            associatedData: Self.rfc9106AssociatedData, iterations: 3, memory: 32, parallelism: 4, tagLength: 32)
        #expect(Tools.hex(computed) == tag)
    }

    @Test("AES-XTS matches IEEE Std 1619 Annex B vector 2 (XTS-AES-128, 32-byte data unit)")
    func xtsIEEEVector() throws {
        let key = [UInt8](repeating: 0x11, count: 16) + [UInt8](repeating: 0x22, count: 16)
        var data = [UInt8](repeating: 0x44, count: 32)
        try AESXTS(key: SymmetricKey(data: key)).encrypt(&data, unitSize: 32, firstUnit: 0x33_3333_3333)
        #expect(Tools.hex(data) == "c454185e6a16936e39334038acef838bfb186fff7480adc4289382ecd6d394f0")
    }

    @Test("AES-XTS over 512- and 4096-byte data units equals OpenSSL AES-XTS (via python3-cryptography)", arguments: [(64, 512), (64, 4096), (32, 512)])
    func xtsAgainstOpenSSL(keySize: Int, unitSize: Int) throws {
        let key = Tools.random(keySize)
        let plaintext = Tools.random(3 * unitSize)
        let firstSector: UInt64 = 0x1_0000_00F0
        var ciphertext = plaintext
        let xts = try AESXTS(key: SymmetricKey(data: key))
        try xts.encrypt(&ciphertext, unitSize: unitSize, firstUnit: firstSector)
        for unit in 0..<3 {
            let range = unit * unitSize..<(unit + 1) * unitSize
            let expected = try Tools.referenceXTS(Array(plaintext[range]), key: key, sector: firstSector + UInt64(unit), decrypt: false)
            #expect(Array(ciphertext[range]) == expected)
        }
        try xts.decrypt(&ciphertext, unitSize: unitSize, firstUnit: firstSector)
        #expect(ciphertext == plaintext)
    }
}
