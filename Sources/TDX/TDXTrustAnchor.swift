import Crypto
import SwiftASN1
import X509

/// A root that PCK and TCB signing chains may end at (Intel SGX PCK Certificate and CRL Profile
/// Specification, §3.1 "Intel SGX Root CA Certificate").
///
/// ``intel`` is Intel's genuine SGX Root CA and the only root ``TDXVerifier`` trusts by default;
/// any other anchor (a test's synthetic root) is trusted only when a caller passes it in, and
/// every verified quote names the anchor it chained to.
public struct TDXTrustAnchor: Sendable, Hashable {
    /// How verified quotes name this root, e.g. "Intel SGX Root CA".
    public let name: String
    /// The self-signed root certificate.
    public let root: Certificate
    /// The root certificate's DER encoding, which a chain's root must equal byte for byte.
    public let rootDER: [UInt8]

    /// Creates an anchor from the DER of a self-signed CA certificate.
    public init(name: String, derEncodedRoot: [UInt8]) throws(TDXError) {
        let root = try CertificateChecks.decode(derEncodedRoot, role: "root CA")
        try CertificateChecks.requireIssued(root, by: root)
        self.name = name
        self.root = root
        self.rootDER = derEncodedRoot
    }

    /// SHA-256 of ``rootDER``, the fingerprint Intel publishes for its root.
    public var fingerprint: [UInt8] {
        Array(SHA256.hash(data: self.rootDER))
    }

    /// Intel SGX Root CA: the root of every genuine PCK and TCB signing chain.
    public static let intel: TDXTrustAnchor = {
        do {
            let document = try PEMDocument(pemString: IntelRootCA.pem)
            return try TDXTrustAnchor(name: "Intel SGX Root CA", derEncodedRoot: document.derBytes)
        } catch {
            fatalError("the embedded Intel SGX Root CA is invalid: \(error)")
        }
    }()
}

/// Intel SGX Root CA as Intel publishes it at
/// `https://certificates.trustedservices.intel.com/Intel_SGX_Provisioning_Certification_RootCA.pem`
/// (P-256, valid 2018-05-21 to 2049-12-31). Its SHA-256 fingerprint is
/// 44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3, which the tests check; it is
/// also the root of the PCK chain in every genuine quote.
enum IntelRootCA {
    static let pem = """
    -----BEGIN CERTIFICATE-----
    MIICjzCCAjSgAwIBAgIUImUM1lqdNInzg7SVUr9QGzknBqwwCgYIKoZIzj0EAwIw
    aDEaMBgGA1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENv
    cnBvcmF0aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJ
    BgNVBAYTAlVTMB4XDTE4MDUyMTEwNDUxMFoXDTQ5MTIzMTIzNTk1OVowaDEaMBgG
    A1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENvcnBvcmF0
    aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJBgNVBAYT
    AlVTMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEC6nEwMDIYZOj/iPWsCzaEKi7
    1OiOSLRFhWGjbnBVJfVnkY4u3IjkDYYL0MxO4mqsyYjlBalTVYxFP2sJBK5zlKOB
    uzCBuDAfBgNVHSMEGDAWgBQiZQzWWp00ifODtJVSv1AbOScGrDBSBgNVHR8ESzBJ
    MEegRaBDhkFodHRwczovL2NlcnRpZmljYXRlcy50cnVzdGVkc2VydmljZXMuaW50
    ZWwuY29tL0ludGVsU0dYUm9vdENBLmRlcjAdBgNVHQ4EFgQUImUM1lqdNInzg7SV
    Ur9QGzknBqwwDgYDVR0PAQH/BAQDAgEGMBIGA1UdEwEB/wQIMAYBAf8CAQEwCgYI
    KoZIzj0EAwIDSQAwRgIhAOW/5QkR+S9CiSDcNoowLuPRLsWGf/Yi7GSX94BgwTwg
    AiEA4J0lrHoMs+Xo5o/sX6O9QWxHRAvZUGOdRQ7cvqRXaqI=
    -----END CERTIFICATE-----
    """
}
