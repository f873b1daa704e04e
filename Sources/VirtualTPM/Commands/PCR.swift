import TPM2

/// PCR commands (TPM 2.0 Part 3 §22) with the PC Client PCR attributes (PC Client PTP
/// §4.6.2 Table 3): PCRs 16 and 23 are resettable at any locality, 17-22 belong to DRTM.
extension TPMEngine {
    /// Localities allowed to extend a PCR.
    static func extendAllowed(_ index: Int, locality: UInt8) -> Bool {
        switch index {
        case 17, 18: return locality >= 2
        case 19, 20: return locality >= 1
        case 21, 22: return locality >= 2
        default: return true
        }
    }

    /// Localities allowed to reset a PCR with TPM2_PCR_Reset.
    static func resetAllowed(_ index: Int, locality: UInt8) -> Bool? {
        switch index {
        case 16, 23: return true
        case 17...22: return locality == 4 || (index >= 20 && locality >= 2)
        default: return nil
        }
    }

    /// Extends `digest` into PCR `index` of its bank: new = H(old || digest) (Part 1 §17.2).
    func extendPCR(_ index: Int, _ value: TPMTHA) {
        guard let old = pcrs[value.algorithm.id]?[index] else { return }
        pcrs[value.algorithm.id]![index] = value.algorithm.hash(old, value.digest)
    }

    private func pcrIndex(_ ctx: CommandContext, extending: Bool) throws(TPMResponseCode) -> Int? {
        let handle = ctx.handles[0]
        if handle == .null { return nil }
        guard handle.kind == .pcr, handle.rawValue < Self.pcrCount else { throw TPMResponseCode.value.handle(1) }
        let index = Int(handle.rawValue)
        if extending, !Self.extendAllowed(index, locality: ctx.locality) { throw TPMResponseCode.locality }
        return index
    }

    /// TPM2_PCR_Extend (Part 3 §22.2).
    func pcrExtend(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let digests = try ctx.read(.hash) { r throws(TPMMarshalError) in try TPMLDigestValues(from: &r) }
        try ctx.finishParameters()
        guard let index = try pcrIndex(ctx, extending: true) else { return }
        for value in digests.digests { extendPCR(index, value) }
        pcrUpdateCounter &+= 1
    }

    /// TPM2_PCR_Event (Part 3 §22.3): hashes the event with every bank and extends each.
    func pcrEvent(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let data = try ctx.sized("eventData", maximum: TPMLimits.maxEvent)
        try ctx.finishParameters()
        let index = try pcrIndex(ctx, extending: true)
        let digests = Self.banks.map { TPMTHA(algorithm: $0, digest: $0.hash(data)) }
        if let index {
            for value in digests { extendPCR(index, value) }
            pcrUpdateCounter &+= 1
        }
        ctx.out.write(TPMLDigestValues(digests))
    }

    /// TPM2_PCR_Read (Part 3 §22.4): at most eight digests per call; the returned selection
    /// says which were read.
    func pcrRead(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let selection = try ctx.read(.hash) { r throws(TPMMarshalError) in try TPMLPCRSelection(from: &r) }
        try ctx.finishParameters()
        let (selected, values) = readPCRs(selection, limit: TPMLimits.maxDigestList)
        ctx.out.u32(pcrUpdateCounter)
        ctx.out.write(selected)
        ctx.out.write(TPMLDigest(values))
    }

    /// The values of a selection in quote order (banks in list order, indices ascending), with
    /// the selection actually read.
    func readPCRs(_ selection: TPMLPCRSelection, limit: Int = .max) -> (TPMLPCRSelection, [[UInt8]]) {
        var values: [[UInt8]] = []
        var out: [TPMSPCRSelection] = []
        for item in selection.selections {
            var taken: [Int] = []
            if let bank = pcrs[item.hash] {
                for index in item.indices where index < Self.pcrCount && values.count < limit {
                    values.append(bank[index])
                    taken.append(index)
                }
            }
            out.append(TPMSPCRSelection(hash: item.hash, indices: taken, sizeofSelect: item.bitmap.count))
        }
        return (TPMLPCRSelection(out), values)
    }

    /// TPM2_PCR_Reset (Part 3 §22.8).
    func pcrReset(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        try ctx.finishParameters()
        guard let index = try pcrIndex(ctx, extending: false) else { return }
        guard let allowed = Self.resetAllowed(index, locality: ctx.locality) else { throw TPMResponseCode.locality }
        guard allowed else { throw TPMResponseCode.locality }
        for bank in Self.banks { pcrs[bank.id]?[index] = bank.zeroDigest }
        pcrUpdateCounter &+= 1
    }
}
