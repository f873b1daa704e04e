/// Computes policy digests without a TPM, the way a trial session would (TPM 2.0 Part 3 §23):
/// each assertion extends `digest` as the command's "policyDigest update" says. The engine's
/// policy sessions use the same functions, so a policy computed here matches what a TPM
/// enforces.
public struct PolicyDigest: Hashable, Sendable {
    public let hash: TPMHashAlgorithm
    public private(set) var digest: [UInt8]

    public init(_ hash: TPMHashAlgorithm) {
        self.hash = hash
        self.digest = hash.zeroDigest
    }

    public init(_ hash: TPMHashAlgorithm, digest: [UInt8]) {
        self.hash = hash
        self.digest = digest
    }

    private mutating func extend(_ parts: [UInt8]...) {
        digest = hash.hash(parts: [digest] + parts)
    }

    /// The PolicyUpdate of Part 3 §23.2.3: extend with the command code and `arg2`, then again
    /// with `arg3` (the policyRef).
    private mutating func update(_ command: TPMCommandCode, _ arg2: [UInt8], _ arg3: [UInt8]) {
        extend(command.tpmBytes, arg2)
        extend(arg3)
    }

    /// TPM2_PolicyPCR (Part 3 §23.7): H(digest || TPM_CC_PolicyPCR || pcrs || pcrDigest).
    public mutating func policyPCR(selection: TPMLPCRSelection, pcrDigest: [UInt8]) {
        extend(TPMCommandCode.policyPCR.tpmBytes, selection.tpmBytes, pcrDigest)
    }

    /// PolicyPCR over given PCR values: pcrDigest is H(values in selection order).
    public mutating func policyPCR(selection: TPMLPCRSelection, values: [[UInt8]]) {
        policyPCR(selection: selection, pcrDigest: hash.hash(parts: values))
    }

    /// TPM2_PolicyAuthValue (Part 3 §23.17) and TPM2_PolicyPassword (§23.18) extend the same way.
    public mutating func policyAuthValue() { extend(TPMCommandCode.policyAuthValue.tpmBytes) }

    /// TPM2_PolicyCommandCode (Part 3 §23.11).
    public mutating func policyCommandCode(_ code: TPMCommandCode) {
        extend(TPMCommandCode.policyCommandCode.tpmBytes, code.tpmBytes)
    }

    /// TPM2_PolicyOR (Part 3 §23.6): the digest is reset, then extended with the branches.
    public mutating func policyOR(_ branches: [[UInt8]]) {
        digest = hash.zeroDigest
        extend(TPMCommandCode.policyOR.tpmBytes, branches.flatMap { $0 })
    }

    /// TPM2_PolicyAuthorize (Part 3 §23.16): the digest is reset, then
    /// PolicyUpdate(TPM_CC_PolicyAuthorize, keySign (a Name), policyRef).
    public mutating func policyAuthorize(keyName: [UInt8], policyRef: [UInt8] = []) {
        digest = hash.zeroDigest
        update(.policyAuthorize, keyName, policyRef)
    }

    /// TPM2_PolicySecret (Part 3 §23.4): PolicyUpdate(TPM_CC_PolicySecret, authObject Name, policyRef).
    public mutating func policySecret(authName: [UInt8], policyRef: [UInt8] = []) {
        update(.policySecret, authName, policyRef)
    }

    /// TPM2_PolicySigned (Part 3 §23.3): PolicyUpdate(TPM_CC_PolicySigned, authObject Name, policyRef).
    public mutating func policySigned(keyName: [UInt8], policyRef: [UInt8] = []) {
        update(.policySigned, keyName, policyRef)
    }

    /// TPM2_PolicyNV (Part 3 §23.9): args = H(operandB || offset || operation), then
    /// H(digest || TPM_CC_PolicyNV || args || nvIndexName).
    public mutating func policyNV(operandB: [UInt8], offset: UInt16, operation: UInt16, indexName: [UInt8]) {
        var writer = TPMWriter()
        writer.bytes(operandB)
        writer.u16(offset)
        writer.u16(operation)
        extend(TPMCommandCode.policyNV.tpmBytes, hash.hash(writer.bytes), indexName)
    }

    /// TPM2_PolicyLocality (Part 3 §23.10).
    public mutating func policyLocality(_ locality: UInt8) {
        extend(TPMCommandCode.policyLocality.tpmBytes, [locality])
    }

    /// TPM2_PolicyCpHash (Part 3 §23.13).
    public mutating func policyCpHash(_ cpHash: [UInt8]) {
        extend(TPMCommandCode.policyCpHash.tpmBytes, cpHash)
    }

    /// TPM2_PolicyNameHash (Part 3 §23.14).
    public mutating func policyNameHash(_ nameHash: [UInt8]) {
        extend(TPMCommandCode.policyNameHash.tpmBytes, nameHash)
    }

    /// TPM2_PolicyNvWritten (Part 3 §23.20).
    public mutating func policyNvWritten(_ written: Bool) {
        extend(TPMCommandCode.policyNvWritten.tpmBytes, [written ? 1 : 0])
    }

    /// The aHash that TPM2_PolicyAuthorize checks the signature over (Part 3 §23.16):
    /// H_signer(approvedPolicy || policyRef).
    public static func authorizationDigest(approvedPolicy: [UInt8], policyRef: [UInt8], signingHash: TPMHashAlgorithm) -> [UInt8] {
        signingHash.hash(approvedPolicy, policyRef)
    }
}
