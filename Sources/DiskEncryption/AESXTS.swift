import CLibCrypto
import Crypto

/// AES in XTS mode (IEEE Std 1619-2018 §5), the `aes-xts-plain64` cipher of dm-crypt and LUKS2.
///
/// swift-crypto 4.5 offers no XTS, and XTS composed from its AES modes runs at a few percent of
/// dm-crypt's speed (encryption cannot be pipelined through them), so data units go through
/// OpenSSL's AES-XTS: one update per data unit, whose 16-byte IV is the tweak input. `plain64`
/// makes it the 64-bit little-endian sector number, zero-padded to 16 bytes. Each data unit is a
/// whole number of 16-byte blocks, so no ciphertext stealing is needed.
///
/// A new tweak per 4 KiB sector through `EVP_CipherInit_ex` costs OpenSSL 3 a parameter query
/// (the IV length, by name) on every call, about 7% of the sector's time; so the cipher is driven
/// through the functions of its provider (``XTSImplementation``), whose init with an IV only
/// takes the IV.
public struct AESXTS: Sendable {
    /// Key1 (data) ‖ Key2 (tweak), as IEEE 1619 §5.1 and OpenSSL order them.
    private let key: SymmetricKey

    /// - Parameter key: 32 bytes (AES-128-XTS) or 64 bytes (AES-256-XTS): the data key, then the
    ///   tweak key (§5.1).
    public init(key: SymmetricKey) throws(LUKS2Error) {
        guard key.bitCount == 256 || key.bitCount == 512 else {
            throw .unsupported("aes-xts key of \(key.bitCount) bits")
        }
        self.key = key
    }

    /// Encrypts `data` in place as consecutive data units of `unitSize` bytes, unit `i` numbered
    /// `firstUnit + i × unitStep` (dm-crypt numbers sectors of any size in 512-byte units, so a
    /// 4096-byte sector advances the number by 8).
    public func encrypt(_ data: inout [UInt8], unitSize: Int, firstUnit: UInt64, unitStep: UInt64 = 1) throws(LUKS2Error) {
        try process(&data, unitSize: unitSize, firstUnit: firstUnit, unitStep: unitStep, encrypting: true)
    }

    /// Decrypts `data` in place, the inverse of ``encrypt(_:unitSize:firstUnit:unitStep:)``.
    public func decrypt(_ data: inout [UInt8], unitSize: Int, firstUnit: UInt64, unitStep: UInt64 = 1) throws(LUKS2Error) {
        try process(&data, unitSize: unitSize, firstUnit: firstUnit, unitStep: unitStep, encrypting: false)
    }

    private func process(
        _ data: inout [UInt8], unitSize: Int, firstUnit: UInt64, unitStep: UInt64, encrypting: Bool
    ) throws(LUKS2Error) {
        guard unitSize > 0, unitSize % 16 == 0, data.count % unitSize == 0 else {
            throw .invalidArgument("\(data.count) bytes are not whole data units of \(unitSize) bytes")
        }
        guard let implementation = key.bitCount == 256 ? XTSImplementation.aes128 : XTSImplementation.aes256 else {
            throw .unsupported("OpenSSL's default provider offers no AES-XTS")
        }
        let context = try implementation.context(key: key, encrypting: encrypting)
        defer { implementation.free(context) }
        let failed = data.withUnsafeMutableBytes { buffer -> Bool in
            guard let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return false }
            var tweak: (UInt64, UInt64) = (0, 0)
            var unit = firstUnit
            for start in stride(from: 0, to: buffer.count, by: unitSize) {
                tweak.0 = unit.littleEndian
                unit &+= unitStep
                guard implementation.setTweak(context, &tweak, encrypting: encrypting),
                    implementation.update(context, base + start, count: unitSize)
                else { return true }
            }
            return false
        }
        if failed { throw .unsupported("OpenSSL AES-XTS failed") }
    }
}

/// OpenSSL's AES-XTS as its provider implements it, reached through the provider's dispatch
/// table (OpenSSL 3 `provider-cipher(7)`: OSSL_FUNC_cipher_newctx, encrypt_init, decrypt_init,
/// update, freectx; `OSSL_PROVIDER_query_operation(3)`), the same functions EVP calls. The
/// provider is that of the cipher `EVP_CIPHER_fetch` finds, which stays loaded for the process.
struct XTSImplementation: @unchecked Sendable {
    private let providerContext: UnsafeMutableRawPointer?
    private let newContext: OSSL_FUNC_cipher_newctx_fn
    private let freeContext: OSSL_FUNC_cipher_freectx_fn
    private let encryptInit: OSSL_FUNC_cipher_encrypt_init_fn
    private let decryptInit: OSSL_FUNC_cipher_decrypt_init_fn
    private let updateFunction: OSSL_FUNC_cipher_update_fn
    private let keyLength: Int

    static let aes128 = XTSImplementation(name: "AES-128-XTS", keyLength: 32)
    static let aes256 = XTSImplementation(name: "AES-256-XTS", keyLength: 64)

    private init?(name: String, keyLength: Int) {
        guard let cipher = EVP_CIPHER_fetch(nil, name, nil), let provider = EVP_CIPHER_get0_provider(cipher) else { return nil }
        var noCache: Int32 = 0
        guard var algorithm = OSSL_PROVIDER_query_operation(provider, Int32(OSSL_OP_CIPHER), &noCache) else { return nil }
        var dispatch: UnsafePointer<OSSL_DISPATCH>?
        while let names = algorithm.pointee.algorithm_names {
            if String(cString: names).split(separator: ":").contains(where: { $0.uppercased() == name }) {
                dispatch = algorithm.pointee.implementation
                break
            }
            algorithm += 1
        }
        var functions: [Int32: UnsafePointer<OSSL_DISPATCH>] = [:]
        while let entry = dispatch, entry.pointee.function_id != 0 {
            functions[entry.pointee.function_id] = entry
            dispatch = entry + 1
        }
        guard let newContext = functions[OSSL_FUNC_CIPHER_NEWCTX].flatMap(OSSL_FUNC_cipher_newctx),
            let freeContext = functions[OSSL_FUNC_CIPHER_FREECTX].flatMap(OSSL_FUNC_cipher_freectx),
            let encryptInit = functions[OSSL_FUNC_CIPHER_ENCRYPT_INIT].flatMap(OSSL_FUNC_cipher_encrypt_init),
            let decryptInit = functions[OSSL_FUNC_CIPHER_DECRYPT_INIT].flatMap(OSSL_FUNC_cipher_decrypt_init),
            let update = functions[OSSL_FUNC_CIPHER_UPDATE].flatMap(OSSL_FUNC_cipher_update)
        else { return nil }
        providerContext = OSSL_PROVIDER_get0_provider_ctx(provider)
        self.newContext = newContext
        self.freeContext = freeContext
        self.encryptInit = encryptInit
        self.decryptInit = decryptInit
        updateFunction = update
        self.keyLength = keyLength
    }

    /// A cipher context keyed with `key` for one direction.
    func context(key: SymmetricKey, encrypting: Bool) throws(LUKS2Error) -> UnsafeMutableRawPointer {
        guard let context = newContext(providerContext) else { throw .unsupported("OpenSSL AES-XTS context allocation failed") }
        let keyed = key.withUnsafeBytes { bytes in
            let pointer = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
            return (encrypting ? encryptInit : decryptInit)(context, pointer, keyLength, nil, 0, nil) == 1
        }
        guard keyed else {
            freeContext(context)
            throw .unsupported("OpenSSL refused the AES-XTS key (equal halves?)")
        }
        return context
    }

    /// Sets the next data unit's 16-byte tweak input.
    func setTweak(_ context: UnsafeMutableRawPointer, _ tweak: UnsafeMutablePointer<(UInt64, UInt64)>, encrypting: Bool) -> Bool {
        tweak.withMemoryRebound(to: UInt8.self, capacity: 16) { iv in
            (encrypting ? encryptInit : decryptInit)(context, nil, 0, iv, 16, nil) == 1
        }
    }

    /// Encrypts or decrypts `count` bytes in place as one data unit.
    func update(_ context: UnsafeMutableRawPointer, _ bytes: UnsafeMutablePointer<UInt8>, count: Int) -> Bool {
        var written = 0
        return updateFunction(context, bytes, &written, count, bytes, count) == 1 && written == count
    }

    func free(_ context: UnsafeMutableRawPointer) {
        freeContext(context)
    }
}
