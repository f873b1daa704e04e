import Crypto
import Foundation
import Testing
import TPM2
import X509
import _CryptoExtras

/// TPMT_SIGNATURE verification (TPM 2.0 Part 2 §11.3.4) against signatures other tools made:
/// certificate signatures from real CAs (ECDSA P-256 and RSASSA) and RSAPSS signatures from
/// openssl.
@Suite struct SignatureTests {
    /// The cmc test CA signed the AK certificate with ECDSA P-256/SHA-256; as a TPMT_SIGNATURE
    /// (r and s without leading zeros) it verifies with the CA key, both as a certificate key
    /// and as an ECC TPMT_PUBLIC built from its point.
    @Test func ecdsaCertificateSignatureVerifies() throws {
        let ca = try TestData.certificate("cmc-quote-vector/ak_ca_cert.pem")
        let leaf = try TestData.certificate("cmc-quote-vector/ak_cert.pem")
        let raw = try P256.Signing.ECDSASignature(derRepresentation: leaf.signature.rawRepresentation).rawRepresentation
        let signature = TPMTSignature.ecc(
            scheme: .ecdsa, hash: .sha256, r: Array(raw.prefix(32).drop { $0 == 0 }), s: Array(raw.suffix(32).drop { $0 == 0 }))
        let message = Array(leaf.tbsCertificateBytes)
        let key = try TPMVerifyingKey(ca.publicKey)
        try key.verify(signature: signature, message: message)

        let point = try #require(P256.Signing.PublicKey(ca.publicKey)).rawRepresentation
        let area = TPMTPublic(
            nameAlg: .sha256, objectAttributes: [.signEncrypt, .userWithAuth],
            parameters: .ecc(TPMSECCParms(curve: .nistP256)),
            unique: .ecc(TPMSECCPoint(x: Array(point.prefix(32)), y: Array(point.suffix(32)))))
        try area.verify(signature: signature, message: message)
        #expect(throws: TPMVerificationError.signatureInvalid(scheme: .ecdsa, hash: .sha256)) {
            try area.verify(signature: signature, message: message + [0])
        }
        #expect(throws: TPMVerificationError.signatureInvalid(scheme: .ecdsa, hash: .sha384)) {
            try key.verify(signature: .ecc(scheme: .ecdsa, hash: .sha384, r: Array(raw.prefix(32)), s: Array(raw.suffix(32))), message: message)
        }
        #expect(throws: TPMVerificationError.malformedSignature("r (33 bytes) or s (32 bytes) is longer than the curve size")) {
            try key.verify(signature: .ecc(scheme: .ecdsa, hash: .sha256, r: [1] + Array(raw.prefix(32)), s: Array(raw.suffix(32))), message: message)
        }
        #expect(throws: TPMVerificationError.wrongKeyType(scheme: .rsassa, keyType: .ecc)) {
            try key.verify(signature: .azureRSASSA([UInt8](repeating: 1, count: 256)), message: message)
        }
    }

    /// A Google CA signed each GCE leaf with sha256WithRSAEncryption: RSASSA/SHA-256.
    @Test(arguments: ["pca_tpm_rsa_sign_cert.pem", "uca_tpm_ecc_enc_cert.pem"])
    func rsassaCertificateSignatureVerifies(_ file: String) throws {
        let folder = "gce-ek-ak-certificates/"
        let json = try TestData.json("gce-ek-ak-certificates")["certificates"] as! [[String: Any]]
        let issuerFile = try #require(json.first { $0["file"] as? String == file }?["issued_by_file"] as? String)
        let leaf = try TestData.certificate(folder + file)
        let issuer = try TPMVerifyingKey(TestData.certificate(folder + issuerFile).publicKey)
        let signature = TPMTSignature.rsa(scheme: .rsassa, hash: .sha256, signature: leaf.signature.rawRepresentation)
        try issuer.verify(signature: signature, message: Array(leaf.tbsCertificateBytes))
        #expect(throws: TPMVerificationError.signatureInvalid(scheme: .rsassa, hash: .sha1)) {
            try issuer.verify(signature: .rsa(scheme: .rsassa, hash: .sha1, signature: leaf.signature.rawRepresentation), message: Array(leaf.tbsCertificateBytes))
        }
    }

    /// openssl-made RSAPSS/SHA-256 signatures over "CVMKit RSAPSS vector" (openssl dgst -sha256
    /// -sigopt rsa_padding_mode:pss): the digest-length salt current TPMs use verifies; the
    /// maximum salt of revision-1.16 TPMs is not accepted by swift-crypto.
    @Test func rsapssSaltLengths() throws {
        let area = TPMTPublic(
            nameAlg: .sha256, objectAttributes: [.signEncrypt],
            parameters: .rsa(TPMSRSAParms(scheme: .null, keyBits: 2048, exponent: 0)),
            unique: .rsa(hexBytes("bdc1c401bc3f875a4034bc38709bc55c6d7ebd71dd87eed2353ecf4f4196c917067faabb9b8319bb57cad26a7c1650d5fef2e2f4059544e1a9cdc4714181295889e390df19be940a8afedc051ac01e17eb7ce4fa45816253a56bc37c0a4d5f0b5709ae21215555892bfc28352b2855327e045905552e92f5acfe909c6a0a8e9614c2aa4400d7af3a7a47325eb10272eaa33e08c3ee5f9284e193abed9c5d22e881922ab757841f073f32d2d2193b8a47e75b9552c988e1f80dee0a0a91f61d5aac0e55dbe2bbd8baaaba85aa235596409591e63ed368a85f19254ae6ea0d6b38b417e842b2d089edbab0c373cc3258e0f62e4766a401cd10ecf3dda151a64cff")))
        let message = Array("CVMKit RSAPSS vector".utf8)
        try area.verify(signature: .rsa(scheme: .rsapss, hash: .sha256, signature: hexBytes("85aa66336687e4a30b22615fceaa83863e90da506016202d6d3c37f507d1133ad7bc170f1f7f900e101a58aea8bf800749591f0ae7e30fc99ceca3c0fe8ca5a82a65b83094aa1ad59576fe3ede29396b6d463dfd80be9aac3b9baee8be2e2bb750dd8b9af321e7c29cca4e3e16f7879519e739e1e23d90b625d5e8a44270e165f48c4708d7b58daa2f6c088bb3013826d6e5446565d04e3a4d3f061248c82d68df9463c9e9f9b140e5a1b8e0538b5b5eb120708fd66cc33b27d01ff9ba46be4baa8283e6dc431abef51c56791bc3b5122d2be6bc6c8ab7a7148864c22159518f56d6c7e20a5b155f58140d44f16740f80c038b9d498c60ca923a440afe0fe445")), message: message)
        #expect(throws: TPMVerificationError.signatureInvalid(scheme: .rsassa, hash: .sha256)) {
            try area.verify(signature: .rsa(scheme: .rsassa, hash: .sha256, signature: hexBytes("85aa66336687e4a30b22615fceaa83863e90da506016202d6d3c37f507d1133ad7bc170f1f7f900e101a58aea8bf800749591f0ae7e30fc99ceca3c0fe8ca5a82a65b83094aa1ad59576fe3ede29396b6d463dfd80be9aac3b9baee8be2e2bb750dd8b9af321e7c29cca4e3e16f7879519e739e1e23d90b625d5e8a44270e165f48c4708d7b58daa2f6c088bb3013826d6e5446565d04e3a4d3f061248c82d68df9463c9e9f9b140e5a1b8e0538b5b5eb120708fd66cc33b27d01ff9ba46be4baa8283e6dc431abef51c56791bc3b5122d2be6bc6c8ab7a7148864c22159518f56d6c7e20a5b155f58140d44f16740f80c038b9d498c60ca923a440afe0fe445")), message: message)
        }
        #expect(throws: TPMVerificationError.signatureInvalid(scheme: .rsapss, hash: .sha256)) {
            try area.verify(signature: .rsa(scheme: .rsapss, hash: .sha256, signature: hexBytes("7a594ec5271bce36ede738bc19e8838225fb4b650ffc826a213acee39b442da0411ad4214fb6eb6fb3e65a9a1e4f98cb07c2567bb9dd986d01b498a14ffe407a60665c2a0cd26e9ff3471f57c10445002936675c91092f538012baf7c6fe860e28646cf84876cdb548f1d41265aa6a2e828956c232a30e2731f3400207c4607bf17828799b7590ce9c578ee30cdf5d700285b48c367e192f6cd772271d5de58b92d6130cf0cdcc11e3b0399e10c3f55f84da90d670bab8c17e27dcde4f0bb8199de5c0ae41270efa0fb09e99b9f1174334d754d762bfe7e326ca0aa4665ac58d5935dd02bea0aba7bdae2ca3ada2d2a331bda55c589fc37437e198aa0e5d8f84")), message: message)
        }
    }

    @Test func unusablePublicAreasAreReported() throws {
        let bnCurve = TPMTPublic(
            nameAlg: .sha256, objectAttributes: [.signEncrypt], parameters: .ecc(TPMSECCParms(curve: .bnP256)),
            unique: .ecc(TPMSECCPoint(x: [1], y: [2])))
        #expect(throws: TPMVerificationError.unsupportedCurve(.bnP256)) { try TPMVerifyingKey(bnCurve) }
        let offCurve = TPMTPublic(
            nameAlg: .sha256, objectAttributes: [.signEncrypt], parameters: .ecc(TPMSECCParms(curve: .nistP256)),
            unique: .ecc(TPMSECCPoint(x: [1], y: [2])))
        #expect(throws: TPMVerificationError.self) { try TPMVerifyingKey(offCurve) }
        let keyedHash = TPMTPublic(
            nameAlg: .sha256, objectAttributes: [.signEncrypt], parameters: .keyedHash(.null), unique: .digest([]))
        #expect(throws: TPMVerificationError.unsupportedKeyType(.keyedHash)) { try TPMVerifyingKey(keyedHash) }
        let shortModulus = TPMTPublic(
            nameAlg: .sha256, objectAttributes: [.signEncrypt], parameters: .rsa(TPMSRSAParms(keyBits: 2048)),
            unique: .rsa([UInt8](repeating: 0xC1, count: 255)))
        #expect(throws: TPMVerificationError.invalidPublicKey("the modulus has 2040 bits but keyBits is 2048")) {
            try TPMVerifyingKey(shortModulus)
        }
    }

    /// An exponent of 0 in TPMS_RSA_PARMS means 65537 (Part 2 §12.2.3.5): the Windows AK says 0
    /// and its PEM says 65537.
    @Test func zeroExponentMeans65537() throws {
        let area = try TPMTPublic(tpmBytes: TestData.bytes("gce-windows-shielded-vm-quote/ak.tpmt_public.bin"))
        guard case let .rsa(parms) = area.parameters else { throw TPMVerificationError.unsupportedKeyType(area.type) }
        #expect(parms.exponent == 0)
        let key = try #require(_RSA.Signing.PublicKey(try TPMVerifyingKey(area).certificatePublicKey))
        #expect(try key.getKeyPrimitives().publicExponent == Data([0x01, 0x00, 0x01]))
    }
}
