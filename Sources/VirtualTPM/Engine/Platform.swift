import TPM2

/// Platform-side signals a TPM receives outside the command stream (TPM 2.0 Part 1 §34.3:
/// the H-CRTM sequence `_TPM_Hash_Start`/`_Data`/`_End`), as the simulator and swtpm control
/// channels deliver them.
extension TPMEngine {
    /// _TPM_Hash_Start: begins measuring the H-CRTM.
    public func hashStart() {
        lock.withLock { hcrtmHashers = Self.banks.map { TPMHasher($0) } }
    }

    /// _TPM_Hash_Data.
    public func hashData(_ data: [UInt8]) {
        lock.withLock {
            guard var hashers = hcrtmHashers else { return }
            for i in hashers.indices { hashers[i].update(data) }
            hcrtmHashers = hashers
        }
    }

    /// _TPM_Hash_End: PCR 0 of every bank becomes H(0...04 || digest of the H-CRTM), the
    /// locality-4 start value (PC Client PFP §3.3.2), and TPM_Startup will keep it.
    public func hashEnd() {
        lock.withLock {
            guard let hashers = hcrtmHashers else { return }
            hcrtmHashers = nil
            if pcrs.isEmpty { resetPCRs(locality: 0) }
            for hasher in hashers {
                let bank = hasher.algorithm
                var start = bank.zeroDigest
                start[bank.digestSize - 1] = 4
                pcrs[bank.id]?[0] = bank.hash(start, hasher.finalize())
            }
            hcrtmDone = true
            tpmEstablished = true
        }
    }
}
