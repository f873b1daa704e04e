import Foundation
import TPM2

/// Start-up, self test, random numbers, capabilities and clock (TPM 2.0 Part 3 §9, §10, §16,
/// §29, §30).
extension TPMEngine {
    /// TPM2_Startup (Part 3 §9.3): CLEAR after Shutdown(STATE) is a TPM Restart, otherwise a
    /// TPM Reset; STATE after Shutdown(STATE) is a TPM Resume.
    func startup(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let type = try ctx.u16("startupType")
        try ctx.finishParameters()
        guard type <= 1 else { throw ctx.parameterError(.value) }
        let orderly = nv.orderlyShutdown
        if type == 1 {
            guard orderly == 1, let saved = nv.savedPCRs else { throw TPMResponseCode.value.parameter(1) }
            nv.restartCount += 1
            pcrs = Dictionary(uniqueKeysWithValues: saved.map { (TPMAlgorithmID($0.key), $0.value) })
        } else {
            let hcrtmPCR0 = hcrtmDone ? pcrs.mapValues { $0[0] } : [:]
            resetPCRs(locality: ctx.locality)
            for (bank, value) in hcrtmPCR0 { pcrs[bank]?[0] = value }
            if orderly == 1 {
                nv.restartCount += 1
            } else {
                nv.resetCount += 1
                nv.restartCount = 0
                nullSeed = SystemRandom.bytes(64)
                contextKey = SystemRandom.bytes(32)
                objects = objects.filter { $0.value.persistentHandle != nil }
                sessions.removeAll()
            }
            phEnable = true
            shEnable = true
            ehEnable = true
            phEnableNV = true
            platformAuth = []
            platformPolicy = PolicyValue()
            clearSTClearNV()
        }
        if nullSeed.isEmpty {
            nullSeed = SystemRandom.bytes(64)
            contextKey = SystemRandom.bytes(32)
        }
        nv.orderlyShutdown = nil
        nv.savedPCRs = nil
        started = true
        try commitNV()
    }

    /// PCRs at TPM Reset: zero, except PCR 0 which records the start-up locality in its last
    /// byte (PC Client PFP §3.3.2) and the DRTM PCRs 17-22, which hold all ones until a
    /// dynamic launch (PC Client PTP §4.6.2).
    func resetPCRs(locality: UInt8) {
        pcrs = [:]
        for bank in Self.banks {
            var values = [[UInt8]](repeating: bank.zeroDigest, count: Self.pcrCount)
            for index in 17...22 { values[index] = [UInt8](repeating: 0xFF, count: bank.digestSize) }
            if locality == 3 || locality == 4 { values[0][bank.digestSize - 1] = locality }
            pcrs[bank.id] = values
        }
        pcrUpdateCounter = 0
    }

    /// NV indices with clearSTClear lose their write lock, and readSTClear their read lock, at
    /// TPM Reset and Restart (Part 2 §13.4).
    private func clearSTClearNV() {
        for (handle, var index) in nv.nvIndices {
            var pub = index.nvPublic
            if pub.attributes.contains(.writeSTClear) || !pub.attributes.contains(.writeDefine) { pub.attributes.remove(.writeLocked) }
            if pub.attributes.contains(.readSTClear) { pub.attributes.remove(.readLocked) }
            index.nvPublic = pub
            nv.nvIndices[handle] = index
        }
    }

    /// TPM2_Shutdown (Part 3 §9.4): STATE saves the PCRs for a later Resume.
    func shutdown(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let type = try ctx.u16("shutdownType")
        try ctx.finishParameters()
        guard type <= 1 else { throw ctx.parameterError(.value) }
        nv.orderlyShutdown = type
        nv.savedPCRs = type == 1 ? Dictionary(uniqueKeysWithValues: pcrs.map { ($0.key.rawValue, $0.value) }) : nil
        try commitNV()
    }

    /// TPM2_SelfTest (Part 3 §10.2): the algorithms are tested at start; nothing is pending.
    func selfTest(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let full = try ctx.u8("fullTest")
        try ctx.finishParameters()
        guard full <= 1 else { throw ctx.parameterError(.value) }
    }

    /// TPM2_IncrementalSelfTest (Part 3 §10.3): returns the empty list of algorithms still to test.
    func incrementalSelfTest(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let list = try ctx.read(.selector) { r throws(TPMMarshalError) in
            try r.list("TPML_ALG", maximum: 128) { r2 throws(TPMMarshalError) in try TPMAlgorithmID(from: &r2) }
        }
        try ctx.finishParameters()
        for alg in list where Self.algorithmProperties[alg] == nil { throw TPMResponseCode.value.parameter(1) }
        ctx.out.u32(0)
    }

    /// TPM2_GetTestResult (Part 3 §10.4).
    func getTestResult(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        try ctx.finishParameters()
        ctx.out.sized([UInt8]())
        ctx.out.u32(TPMResponseCode.success.rawValue)
    }

    /// TPM2_GetRandom (Part 3 §16.1): at most one digest's worth per call.
    func getRandom(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let requested = Int(try ctx.u16("bytesRequested"))
        try ctx.finishParameters()
        ctx.out.sized(SystemRandom.bytes(min(requested, TPMLimits.maxDigest)))
    }

    /// TPM2_StirRandom (Part 3 §16.2): the system RNG needs no stirring; the input is checked
    /// and discarded.
    func stirRandom(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        _ = try ctx.sized("inData", maximum: 128)
        try ctx.finishParameters()
    }

    /// TPM2_ReadClock (Part 3 §29.1).
    func readClock(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        try ctx.finishParameters()
        ctx.out.u64(currentTime)
        ctx.out.write(clockInfo)
    }

    var clockInfo: TPMSClockInfo {
        TPMSClockInfo(clock: currentClock, resetCount: nv.resetCount, restartCount: nv.restartCount, safe: true)
    }

    /// The firmware version this vTPM reports (TPM_PT_FIRMWARE_VERSION_1/2).
    static let firmwareVersion: UInt64 = 0x0001_0000_0000_0000

    /// TPM2_TestParms (Part 3 §10.5 of Part 3 §30.2): accepts a TPMT_PUBLIC_PARMS this TPM supports.
    func testParms(_ ctx: inout CommandContext) throws(TPMResponseCode) {
        let parms = try ctx.read(.type) { r throws(TPMMarshalError) in
            let start = r.offset
            let type = try TPMAlgorithmID(from: &r)
            return try TPMUPublicParms(type: type, from: &r, at: start)
        }
        try ctx.finishParameters()
        try checkSupported(parms)
    }

    /// Refuses parameters this engine cannot honour, with the code Part 3 names.
    func checkSupported(_ parms: TPMUPublicParms) throws(TPMResponseCode) {
        if let sym = parms.symmetric, sym.algorithm != .null {
            guard sym.algorithm == .aes, [128, 192, 256].contains(sym.keyBits), sym.mode == .cfb else { throw TPMResponseCode.symmetric }
        }
        switch parms {
        case let .rsa(p):
            guard [1024, 2048, 3072, 4096].contains(p.keyBits) else { throw TPMResponseCode.keySize }
            if p.scheme.scheme != .null, p.scheme.scheme != .rsaes { guard TPMHashAlgorithm(p.scheme.hashAlg) != nil else { throw TPMResponseCode.hash } }
        case let .ecc(p):
            guard ECCKey.nid(p.curve) != nil else { throw TPMResponseCode.curve }
            guard [.null, .ecdsa, .ecdh].contains(p.scheme.scheme) else { throw TPMResponseCode.scheme }
            if p.scheme.scheme != .null { guard TPMHashAlgorithm(p.scheme.hashAlg) != nil else { throw TPMResponseCode.hash } }
            guard p.kdf.scheme == .null else { throw TPMResponseCode.kdf }
        case let .keyedHash(scheme):
            if scheme.scheme != .null { guard TPMHashAlgorithm(scheme.hashAlg) != nil else { throw TPMResponseCode.hash } }
        case .symCipher:
            break
        }
    }
}
