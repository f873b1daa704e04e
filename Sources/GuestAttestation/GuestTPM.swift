import TPM2
import TPMClient

/// A TPM2_Quote over SHA-256 PCRs with the key that signed it and the PCR values it covers.
public struct TPMQuoteEvidence: Sendable, Hashable {
    /// Where the attestation key came from: the persistent handle it was found at, or nil for a
    /// key created for this quote.
    public var persistentKey: TPMHandle?
    /// The attestation key's TPMT_PUBLIC (TPM 2.0 Part 2 §12.2.4), marshaled.
    public var keyPublic: [UInt8]
    /// The TPMS_ATTEST the key signed (Part 2 §10.12.12), marshaled as the TPM returned it.
    public var attest: [UInt8]
    /// The TPMT_SIGNATURE over `attest` (Part 2 §11.3.4), marshaled.
    public var signature: [UInt8]
    /// The quoted PCR values of the SHA-256 bank, by index; read before and after the quote and
    /// equal both times, so they are the values the quote's pcrDigest covers.
    public var pcrValues: [Int: [UInt8]]
}

/// The evidence a guest's TPM provides: NV reads (the Azure HCL report) and quotes.
public struct GuestTPM: Sendable {
    /// The NV index where Azure's paravisor keeps the HCL attestation report.
    public static let azureHCLReportIndex = TPMHandle(0x0140_0001)
    /// Where Azure provisions its vTPM attestation key.
    public static let azureAttestationKey = TPMHandle(0x8100_0003)

    public let client: TPM2Client

    public init(client: TPM2Client) {
        self.client = client
    }

    /// The whole contents of the NV index `index`: TPM2_NV_ReadPublic for its size and read
    /// authorization (Part 2 §13.4 TPMA_NV: the index's own empty authValue when AUTHREAD is set,
    /// else the owner's, else the platform's), then TPM2_NV_Read in chunks no larger than the
    /// TPM's TPM_PT_NV_BUFFER_MAX.
    public func readNV(_ index: TPMHandle) throws(GuestAttestationError) -> [UInt8] {
        let area = try command { () throws(TPMClientError) in try client.nvReadPublic(index) }
        let authorization: TPMHandle
        if area.attributes.contains(.authRead) {
            authorization = index
        } else if area.attributes.contains(.ownerRead) {
            authorization = .owner
        } else if area.attributes.contains(.ppRead) {
            authorization = .platform
        } else {
            throw .unavailable("NV index \(index) can be read only under a policy")
        }
        let bufferMax = try command { () throws(TPMClientError) in try client.tpmProperty(.nvBufferMax) }
        let chunk = Int(min(bufferMax, UInt32(TPMLimits.maxNVBuffer)))
        guard chunk > 0 else { throw .malformed(structure: "TPM_PT_NV_BUFFER_MAX", reason: "the TPM reports 0") }
        var data: [UInt8] = []
        data.reserveCapacity(Int(area.dataSize))
        while data.count < Int(area.dataSize) {
            let size = min(chunk, Int(area.dataSize) - data.count)
            let part = try command { () throws(TPMClientError) in
                try client.nvRead(index: index, size: UInt16(size), offset: UInt16(data.count), authHandle: authorization)
            }
            guard part.count == size else {
                throw .malformed(structure: "TPM2_NV_Read of \(index)", reason: "\(part.count) bytes at offset \(data.count), not \(size)")
            }
            data += part
        }
        return data
    }

    /// A quote of the SHA-256 bank's `pcrs` with `qualifyingData` (at most 64 bytes), signed by
    /// the attestation key at ``azureAttestationKey`` when that handle holds a restricted signing
    /// key, otherwise by an ECC P-256 restricted signing key created in the owner hierarchy for
    /// this quote and flushed afterwards. The PCRs are read before and after the quote; if an
    /// extend came between, everything is done again (three attempts).
    public func quote(qualifyingData: [UInt8], pcrs: [Int]) throws(GuestAttestationError) -> TPMQuoteEvidence {
        guard qualifyingData.count <= 64 else { throw .invalidArgument("qualifying data takes at most 64 bytes, not \(qualifyingData.count)") }
        guard !pcrs.isEmpty, pcrs.allSatisfy({ (0..<24).contains($0) }) else { throw .invalidArgument("PCR indices must be 0-23") }
        let selection = TPMLPCRSelection([TPMSPCRSelection(hash: .sha256, indices: pcrs)])
        let (key, persistent) = try command { () throws(TPMClientError) in try attestationKey() }
        defer { if persistent == nil { try? client.flushContext(key.handle) } }
        for _ in 0..<3 {
            let before = try pcrValues(pcrs)
            let result = try command { () throws(TPMClientError) in try client.quote(key: key.handle, qualifyingData: qualifyingData, selection: selection) }
            guard try pcrValues(pcrs) == before else { continue }
            return TPMQuoteEvidence(
                persistentKey: persistent, keyPublic: key.publicArea.tpmBytes, attest: result.attest,
                signature: result.signature.tpmBytes, pcrValues: before)
        }
        throw .unavailable("the PCRs changed during each of three quotes")
    }

    /// Runs TPM commands, reporting their failures as this library's errors.
    private func command<T>(_ body: () throws(TPMClientError) -> T) throws(GuestAttestationError) -> T {
        do {
            return try body()
        } catch {
            throw .tpm(error)
        }
    }

    /// Azure's persistent attestation key if present and a restricted signing key, else a new one.
    private func attestationKey() throws(TPMClientError) -> (TPMLoadedObject, persistent: TPMHandle?) {
        do {
            let key = try client.readPublic(Self.azureAttestationKey)
            if key.publicArea.objectAttributes.isSuperset(of: [.restricted, .signEncrypt]) {
                return (key, Self.azureAttestationKey)
            }
        } catch where error.responseCode?.base == .handle {}
        return (try client.createPrimary(hierarchy: .owner, template: .eccAttestationKey), nil)
    }

    /// The SHA-256 values of `pcrs`, in as many TPM2_PCR_Read calls as the TPM needs (it may
    /// return fewer PCRs than selected, Part 3 §22.4).
    private func pcrValues(_ pcrs: [Int]) throws(GuestAttestationError) -> [Int: [UInt8]] {
        var values: [Int: [UInt8]] = [:]
        var remaining = Set(pcrs)
        while !remaining.isEmpty {
            let result = try command { () throws(TPMClientError) in
                try client.pcrRead(TPMLPCRSelection([TPMSPCRSelection(hash: .sha256, indices: remaining)]))
            }
            let returned = result.selection.selections.filter { $0.hash == .sha256 }.flatMap(\.indices)
            guard !returned.isEmpty, returned.count == result.digests.count, Set(returned).isSubset(of: remaining) else {
                throw .malformed(structure: "TPM2_PCR_Read response", reason: "PCRs \(returned) with \(result.digests.count) digests for a request of \(remaining.sorted())")
            }
            for (index, digest) in zip(returned, result.digests) { values[index] = digest }
            remaining.subtract(returned)
        }
        return values
    }
}
