/// Supplied PCR values, per bank and PCR index, that a quote's pcrDigest is checked against
/// (TPM 2.0 Part 3 §18.4 TPM2_Quote).
public typealias TPMPCRValues = [TPMAlgorithmID: [Int: [UInt8]]]

/// Verifies what an attestation key signed (TPM 2.0 Part 3 §18 Attestation Commands) in three
/// steps: `parse` (strict TPMS_ATTEST unmarshaling, Part 2 §10.12.12), signature verification
/// over the exact signed bytes, then the checks of each attestation kind (nonce, pcrDigest,
/// object Name, creationHash). Only the verifier creates the `Verified*` results.
public struct QuoteVerifier: Sendable {
    /// The attestation key.
    public let key: TPMVerifyingKey
    /// The key's public area when known; its scheme restriction is enforced.
    public let keyArea: TPMTPublic?

    /// A verifier for an AK given as a TPMT_PUBLIC. The key must be a restricted signing key
    /// (Part 2 §8.3.3.1): only such a key refuses to sign data that starts with
    /// TPM_GENERATED_VALUE, so only its attestations are the TPM's.
    public init(attestationKey area: TPMTPublic) throws(TPMVerificationError) {
        guard area.objectAttributes.isSuperset(of: [.restricted, .signEncrypt]), !area.objectAttributes.contains(.decrypt) else {
            throw .notRestrictedSigningKey(attributes: area.objectAttributes.rawValue)
        }
        key = try TPMVerifyingKey(area)
        keyArea = area
    }

    /// A verifier for an AK known only by its key (a PEM from an HCL report or a certificate);
    /// the caller vouches that it is a restricted signing key.
    public init(attestationKey key: TPMVerifyingKey) {
        self.key = key
        keyArea = nil
    }

    /// Step 1: parses TPMS_ATTEST strictly; the whole input must be one structure.
    public static func parse(_ bytes: [UInt8]) throws(TPMVerificationError) -> TPMSAttest {
        if bytes.count >= 4 {
            let magic = bytes[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            guard magic == TPMSAttest.generatedMagic else { throw .badMagic(magic) }
        }
        do { return try TPMSAttest(tpmBytes: bytes) } catch { throw .malformed(error) }
    }

    /// Steps 1 and 2: parses the attestation and verifies the signature over exactly `bytes`.
    public func verifySignedAttestation(_ bytes: [UInt8], signature: TPMTSignature) throws(TPMVerificationError) -> TPMSAttest {
        let attest = try Self.parse(bytes)
        if let keyArea { try keyArea.checkSchemeAllows(signature) }
        try key.verify(signature: signature, message: bytes)
        return attest
    }

    /// Verifies a TPM2_Quote (Part 3 §18.4): an attestQuote signed by the AK whose extraData is
    /// `nonce` and whose pcrDigest is H_sig(the selected PCR values, banks in selection order,
    /// indices ascending), H_sig being the signature's hash.
    public func verifyQuote(
        _ bytes: [UInt8], signature: TPMTSignature, nonce: [UInt8], pcrValues: TPMPCRValues
    ) throws(TPMVerificationError) -> VerifiedQuote {
        let attest = try verifySignedAttestation(bytes, signature: signature)
        guard case let .quote(selection, pcrDigest) = attest.attested else {
            throw .wrongAttestationType(expected: .attestQuote, actual: attest.attested.tag)
        }
        try Self.checkNonce(attest, nonce)
        guard let hash = TPMHashAlgorithm(signature.hashAlg) else { throw .unsupportedHash(signature.hashAlg) }
        var hasher = TPMHasher(hash)
        var quoted: TPMPCRValues = [:]
        for bank in selection.selections {
            guard let bankHash = TPMHashAlgorithm(bank.hash) else { throw .unsupportedHash(bank.hash) }
            for index in bank.indices {
                guard let value = pcrValues[bank.hash]?[index] else { throw .missingPCRValue(bank: bank.hash, index: index) }
                guard value.count == bankHash.digestSize else {
                    throw .pcrValueSize(bank: bank.hash, index: index, size: value.count, expected: bankHash.digestSize)
                }
                hasher.update(value)
                quoted[bank.hash, default: [:]][index] = value
            }
        }
        let computed = hasher.finalize()
        guard constantTimeEqual(computed, pcrDigest) else { throw .pcrDigestMismatch(quoted: pcrDigest, computed: computed) }
        return VerifiedQuote(attest: attest, pcrSelection: selection, pcrValues: quoted, signerName: keyArea?.name)
    }

    /// Verifies a creation attestation (TPM2_CertifyCreation, Part 3 §18.3): an attestCreation
    /// signed by this key whose objectName is the Name of `object` and whose creationHash is
    /// H_nameAlg(creationData) with the object's nameAlg.
    public func verifyCreation(
        _ bytes: [UInt8], signature: TPMTSignature, object: TPMTPublic, creationData: [UInt8], nonce: [UInt8]
    ) throws(TPMVerificationError) -> VerifiedCreation {
        let attest = try verifySignedAttestation(bytes, signature: signature)
        guard case let .creation(objectName, creationHash) = attest.attested else {
            throw .wrongAttestationType(expected: .attestCreation, actual: attest.attested.tag)
        }
        try Self.checkNonce(attest, nonce)
        let name = try Self.checkName(objectName, of: object)
        let parsedData: TPMSCreationData
        do { parsedData = try TPMSCreationData(tpmBytes: creationData) } catch { throw .malformed(error) }
        guard let nameHash = TPMHashAlgorithm(object.nameAlg) else { throw .unsupportedHash(object.nameAlg) }
        let expected = nameHash.hash(creationData)
        guard constantTimeEqual(expected, creationHash) else { throw .creationHashMismatch(expected: expected, actual: creationHash) }
        return VerifiedCreation(attest: attest, object: object, objectName: name, creationData: parsedData)
    }

    /// Verifies a TPM2_Certify attestation (Part 3 §18.2): an attestCertify signed by this key
    /// whose certified Name is the Name of `object`.
    public func verifyCertify(
        _ bytes: [UInt8], signature: TPMTSignature, object: TPMTPublic, nonce: [UInt8]
    ) throws(TPMVerificationError) -> VerifiedCertification {
        let attest = try verifySignedAttestation(bytes, signature: signature)
        guard case let .certify(name, _) = attest.attested else {
            throw .wrongAttestationType(expected: .attestCertify, actual: attest.attested.tag)
        }
        try Self.checkNonce(attest, nonce)
        return VerifiedCertification(attest: attest, object: object, objectName: try Self.checkName(name, of: object))
    }

    private static func checkNonce(_ attest: TPMSAttest, _ nonce: [UInt8]) throws(TPMVerificationError) {
        guard constantTimeEqual(attest.extraData, nonce) else { throw .nonceMismatch(expected: nonce, actual: attest.extraData) }
    }

    /// The object's Name, which must equal `attested`.
    private static func checkName(_ attested: [UInt8], of object: TPMTPublic) throws(TPMVerificationError) -> [UInt8] {
        guard let name = object.name else { throw .unsupportedHash(object.nameAlg) }
        guard constantTimeEqual(name, attested) else { throw .objectNameMismatch(expected: name, actual: attested) }
        return name
    }
}

/// A TPM2_Quote whose signature, nonce and pcrDigest verified (Part 3 §18.4). The PCR values are
/// the ones the quote covers; `appraise` compares them with reference values.
public struct VerifiedQuote: Hashable, Sendable {
    /// The signed TPMS_ATTEST.
    public let attest: TPMSAttest
    /// The quoted PCR selection.
    public let pcrSelection: TPMLPCRSelection
    /// The values of the quoted PCRs, per bank and index.
    public let pcrValues: TPMPCRValues
    /// The AK's Name when the verifier had its public area.
    public let signerName: [UInt8]?

    init(attest: TPMSAttest, pcrSelection: TPMLPCRSelection, pcrValues: TPMPCRValues, signerName: [UInt8]?) {
        self.attest = attest
        self.pcrSelection = pcrSelection
        self.pcrValues = pcrValues
        self.signerName = signerName
    }

    /// Step 3: checks every reference value against the quoted PCRs; a reference for a PCR the
    /// quote does not cover fails as missing.
    public func appraise(expected: TPMPCRValues) throws(TPMVerificationError) {
        for (bank, values) in expected.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            for (index, value) in values.sorted(by: { $0.key < $1.key }) {
                guard let actual = pcrValues[bank]?[index] else { throw .missingPCRValue(bank: bank, index: index) }
                guard actual == value else { throw .pcrValueMismatch(bank: bank, index: index, expected: value, actual: actual) }
            }
        }
    }
}

/// A creation attestation that verified (Part 3 §18.3 TPM2_CertifyCreation): the object's Name
/// and its creation data are what the signing key attested.
public struct VerifiedCreation: Hashable, Sendable {
    /// The signed TPMS_ATTEST.
    public let attest: TPMSAttest
    /// The created object's public area.
    public let object: TPMTPublic
    /// Its Name, as attested.
    public let objectName: [UInt8]
    /// The creation data whose hash was attested.
    public let creationData: TPMSCreationData

    init(attest: TPMSAttest, object: TPMTPublic, objectName: [UInt8], creationData: TPMSCreationData) {
        self.attest = attest
        self.object = object
        self.objectName = objectName
        self.creationData = creationData
    }
}

/// A TPM2_Certify attestation that verified (Part 3 §18.2): the signing key vouches that
/// `object` is loaded in the same TPM.
public struct VerifiedCertification: Hashable, Sendable {
    /// The signed TPMS_ATTEST.
    public let attest: TPMSAttest
    /// The certified object's public area.
    public let object: TPMTPublic
    /// Its Name, as attested.
    public let objectName: [UInt8]

    init(attest: TPMSAttest, object: TPMTPublic, objectName: [UInt8]) {
        self.attest = attest
        self.object = object
        self.objectName = objectName
    }
}
