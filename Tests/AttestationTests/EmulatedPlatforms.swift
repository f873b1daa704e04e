import Attestation
import AzureCVM
import Crypto
import EventLog
import Foundation
import SEVSNP
import SwiftASN1
import TPM2
import TPMClient
import VirtualTPM
import X509

/// An emulated SEV-SNP guest: SEVSNP's emulated signer makes genuine-format reports whose
/// REPORT_DATA the guest fills through ``EvidenceBinding``, as the real guest agent does.
enum EmulatedSNPGuest {
    static let chain: EmulatedSNPChain = try! EmulatedSNPChain(product: .milan)
    static let measurement = [UInt8](repeating: 0x5A, count: 48)

    /// A bundle answering `nonce` with `runtimeKey` bound into REPORT_DATA.
    static func bundle(nonce: [UInt8], runtimeKey: RuntimeKey?, policy: UInt64 = 0x30000) throws -> EvidenceBundle {
        let report = try chain.signReport(EmulatedReportContents(
            reportData: try EvidenceBinding.reportData(nonce: nonce, runtimeKey: runtimeKey), measurement: measurement, policy: policy))
        return EvidenceBundle(nonce: nonce, runtimeKey: runtimeKey, evidence: .sevSNP(SNPEvidence(report: report, certificates: chain.certificates)))
    }

    static func verifier(allowEmulatedRoots: Bool = true) -> AttestationVerifier {
        AttestationVerifier(configuration: .init(emulatedSNPAnchors: [.emulated(chain)], allowEmulatedRoots: allowEmulatedRoots))
    }
}

/// An emulated vTPM guest: CVMKit's TPM engine with the PCRs a real GCE boot left (the events of
/// the GCE COS 85 event log extended one by one), a P-256 AK, and an emulated AK CA that
/// certified it. Its quotes carry ``EvidenceBinding``'s qualifying data.
final class EmulatedTPMGuest: Sendable {
    let client: TPM2Client
    let ak: TPMLoadedObject
    let caCertificate: Certificate
    let akCertificate: Certificate
    let eventLog: [UInt8]

    /// An RSA-2048 restricted signing key with RSASSA-SHA256: the kind of AK an Azure vTPM holds
    /// and its HCL report lists as "HCLAkPub" (TPM 2.0 Part 2 §8.3.3.1).
    static let azureAttestationKeyTemplate = TPMTPublic(
        nameAlg: .sha256,
        objectAttributes: [.fixedTPM, .fixedParent, .sensitiveDataOrigin, .userWithAuth, .noDA, .restricted, .signEncrypt],
        parameters: .rsa(TPMSRSAParms(symmetric: .null, scheme: TPMTScheme(.rsassa, hash: .sha256), keyBits: 2048, exponent: 0)),
        unique: .rsa([]))

    /// A guest whose AK is the P-256 key CVMKit's templates make, or Azure's RSA AK.
    init(attestationKeyTemplate: TPMTPublic = .eccAttestationKey) throws {
        let engine = try TPMEngine(mode: .ephemeral)
        self.client = TPM2Client(transport: EngineTransport(engine: engine))
        engine.powerOn()
        try self.client.startup(.clear)
        self.eventLog = try TestData.gceEventLog
        for event in try EventLog(bytes: self.eventLog).events where event.eventType != .noAction && event.pcrIndex <= 23 {
            let digests = event.digests.compactMap { digest in
                TPMHashAlgorithm(TPMAlgorithmID(digest.algorithm.rawValue)).map { TPMTHA(algorithm: $0, digest: digest.bytes) }
            }
            try self.client.pcrExtend(pcr: Int(event.pcrIndex), digests: TPMLDigestValues(digests))
        }
        self.ak = try self.client.createPrimary(hierarchy: .owner, template: attestationKeyTemplate)
        (self.caCertificate, self.akCertificate) = try Self.certificates(for: try TPMVerifyingKey(self.ak.publicArea).certificatePublicKey)
    }

    /// A self-signed emulated AK CA and the AK certificate it issues.
    static func certificates(for akKey: Certificate.PublicKey) throws -> (ca: Certificate, ak: Certificate) {
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("Emulated vTPM AK CA") }
        let now = Date()
        let ca = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(caKey.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 86400, issuer: caName, subject: caName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions { Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0)) },
            issuerPrivateKey: Certificate.PrivateKey(caKey))
        let ak = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: akKey,
            notValidBefore: now - 3600, notValidAfter: now + 86400, issuer: caName,
            subject: try DistinguishedName { CommonName("emulated vTPM AK") }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: Certificate.Extensions(), issuerPrivateKey: Certificate.PrivateKey(caKey))
        return (ca, ak)
    }

    /// A quote over SHA-256 PCRs 0-23 answering `nonce` with `runtimeKey`, as a bundle.
    func bundle(nonce: [UInt8], runtimeKey: RuntimeKey?) throws -> EvidenceBundle {
        EvidenceBundle(nonce: nonce, runtimeKey: runtimeKey, evidence: .tpm(TPMEvidence(
            attestationKey: self.ak.publicArea, akCertificates: [self.akCertificate], quote: try self.quote(nonce: nonce, runtimeKey: runtimeKey))))
    }

    /// The same quote as Azure evidence: an HCL report (AzureCVM's builder, SEVSNP's emulated
    /// Secure Processor) whose runtime claims hold this guest's RSA AK. `claimedKey` replaces the
    /// AK in the claims, to forge a report for another key.
    func azureBundle(nonce: [UInt8], runtimeKey: RuntimeKey?, claimedKey: TPMTPublic? = nil) throws -> EvidenceBundle {
        let claims = HCLRuntimeClaims(
            keys: [try HCLJSONWebKey(kid: HCLRuntimeClaims.attestationKeyID, keyOperations: ["sign"], tpmPublic: claimedKey ?? self.ak.publicArea)],
            vmConfiguration: HCLVMConfiguration(secureBoot: true, tpmEnabled: true))
        let builder = HCLReportBuilder(runtimeClaims: claims)
        let snp = try EmulatedSNPGuest.chain.signReport(EmulatedReportContents(reportData: try builder.reportData(), measurement: EmulatedSNPGuest.measurement))
        let report = try builder.build(hardwareReport: .snp(snp))
        return EvidenceBundle(nonce: nonce, runtimeKey: runtimeKey, evidence: .azureSEVSNPvTPM(AzureVTPMEvidence(
            hclReport: report.bytes, certificates: EmulatedSNPGuest.chain.certificates, quote: try self.quote(nonce: nonce, runtimeKey: runtimeKey))))
    }

    private func quote(nonce: [UInt8], runtimeKey: RuntimeKey?) throws -> TPMQuoteEvidence {
        let selection = TPMLPCRSelection([TPMSPCRSelection(hash: .sha256, indices: 0..<24)])
        let quote = try self.client.quote(
            key: self.ak.handle, qualifyingData: try EvidenceBinding.qualifyingData(nonce: nonce, runtimeKey: runtimeKey), selection: selection)
        var pcrs: [Int: [UInt8]] = [:]
        var remaining = Array(0..<24)
        while !remaining.isEmpty {
            let read = try self.client.pcrRead(TPMLPCRSelection([TPMSPCRSelection(hash: .sha256, indices: remaining)]))
            let indices = read.selection.selections.flatMap(\.indices)
            for (index, value) in zip(indices, read.digests) { pcrs[index] = value }
            remaining.removeAll(where: indices.contains)
        }
        return TPMQuoteEvidence(attest: quote.attest, signature: quote.signature, pcrs: [.sha256: pcrs], eventLog: self.eventLog)
    }

    func verifier(allowEmulatedRoots: Bool = true) -> AttestationVerifier {
        AttestationVerifier(configuration: .init(emulatedTPMRoots: [self.caCertificate], allowEmulatedRoots: allowEmulatedRoots))
    }
}

/// A fresh runtime key, as a guest generates one per request.
func newRuntimeKey() -> RuntimeKey {
    RuntimeKey(P256.KeyAgreement.PrivateKey().publicKey)
}

/// A fresh 32-byte nonce, as a verifier issues one.
func newNonce() -> [UInt8] {
    (0..<32).map { _ in UInt8.random(in: 0...255) }
}
