import Crypto
import Foundation
import GuestAttestation
import TPM2
import TPMClient
import TestSupport
import Testing
import VirtualTPM

/// Passes command frames to the engine, except that it can answer
/// TPM2_GetCapability(TPM_PT_NV_BUFFER_MAX) with a smaller buffer than the engine's (as a real
/// TPM with 1024 or 512 would), records the size each TPM2_NV_Read asks for, counts quotes and
/// can extend PCR 16 right after the first quote (a measurement landing mid-collection).
final class InterceptingTransport: TPMTransport, @unchecked Sendable {
    let inner: EngineTransport
    var nvBufferMax: UInt32?
    var extendAfterFirstQuote = false
    private(set) var nvReadSizes: [Int] = []
    private(set) var quotes = 0

    init(_ inner: EngineTransport) {
        self.inner = inner
    }

    static func u32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) } }

    func send(_ command: [UInt8]) throws(TPMClientError) -> [UInt8] {
        let code = Self.u32(command, at: 6)
        // TPM2_GetCapability (0x17A) of TPM_CAP_TPM_PROPERTIES (6) from TPM_PT_NV_BUFFER_MAX (0x12C).
        if code == 0x17A, let nvBufferMax, Self.u32(command, at: 10) == 6, Self.u32(command, at: 14) == 0x12C {
            let parameters = [0] + Self.bigEndian(6) + Self.bigEndian(1) + Self.bigEndian(0x12C) + Self.bigEndian(nvBufferMax)
            return [0x80, 0x01] + Self.bigEndian(UInt32(10 + parameters.count)) + Self.bigEndian(0) + parameters
        }
        // TPM2_NV_Read (0x14E): two handles, the authorization area, then size and offset.
        if code == 0x14E {
            let sizeAt = 22 + Int(Self.u32(command, at: 18))
            nvReadSizes.append(Int(command[sizeAt]) << 8 | Int(command[sizeAt + 1]))
        }
        let response = try inner.send(command)
        if code == 0x158 {
            quotes += 1
            if extendAfterFirstQuote, quotes == 1 {
                try TPM2Client(transport: inner).pcrExtend(pcr: 16, digests: TPMLDigestValues([TPMTHA(algorithm: .sha256, digest: [UInt8](repeating: 0x16, count: 32))]))
            }
        }
        return response
    }
}

@Suite("TPM evidence through TPMClient")
struct GuestTPMTests {
    static let nonce = Array("tpm quote nonce".utf8)

    @Test("The real Azure HCL report comes back byte for byte, in chunks of TPM_PT_NV_BUFFER_MAX")
    func hclReportChunks() throws {
        var interceptor: InterceptingTransport!
        let (_, client) = try startedTPM { interceptor = InterceptingTransport($0); return interceptor }
        let report = try TestData.azureHCLReport
        try defineHCLIndex(client, report: report)
        interceptor.nvBufferMax = 1000
        #expect(try GuestTPM(client: client).readNV(GuestTPM.azureHCLReportIndex) == report)
        #expect(interceptor.nvReadSizes == [1000, 1000, 48])
        interceptor.nvBufferMax = nil
        #expect(try GuestTPM(client: client).readNV(GuestTPM.azureHCLReportIndex) == report)
        #expect(interceptor.nvReadSizes.suffix(1) == [2048])
    }

    @Test("An owner-read index is read with owner authorization, a policy-read one is refused, a missing one is TPM_RC_HANDLE")
    func authorizations() throws {
        let (_, client) = try startedTPM()
        let report = Array(try TestData.azureHCLReport.prefix(300))
        try defineHCLIndex(client, report: report, attributes: [.ppWrite, .ownerRead, .noDA, .platformCreate])
        #expect(try GuestTPM(client: client).readNV(GuestTPM.azureHCLReportIndex) == report)

        let policyIndex = TPMHandle(0x0140_0002)
        let area = TPMSNVPublic(nvIndex: policyIndex, nameAlg: .sha256, attributes: [.ppWrite, .policyRead, .platformCreate],
                                authPolicy: [UInt8](repeating: 1, count: 32), dataSize: 8)
        try client.nvDefineSpace(authHandle: .platform, publicInfo: area)
        #expect(throws: GuestAttestationError.unavailable("NV index 0x1400002 can be read only under a policy")) {
            try GuestTPM(client: client).readNV(policyIndex)
        }
        let missing = try #require(thrownError { try GuestTPM(client: client).readNV(TPMHandle(0x0140_0003)) })
        guard case let .tpm(error) = missing else { Issue.record("\(missing)"); return }
        #expect(error.responseCode?.base == .handle)
    }

    @Test("Without Azure's AK a created ECC key quotes; the quote verifies against the PCR values collected with it")
    func quoteWithCreatedKey() throws {
        let (_, client) = try startedTPM()
        try client.pcrExtend(pcr: 7, digests: TPMLDigestValues([TPMTHA(algorithm: .sha256, digest: Array(SHA256.hash(data: Data("pcr 7".utf8))))]))
        let evidence = try GuestTPM(client: client).quote(qualifyingData: Self.nonce, pcrs: [0, 7, 16])
        #expect(evidence.persistentKey == nil)
        let key = try TPMTPublic(tpmBytes: evidence.keyPublic)
        #expect(key.type == .ecc && key.objectAttributes.contains(.restricted))
        let verified = try QuoteVerifier(attestationKey: key).verifyQuote(
            evidence.attest, signature: try TPMTSignature(tpmBytes: evidence.signature), nonce: Self.nonce, pcrValues: [.sha256: evidence.pcrValues])
        #expect(verified.pcrSelection.selections.flatMap(\.indices) == [0, 7, 16])
        #expect(evidence.pcrValues[0] == [UInt8](repeating: 0, count: 32))
        #expect(evidence.pcrValues[7] != [UInt8](repeating: 0, count: 32))
        // The created key was flushed: only the engine's own objects remain.
        #expect(try client.tpmProperty(.hrTransientAvail) == (try client.tpmProperty(.hrTransientMin)))
    }

    @Test("Azure's persistent AK at 0x81000003 is used when it is a restricted signing key, ignored otherwise")
    func persistentKey() throws {
        let (_, client) = try startedTPM()
        let rsaAK = TPMTPublic(
            nameAlg: .sha256, objectAttributes: [.fixedTPM, .fixedParent, .sensitiveDataOrigin, .userWithAuth, .noDA, .restricted, .signEncrypt],
            parameters: .rsa(TPMSRSAParms(symmetric: .null, scheme: TPMTScheme(.rsassa, hash: .sha256), keyBits: 2048, exponent: 0)),
            unique: .rsa([]))
        let ak = try client.createPrimary(hierarchy: .endorsement, template: rsaAK)
        try client.evictControl(object: ak.handle, persistentHandle: GuestTPM.azureAttestationKey)
        let evidence = try GuestTPM(client: client).quote(qualifyingData: Self.nonce, pcrs: Array(0..<24))
        #expect(evidence.persistentKey == GuestTPM.azureAttestationKey)
        #expect(try TPMTPublic(tpmBytes: evidence.keyPublic) == ak.publicArea)
        _ = try QuoteVerifier(attestationKey: ak.publicArea).verifyQuote(
            evidence.attest, signature: try TPMTSignature(tpmBytes: evidence.signature), nonce: Self.nonce, pcrValues: [.sha256: evidence.pcrValues])
        #expect(evidence.pcrValues.count == 24)

        try client.evictControl(object: GuestTPM.azureAttestationKey, persistentHandle: GuestTPM.azureAttestationKey)
        let storage = try client.createPrimary(hierarchy: .owner, template: .eccStorageParent)
        try client.evictControl(object: storage.handle, persistentHandle: GuestTPM.azureAttestationKey)
        #expect(try GuestTPM(client: client).quote(qualifyingData: Self.nonce, pcrs: [0]).persistentKey == nil)
    }

    @Test("A PCR extended during the quote makes the collector quote again")
    func pcrChangedDuringQuote() throws {
        var interceptor: InterceptingTransport!
        let (_, client) = try startedTPM { interceptor = InterceptingTransport($0); return interceptor }
        interceptor.extendAfterFirstQuote = true
        let evidence = try GuestTPM(client: client).quote(qualifyingData: Self.nonce, pcrs: [16])
        #expect(interceptor.quotes == 2)
        let key = try TPMTPublic(tpmBytes: evidence.keyPublic)
        _ = try QuoteVerifier(attestationKey: key).verifyQuote(
            evidence.attest, signature: try TPMTSignature(tpmBytes: evidence.signature), nonce: Self.nonce, pcrValues: [.sha256: evidence.pcrValues])
        #expect(evidence.pcrValues[16] != [UInt8](repeating: 0, count: 32))
    }

    @Test("Out-of-range arguments are refused before the TPM is asked")
    func arguments() throws {
        let (_, client) = try startedTPM()
        #expect(throws: GuestAttestationError.invalidArgument("qualifying data takes at most 64 bytes, not 65")) {
            try GuestTPM(client: client).quote(qualifyingData: [UInt8](repeating: 0, count: 65), pcrs: [0])
        }
        #expect(throws: GuestAttestationError.invalidArgument("PCR indices must be 0-23")) {
            try GuestTPM(client: client).quote(qualifyingData: Self.nonce, pcrs: [24])
        }
    }
}
