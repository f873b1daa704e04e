import Foundation
import Testing
import TPM2

/// Every real quote in the shared test data, verified and then tampered with (TPM 2.0 Part 3
/// §18.4 TPM2_Quote; the expected values come from each case.json).
@Suite struct QuoteVerifierTests {
    @Test func everyCaseLoads() throws {
        #expect(try QuoteCase.load().count == 17)
    }

    @Test(arguments: QuoteCase.all)
    func realQuoteVerifies(_ quote: QuoteCase) throws {
        let verified = try quote.verifier().verifyQuote(
            quote.attest, signature: quote.signature, nonce: quote.nonce, pcrValues: quote.pcrValues)
        #expect(verified.attest.extraData == quote.nonce)
        guard case let .quote(_, pcrDigest) = verified.attest.attested else {
            Issue.record("not a quote")
            return
        }
        #expect(pcrDigest == quote.expectedPCRDigest)
        #expect(verified.pcrValues == quote.pcrValues)
        try verified.appraise(expected: quote.pcrValues)
    }

    @Test(arguments: QuoteCase.all)
    func everyFlippedAttestByteFails(_ quote: QuoteCase) throws {
        let verifier = try quote.verifier()
        let original = try quote.attest
        for index in original.indices {
            for mask: UInt8 in [0x01, 0x80, 0xFF] {
                var tampered = original
                tampered[index] ^= mask
                #expect(throws: TPMVerificationError.self) {
                    try verifier.verifyQuote(tampered, signature: quote.signature, nonce: quote.nonce, pcrValues: quote.pcrValues)
                }
                switch verificationError({ () throws(TPMVerificationError) in try verifier.verifySignedAttestation(tampered, signature: quote.signature) }) {
                case .malformed, .badMagic, .signatureInvalid: break
                case nil: Issue.record("byte \(index) ^ \(mask) was accepted")
                case let error?: Issue.record("byte \(index) ^ \(mask): unexpected \(error)")
                }
            }
        }
    }

    @Test(arguments: QuoteCase.all)
    func everyFlippedSignatureByteFails(_ quote: QuoteCase) throws {
        let verifier = try quote.verifier()
        let attest = try quote.attest
        guard case let .rsa(scheme, hash, signature) = quote.signature else {
            Issue.record("every real quote here is RSA-signed")
            return
        }
        for index in signature.indices {
            var tampered = signature
            tampered[index] ^= 0x01
            #expect(throws: TPMVerificationError.signatureInvalid(scheme: scheme, hash: hash)) {
                try verifier.verifySignedAttestation(attest, signature: .rsa(scheme: scheme, hash: hash, signature: tampered))
            }
        }
        #expect(throws: TPMVerificationError.malformedSignature("the RSA signature has 255 bytes; the modulus has 256")) {
            try verifier.verifySignedAttestation(attest, signature: .rsa(scheme: scheme, hash: hash, signature: Array(signature.dropLast())))
        }
    }

    @Test(arguments: QuoteCase.all)
    func wrongNonceFails(_ quote: QuoteCase) throws {
        let wrong = quote.nonce + [0x00]
        #expect(throws: TPMVerificationError.nonceMismatch(expected: wrong, actual: quote.nonce)) {
            try quote.verifier().verifyQuote(quote.attest, signature: quote.signature, nonce: wrong, pcrValues: quote.pcrValues)
        }
    }

    @Test(arguments: QuoteCase.all)
    func wrongPCRValueFails(_ quote: QuoteCase) throws {
        let verifier = try quote.verifier()
        let (bank, values) = quote.pcrValues.first!
        let index = values.keys.min()!
        var changed = quote.pcrValues
        changed[bank]![index]![0] ^= 0x01
        let attest = try quote.attest
        let error = verificationError { () throws(TPMVerificationError) in
            try verifier.verifyQuote(attest, signature: quote.signature, nonce: quote.nonce, pcrValues: changed)
        }
        guard case let .pcrDigestMismatch(quoted, computed) = error else {
            Issue.record("a changed PCR value gave \(String(describing: error))")
            return
        }
        #expect(quoted == quote.expectedPCRDigest)
        #expect(computed != quoted)
        var missing = quote.pcrValues
        missing[bank]![index] = nil
        #expect(throws: TPMVerificationError.missingPCRValue(bank: bank, index: index)) {
            try verifier.verifyQuote(quote.attest, signature: quote.signature, nonce: quote.nonce, pcrValues: missing)
        }
        var short = quote.pcrValues
        short[bank]![index]!.removeLast()
        let size = values[index]!.count
        #expect(throws: TPMVerificationError.pcrValueSize(bank: bank, index: index, size: size - 1, expected: size)) {
            try verifier.verifyQuote(quote.attest, signature: quote.signature, nonce: quote.nonce, pcrValues: short)
        }
    }

    @Test(arguments: QuoteCase.all)
    func appraisalComparesReferenceValues(_ quote: QuoteCase) throws {
        let verified = try quote.verifier().verifyQuote(
            quote.attest, signature: quote.signature, nonce: quote.nonce, pcrValues: quote.pcrValues)
        let (bank, values) = quote.pcrValues.first!
        let index = values.keys.max()!
        var reference = values[index]!
        reference[0] ^= 0xFF
        #expect(throws: TPMVerificationError.pcrValueMismatch(bank: bank, index: index, expected: reference, actual: values[index]!)) {
            try verified.appraise(expected: [bank: [index: reference]])
        }
        #expect(throws: TPMVerificationError.missingPCRValue(bank: bank, index: 24)) {
            try verified.appraise(expected: [bank: [24: reference]])
        }
    }

    /// Each quote against the next case's AK (skipping cases that share the AK) fails.
    @Test(arguments: QuoteCase.all.indices)
    func swappedAttestationKeyFails(_ index: Int) throws {
        let quote = QuoteCase.all[index]
        let ownKey = try quote.verifyingKey().certificatePublicKey
        let other = try QuoteCase.all.indices.map { QuoteCase.all[($0 + index + 1) % QuoteCase.all.count] }
            .first { try $0.verifyingKey().certificatePublicKey != ownKey }!
        let verifier = try other.verifier()
        let attest = try quote.attest
        switch verificationError({ () throws(TPMVerificationError) in
            try verifier.verifyQuote(attest, signature: quote.signature, nonce: quote.nonce, pcrValues: quote.pcrValues)
        }) {
        case .signatureInvalid: break
        case let .schemeNotAllowedByKey(_, keyHash, _, hash): #expect(keyHash != hash)
        case nil: Issue.record("\(quote) verified with the AK of \(other)")
        case let error?: Issue.record("unexpected \(error)")
        }
    }

    @Test func badMagicIsReported() throws {
        let quote = QuoteCase.all[0]
        var tampered = try quote.attest
        tampered[0] = 0x00
        #expect(throws: TPMVerificationError.badMagic(0x0054_4347)) {
            try QuoteVerifier.parse(tampered)
        }
    }

    @Test func truncatedAndExtendedAttestationsAreMalformed() throws {
        let attest = try QuoteCase.all[0].attest
        #expect(throws: TPMVerificationError.malformed(.truncated(field: "TPMS_ATTEST.magic", offset: 0, needed: 4, available: 2))) {
            try QuoteVerifier.parse(Array(attest.prefix(2)))
        }
        #expect(throws: TPMVerificationError.malformed(.trailingBytes(count: 1, offset: attest.count))) {
            try QuoteVerifier.parse(attest + [0])
        }
    }

    @Test func unsupportedSchemesAndKeyMismatchesAreReported() throws {
        let quote = QuoteCase.all[0]
        let verifier = try quote.verifier()
        let attest = try quote.attest
        #expect(throws: TPMVerificationError.unsupportedScheme(.null)) {
            try verifier.verifySignedAttestation(attest, signature: .null)
        }
        #expect(throws: TPMVerificationError.unsupportedHash(.sm3_256)) {
            try verifier.verifySignedAttestation(attest, signature: .rsa(scheme: .rsassa, hash: .sm3_256, signature: [UInt8](repeating: 1, count: 256)))
        }
        #expect(throws: TPMVerificationError.wrongKeyType(scheme: .ecdsa, keyType: .rsa)) {
            try verifier.verifySignedAttestation(attest, signature: .ecc(scheme: .ecdsa, hash: .sha256, r: [1], s: [1]))
        }
        #expect(throws: TPMVerificationError.unsupportedScheme(.ecdaa)) {
            try verifier.verifySignedAttestation(attest, signature: .ecc(scheme: .ecdaa, hash: .sha256, r: [1], s: [1]))
        }
    }

    /// The Windows AK only signs RSASSA/SHA-1 (its TPMT_PUBLIC scheme); a SHA-256 signature is
    /// refused before any RSA arithmetic.
    @Test func keySchemeRestrictionIsEnforced() throws {
        let quote = QuoteCase.all.first { $0.name == "gce-windows-shielded-vm-quote" }!
        guard case let .rsa(_, _, signature) = quote.signature else { throw TPMVerificationError.unsupportedScheme(.null) }
        #expect(throws: TPMVerificationError.schemeNotAllowedByKey(keyScheme: .rsassa, keyHash: .sha1, scheme: .rsassa, hash: .sha256)) {
            try quote.verifier().verifySignedAttestation(quote.attest, signature: .rsa(scheme: .rsassa, hash: .sha256, signature: signature))
        }
        #expect(throws: TPMVerificationError.schemeNotAllowedByKey(keyScheme: .rsassa, keyHash: .sha1, scheme: .rsapss, hash: .sha1)) {
            try quote.verifier().verifySignedAttestation(quote.attest, signature: .rsa(scheme: .rsapss, hash: .sha1, signature: signature))
        }
    }

    @Test func unrestrictedKeyIsRefused() throws {
        var area = try TPMTPublic(tpmBytes: TestData.bytes("gce-windows-shielded-vm-quote/ak.tpmt_public.bin"))
        area.objectAttributes.remove(.restricted)
        #expect(throws: TPMVerificationError.notRestrictedSigningKey(attributes: 0x40472)) {
            try QuoteVerifier(attestationKey: area)
        }
    }

    /// The GCE and Windows AKs come as TPMT_PUBLIC and as PEM; both forms give the same key, and
    /// the GCE AK certificate certifies that key (case.json: public_key_equals_ak_public).
    @Test(arguments: ["gce-cos85-attestation", "gce-windows-shielded-vm-quote"])
    func tpmtPublicAndPEMAgree(_ folder: String) throws {
        let area = try TPMTPublic(tpmBytes: TestData.bytes(folder + "/ak.tpmt_public.bin"))
        let fromArea = try TPMVerifyingKey(area).certificatePublicKey
        #expect(fromArea == (try TPMVerifyingKey(pemRepresentation: TestData.text(folder + "/ak_pub.pem")).certificatePublicKey))
        if folder == "gce-cos85-attestation" {
            #expect(fromArea == (try TestData.certificate(folder + "/ak_cert.der").publicKey))
        }
    }

    @Test func spkiDERMatchesPEM() throws {
        let der = try TPMVerifyingKey(spkiDER: TestData.bytes("trustee-tpm-evidence/ak_pub.spki.der"))
        let pem = try TPMVerifyingKey(pemRepresentation: TestData.text("trustee-tpm-evidence/ak_pub.pem"))
        #expect(der.certificatePublicKey == pem.certificatePublicKey)
    }
}
