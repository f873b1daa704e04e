import Foundation
import TPM2
import X509

/// The shared TPM test data (/work/shared/testdata/tpm): the package root is three levels up
/// from this file, the data is beside it in ../shared/testdata/tpm.
enum TestData {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/testdata/tpm").standardizedFileURL

    static func bytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: root.appendingPathComponent(path)))
    }

    static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    static func json(_ folder: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent(folder + "/case.json"))) as! [String: Any]
    }

    static func certificate(_ path: String) throws -> Certificate {
        path.hasSuffix(".pem")
            ? try TPMCertificateChainVerifier.certificate(pem: text(path))
            : try TPMCertificateChainVerifier.certificate(der: bytes(path))
    }

    /// Every TPMS_ATTEST, TPMT_SIGNATURE, TPMT_PUBLIC and TPMS_CREATION_DATA file, by suffix.
    static func structureFiles(suffix: String) throws -> [String] {
        let folders = try FileManager.default.contentsOfDirectory(atPath: root.path).sorted()
        return try folders.flatMap { folder in
            let path = root.appendingPathComponent(folder).path
            guard (try? FileManager.default.contentsOfDirectory(atPath: path)) != nil else { return [String]() }
            return try FileManager.default.contentsOfDirectory(atPath: path).sorted()
                .filter { $0.hasSuffix(suffix) }.map { folder + "/" + $0 }
        }
    }
}

/// How a case gives its attestation key.
enum KeySource: Sendable {
    case area(String)
    case pem(String)
    case certificate(String)
}

/// One real quote from the test data with everything its case.json says about it.
struct QuoteCase: Sendable, CustomStringConvertible {
    let name: String
    let attestPath: String
    let signature: TPMTSignature
    let key: KeySource
    let nonce: [UInt8]
    let pcrValues: TPMPCRValues
    let expectedPCRDigest: [UInt8]

    var description: String { name }

    var attest: [UInt8] { get throws { try TestData.bytes(attestPath) } }

    /// A verifier for the case's AK.
    func verifier() throws -> QuoteVerifier {
        switch key {
        case let .area(path): try QuoteVerifier(attestationKey: TPMTPublic(tpmBytes: TestData.bytes(path)))
        case let .pem(path): QuoteVerifier(attestationKey: try TPMVerifyingKey(pemRepresentation: TestData.text(path)))
        case let .certificate(path): QuoteVerifier(attestationKey: try TPMVerifyingKey(TestData.certificate(path).publicKey))
        }
    }

    /// The AK's key, whichever way the case gives it.
    func verifyingKey() throws -> TPMVerifyingKey { try verifier().key }

    static let all: [QuoteCase] = (try? load()) ?? []

    static func load() throws -> [QuoteCase] {
        var cases: [QuoteCase] = []
        for folder in ["azure-snp-cvm-genoa-trustee-evidence", "azure-snp-cvm-trustee-evidence-v0", "azure-snp-cvm-trustee-evidence-v1",
                       "azure-snp-cvm-trustee-evidence-v2", "azure-snp-cvm-trustee-tpm-quote-v1", "azure-tdx-cvm-trustee"] {
            cases.append(try azure(folder, pem: "hcl_ak_pub.pem"))
        }
        cases.append(try azure("azure-snp-cvm-vtpm-quote-kinvolk", pem: "ak_pub.pem"))
        cases.append(try tpmtSignatureCase("cmc-quote-vector", key: .certificate("cmc-quote-vector/ak_cert.pem"), bank: .sha256, valuesKey: "pcr_values_sha256"))
        cases.append(try tpmtSignatureCase("trustee-tpm-evidence", key: .pem("trustee-tpm-evidence/ak_pub.pem"), bank: .sha256, valuesKey: "pcr_values_sha256"))
        cases.append(try tpmtSignatureCase("keylime-checkquote-vector", key: .pem("keylime-checkquote-vector/ak_pub.pem"), bank: .sha256, valuesKey: nil))
        let windows = "gce-windows-shielded-vm-quote"
        cases.append(try QuoteCase(
            name: windows, attestPath: windows + "/quote_sha1.tpms_attest.bin",
            signature: TPMTSignature(tpmBytes: TestData.bytes(windows + "/quote_sha1.tpmt_signature.bin")),
            key: .area(windows + "/ak.tpmt_public.bin"), nonce: [],
            pcrValues: [.sha1: pcrs(TestData.json(windows)["pcr_values_sha1"])],
            expectedPCRDigest: hexBytes(((TestData.json(windows)["quote"] as! [String: Any])["pcrDigest"] as! String))))
        let gce = "gce-cos85-attestation"
        for attestation in try TestData.json(gce)["attestations"] as! [[String: Any]] {
            for quote in attestation["quotes"] as! [[String: Any]] {
                let file = quote["attest"] as! String
                cases.append(try QuoteCase(
                    name: gce + "/" + file, attestPath: gce + "/" + file,
                    signature: TPMTSignature(tpmBytes: TestData.bytes(gce + "/" + (quote["signature"] as! String))),
                    key: .area(gce + "/ak.tpmt_public.bin"), nonce: hexBytes(attestation["nonce_hex"] as! String),
                    pcrValues: [TPMAlgorithmID(name: quote["bank"] as! String)!: pcrs(quote["pcr_values"])],
                    expectedPCRDigest: hexBytes(quote["pcrDigest"] as! String)))
            }
        }
        return cases
    }

    private static func azure(_ folder: String, pem: String) throws -> QuoteCase {
        let json = try TestData.json(folder)
        return QuoteCase(
            name: folder, attestPath: folder + "/quote.tpms_attest.bin",
            signature: .azureRSASSA(try TestData.bytes(folder + "/quote.sig.raw_rsa2048.bin")),
            key: .pem(folder + "/" + pem), nonce: hexBytes(json["nonce_hex"] as! String),
            pcrValues: [.sha256: pcrs(json["pcr_values_sha256"])], expectedPCRDigest: hexBytes(json["pcrDigest"] as! String))
    }

    private static func tpmtSignatureCase(_ folder: String, key: KeySource, bank: TPMAlgorithmID, valuesKey: String?) throws -> QuoteCase {
        let json = try TestData.json(folder)
        let values = valuesKey.map { json[$0] } ?? (json["pcr_values"] as! [String: Any])["sha256"]
        return QuoteCase(
            name: folder, attestPath: folder + "/quote.tpms_attest.bin",
            signature: try TPMTSignature(tpmBytes: TestData.bytes(folder + "/quote.tpmt_signature.bin")),
            key: key, nonce: hexBytes(json["nonce_hex"] as! String),
            pcrValues: [bank: pcrs(values)],
            expectedPCRDigest: hexBytes((json["quote"] as! [String: Any])["pcrDigest"] as! String))
    }

    private static func pcrs(_ json: Any?) -> [Int: [UInt8]] {
        Dictionary(uniqueKeysWithValues: (json as! [String: String]).map { (Int($0.key)!, hexBytes($0.value)) })
    }
}

func hexBytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.utf8)
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
}

/// The typed error `body` throws, or nil when it succeeds.
func verificationError<T>(_ body: () throws(TPMVerificationError) -> T) -> TPMVerificationError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}
