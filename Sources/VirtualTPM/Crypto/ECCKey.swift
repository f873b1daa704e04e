import CLibCrypto
import TPM2

/// An ECC key on a NIST prime curve, with the operations the TPM needs: ECDSA over a given
/// digest, and the full shared point of ECDH (TPM2_ECDH_ZGen returns x and y, Part 3 §14.5,
/// which swift-crypto's key agreement does not expose).
final class ECCKey: @unchecked Sendable {
    let curve: TPMECCCurve
    private let key: OpaquePointer
    let x: [UInt8]
    let y: [UInt8]

    static func nid(_ curve: TPMECCCurve) -> Int32? {
        switch curve {
        case .nistP256: NID_X9_62_prime256v1
        case .nistP384: NID_secp384r1
        case .nistP521: NID_secp521r1
        default: nil
        }
    }

    static let supportedCurves: [TPMECCCurve] = [.nistP256, .nistP384, .nistP521]

    var coordinateSize: Int { curve.coordinateSize! }
    private var group: OpaquePointer { EC_KEY_get0_group(key) }

    private init(curve: TPMECCCurve, key: OpaquePointer) {
        self.curve = curve
        self.key = key
        let ctx = BigNumberContext()
        let bx = BigNumber(), by = BigNumber()
        EC_POINT_get_affine_coordinates(EC_KEY_get0_group(key), EC_KEY_get0_public_key(key), bx.pointer, by.pointer, ctx.pointer)
        let size = curve.coordinateSize!
        x = bx.bytes(length: size)
        y = by.bytes(length: size)
    }

    deinit { EC_KEY_free(key) }

    /// A public key; a point that is not on the curve is TPM_RC_ECC_POINT.
    convenience init(curve: TPMECCCurve, x: [UInt8], y: [UInt8]) throws(TPMResponseCode) {
        guard let nid = Self.nid(curve) else { throw TPMResponseCode.curve }
        let key = EC_KEY_new_by_curve_name(nid)!
        let bx = BigNumber(x), by = BigNumber(y)
        guard x.count <= curve.coordinateSize!, y.count <= curve.coordinateSize!,
              EC_KEY_set_public_key_affine_coordinates(key, bx.pointer, by.pointer) == 1 else {
            EC_KEY_free(key)
            throw TPMResponseCode.eccPoint
        }
        self.init(curve: curve, key: key)
    }

    /// A key pair from its private scalar; zero or a scalar not below the order is refused.
    convenience init(curve: TPMECCCurve, privateScalar: [UInt8]) throws(TPMResponseCode) {
        guard let nid = Self.nid(curve) else { throw TPMResponseCode.curve }
        let key = EC_KEY_new_by_curve_name(nid)!
        let d = BigNumber(privateScalar), ctx = BigNumberContext()
        let group = EC_KEY_get0_group(key)
        let q = EC_POINT_new(group)
        defer { EC_POINT_free(q) }
        guard BN_is_zero(d.pointer) == 0, BN_cmp(d.pointer, EC_GROUP_get0_order(group)) < 0,
              EC_POINT_mul(group, q, d.pointer, nil, nil, ctx.pointer) == 1,
              EC_KEY_set_private_key(key, d.pointer) == 1, EC_KEY_set_public_key(key, q) == 1 else {
            EC_KEY_free(key)
            throw TPMResponseCode.key
        }
        self.init(curve: curve, key: key)
    }

    /// Draws a private scalar d in [1, n-1] from `random` the way FIPS 186-5 §A.2.1 does
    /// (64 extra bits, reduced mod n-1, plus one), so seeded primaries are reproducible.
    static func generate(curve: TPMECCCurve, random: inout some RandomBytes) throws(TPMResponseCode) -> ECCKey {
        guard let nid = nid(curve) else { throw TPMResponseCode.curve }
        let group = EC_GROUP_new_by_curve_name(nid)!
        defer { EC_GROUP_free(group) }
        let ctx = BigNumberContext()
        let order = BigNumber.copy(EC_GROUP_get0_order(group))
        let one = BigNumber(word: 1), nMinus1 = BigNumber(), c = BigNumber(random.next(curve.coordinateSize! + 8)), d = BigNumber()
        BN_sub(nMinus1.pointer, order.pointer, one.pointer)
        BN_nnmod(d.pointer, c.pointer, nMinus1.pointer, ctx.pointer)
        BN_add(d.pointer, d.pointer, one.pointer)
        return try ECCKey(curve: curve, privateScalar: d.bytes(length: curve.coordinateSize!))
    }

    var privateScalar: [UInt8] {
        guard let d = EC_KEY_get0_private_key(key) else { return [] }
        return BigNumber.copy(d).bytes(length: coordinateSize)
    }

    /// ECDSA over `digest` (OpenSSL truncates a longer digest to the order's size, as FIPS 186 says).
    func sign(digest: [UInt8]) throws(TPMResponseCode) -> (r: [UInt8], s: [UInt8]) {
        guard let signature = digest.withUnsafeBufferPointer({ ECDSA_do_sign($0.baseAddress, Int32($0.count), key) }) else {
            throw TPMResponseCode.key
        }
        defer { ECDSA_SIG_free(signature) }
        return (BigNumber.copy(ECDSA_SIG_get0_r(signature)).bytes(length: coordinateSize),
                BigNumber.copy(ECDSA_SIG_get0_s(signature)).bytes(length: coordinateSize))
    }

    func verify(digest: [UInt8], r: [UInt8], s: [UInt8]) -> Bool {
        let signature = ECDSA_SIG_new()!
        defer { ECDSA_SIG_free(signature) }
        let br = BN_new(), bs = BN_new()
        r.withUnsafeBufferPointer { _ = BN_bin2bn($0.baseAddress, Int32($0.count), br) }
        s.withUnsafeBufferPointer { _ = BN_bin2bn($0.baseAddress, Int32($0.count), bs) }
        ECDSA_SIG_set0(signature, br, bs)
        return digest.withUnsafeBufferPointer { ECDSA_do_verify($0.baseAddress, Int32($0.count), signature, key) } == 1
    }

    /// d·P for a peer's public point P: the ECDH shared point (SP 800-56A §5.7.1.2).
    func multiply(_ peer: ECCKey) throws(TPMResponseCode) -> (x: [UInt8], y: [UInt8]) {
        guard peer.curve == curve, let d = EC_KEY_get0_private_key(key) else { throw TPMResponseCode.key }
        let ctx = BigNumberContext()
        let result = EC_POINT_new(group)
        defer { EC_POINT_free(result) }
        let bx = BigNumber(), by = BigNumber()
        guard EC_POINT_mul(group, result, nil, EC_KEY_get0_public_key(peer.key), d, ctx.pointer) == 1,
              EC_POINT_is_at_infinity(group, result) == 0,
              EC_POINT_get_affine_coordinates(group, result, bx.pointer, by.pointer, ctx.pointer) == 1 else {
            throw TPMResponseCode.noResult
        }
        return (bx.bytes(length: coordinateSize), by.bytes(length: coordinateSize))
    }
}
