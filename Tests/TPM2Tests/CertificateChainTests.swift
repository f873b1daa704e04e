import Foundation
import Testing
import TPM2
import X509

/// Real GCE vTPM EK/AK certificates and the cmc AK certificate chain to their CAs (TCG EK
/// Credential Profile); the expected issuer of each comes from case.json.
@Suite struct CertificateChainTests {
    static let folder = "gce-ek-ak-certificates/"
    /// case.json: each certificate file and the file of its issuer.
    static let issuers: [String: String] = {
        let entries = ((try? TestData.json("gce-ek-ak-certificates"))?["certificates"] as? [[String: Any]]) ?? []
        return Dictionary(uniqueKeysWithValues: entries.map { ($0["file"] as! String, $0["issued_by_file"] as! String) })
    }()
    static let files = issuers.keys.sorted()

    static func gceVerifier() throws -> TPMCertificateChainVerifier {
        try TPMCertificateChainVerifier(
            roots: ["gcp_ek_ak_ca_root.der", "tpm_ek_root_1.der"].map { try TestData.certificate(folder + $0) },
            intermediates: ["gcp_ek_ak_ca_intermediate_v3.der", "tpm_ek_intermediate_2.der", "tpm_ek_intermediate_3.der"]
                .map { try TestData.certificate(folder + $0) })
    }

    /// The path case.json records: the file, its issued_by_file, and so on to a self-issued root.
    static func expectedPath(_ file: String) -> [String] {
        var path = [file]
        while let issuer = issuers[path[path.count - 1]], issuer != path.last {
            path.append(issuer)
        }
        return path
    }

    @Test func everyCertificateIsListed() {
        #expect(Self.files.count == 13)
    }

    @Test(arguments: files)
    func chainsToItsGoogleRoot(_ file: String) throws {
        let chain = try Self.gceVerifier().verify(TestData.certificate(Self.folder + file))
        let expected = try Self.expectedPath(file).map { try TestData.certificate(Self.folder + $0) }
        #expect(chain.certificates == expected)
        #expect(chain.root == expected.last)
    }

    @Test func cosAKCertificateChainsThroughIntermediate2() throws {
        let chain = try Self.gceVerifier().verify(TestData.certificate("gce-cos85-attestation/ak_cert.der"))
        #expect(chain.certificates.dropFirst() == [
            try TestData.certificate(Self.folder + "tpm_ek_intermediate_2.der"),
            try TestData.certificate(Self.folder + "tpm_ek_root_1.der"),
        ])
    }

    @Test func cmcAKCertificateChainsToItsCA() throws {
        let ca = try TestData.certificate("cmc-quote-vector/ak_ca_cert.pem")
        let chain = try TPMCertificateChainVerifier(roots: [ca]).verify(TestData.certificate("cmc-quote-vector/ak_cert.pem"))
        #expect(chain.certificates.count == 2)
        #expect(chain.root == ca)
    }

    /// The UCA leaves have an empty subject and an issuer CN over 64 characters; they parse.
    @Test func quirkyNamesParse() throws {
        let leaf = try TestData.certificate(Self.folder + "uca_tpm_rsa_sign_cert.pem")
        #expect(leaf.subject.isEmpty)
        let commonName = leaf.issuer.flatMap { $0 }.first { $0.type == .RDNAttributeType.commonName }
        #expect(try #require(commonName).value.description.count > 64)
    }

    @Test func wrongRootIsReported() throws {
        let leaf = try TestData.certificate(Self.folder + "pca_tpm_rsa_sign_cert.pem")
        let verifier = try TPMCertificateChainVerifier(
            roots: [TestData.certificate(Self.folder + "tpm_ek_root_1.der")],
            intermediates: [TestData.certificate(Self.folder + "gcp_ek_ak_ca_intermediate_v3.der")])
        let intermediate = try TestData.certificate(Self.folder + "gcp_ek_ak_ca_intermediate_v3.der")
        #expect(throws: TPMVerificationError.certificateIssuerNotFound(subject: intermediate.subject.description, issuer: intermediate.issuer.description)) {
            try verifier.verify(leaf)
        }
    }

    @Test func tamperedSignatureIsReported() throws {
        var der = try TestData.bytes("gce-cos85-attestation/ak_cert.der")
        der[der.count - 1] ^= 0x01
        let leaf = try TPMCertificateChainVerifier.certificate(der: der)
        #expect(throws: TPMVerificationError.certificateIssuerNotFound(subject: leaf.subject.description, issuer: leaf.issuer.description)) {
            try Self.gceVerifier().verify(leaf)
        }
    }

    @Test func validityIsCheckedWhenATimeIsGiven() throws {
        let leaf = try TestData.certificate(Self.folder + "pca_tpm_ecc_sign_cert.pem")
        #expect(throws: TPMVerificationError.certificateNotValidAtTime(subject: leaf.subject.description)) {
            try Self.gceVerifier().verify(leaf, at: Date(timeIntervalSince1970: 0))
        }
        let chain = try Self.gceVerifier().verify(leaf, at: leaf.notValidBefore.addingTimeInterval(86_400))
        #expect(chain.leaf == leaf)
    }

    @Test func malformedCertificateIsReported() {
        #expect(throws: TPMVerificationError.self) { try TPMCertificateChainVerifier.certificate(der: [0x30, 0x03, 0x02, 0x01]) }
    }

    /// The ECC AK certificate's key is a P-256 key our verifier accepts.
    @Test func eccCertificateKeyIsUsable() throws {
        let leaf = try TestData.certificate(Self.folder + "pca_tpm_ecc_sign_cert.pem")
        #expect(try TPMVerifyingKey(leaf.publicKey).type == .ecc)
    }
}
