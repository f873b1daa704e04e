import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Fetches AMD's endorsement collateral from the Key Distribution Service (VCEK Certificate and
/// KDS Interface Specification, pub. 57230, "KDS Interface"): a chip's VCEK, a product's ASK/ARK or
/// ASVK/ARK chain, and its CRL.
///
/// Nothing in this library fetches on its own: verification uses only what the caller supplies,
/// and a caller that wants KDS creates a client. The base URL is configurable for mirrors, caches
/// and tests.
public struct KDSClient: Sendable {
    /// AMD's service.
    public static let amdBaseURL = URL(string: "https://kdsintf.amd.com")!

    /// The service root, without a trailing slash.
    public let baseURL: URL
    private let session: URLSession

    /// A client of the service at `baseURL`.
    public init(baseURL: URL = KDSClient.amdBaseURL, session: URLSession = .shared) {
        self.baseURL = baseURL
        self.session = session
    }

    /// `/vcek/v1/{product}/{hwid}?blSPL=…&teeSPL=…&snpSPL=…&ucodeSPL=…`: the VCEK for a chip at a TCB.
    /// hwid is CHIP_ID in lower-case hex — its first 8 bytes on Turin, where `fmcSPL` leads the
    /// query — and each SPL is two decimal digits at least, as AMD's `snpguest` writes them.
    public func vcekURL(product: SNPProduct, chipID: [UInt8], tcb: TCBComponents) throws(SNPError) -> URL {
        let hwid = product == .turin ? chipID.prefix(8) : chipID[...]
        let hex = hwid.map { String(format: "%02x", $0) }.joined()
        var parameters = [("blSPL", tcb.bootloader), ("teeSPL", tcb.tee), ("snpSPL", tcb.snp), ("ucodeSPL", tcb.microcode)]
        if product == .turin {
            guard let fmc = tcb.fmc else { throw .kdsRequestInvalid(reason: "a Turin VCEK request needs the FMC SPL") }
            parameters.insert(("fmcSPL", fmc), at: 0)
        }
        let query = parameters.map { "\($0)=\(String(format: "%02d", $1))" }.joined(separator: "&")
        return try self.url("vcek/v1/\(product.rawValue)/\(hex)?\(query)")
    }

    /// `/vcek/v1/{product}/cert_chain` (ASK then ARK) or `/vlek/v1/{product}/cert_chain` (ASVK then ARK).
    public func certificateChainURL(product: SNPProduct, signingKey: SNPSigningKey = .vcek) throws(SNPError) -> URL {
        try self.url("\(try Self.keyPath(signingKey))/v1/\(product.rawValue)/cert_chain")
    }

    /// `/vcek/v1/{product}/crl` (or `/vlek/…`): the ARK's revocation list.
    public func revocationListURL(product: SNPProduct, signingKey: SNPSigningKey = .vcek) throws(SNPError) -> URL {
        try self.url("\(try Self.keyPath(signingKey))/v1/\(product.rawValue)/crl")
    }

    /// The VCEK (DER) that signs `report`'s chip at its REPORTED_TCB.
    public func vcek(for report: SNPReport, product: SNPProduct? = nil) async throws(SNPError) -> AMDCertificate {
        guard let resolved = product ?? report.product else { throw .productRequired }
        let url = try self.vcekURL(product: resolved, chipID: report.chipID, tcb: try report.components(of: report.reportedTCB, product: resolved))
        return try AMDCertificate(derEncoded: try await self.get(url), role: "VCEK")
    }

    /// The intermediate (ASK or ASVK) and ARK, in the order KDS serves them (PEM).
    public func certificateChain(product: SNPProduct, signingKey: SNPSigningKey = .vcek) async throws(SNPError) -> [AMDCertificate] {
        let bytes = try await self.get(try self.certificateChainURL(product: product, signingKey: signingKey))
        return try AMDCertificate.certificates(derOrPEM: bytes, role: "\(product.rawValue) cert_chain")
    }

    /// The product's CRL (DER).
    public func revocationList(product: SNPProduct, signingKey: SNPSigningKey = .vcek) async throws(SNPError) -> AMDRevocationList {
        try AMDRevocationList(derOrPEM: try await self.get(try self.revocationListURL(product: product, signingKey: signingKey)))
    }

    private static func keyPath(_ key: SNPSigningKey) throws(SNPError) -> String {
        switch key {
        case .vcek: return "vcek"
        case .vlek: return "vlek"
        case .none: throw .kdsRequestInvalid(reason: "an unsigned report has no endorsement key to fetch")
        }
    }

    private func url(_ path: String) throws(SNPError) -> URL {
        let base = self.baseURL.absoluteString.hasSuffix("/") ? String(self.baseURL.absoluteString.dropLast()) : self.baseURL.absoluteString
        guard let url = URL(string: "\(base)/\(path)") else { throw .kdsRequestInvalid(reason: "\(base)/\(path) is not a URL") }
        return url
    }

    /// The body of a successful GET.
    private func get(_ url: URL) async throws(SNPError) -> [UInt8] {
        let data: Data, response: URLResponse
        do {
            (data, response) = try await self.session.data(from: url)
        } catch {
            throw .kdsFetchFailed(url: url.absoluteString, reason: error.localizedDescription)
        }
        guard let status = (response as? HTTPURLResponse)?.statusCode, status == 200 else {
            let status = (response as? HTTPURLResponse)?.statusCode
            throw .kdsFetchFailed(url: url.absoluteString, reason: "the server answered HTTP \(status.map(String.init) ?? "without a status")")
        }
        return Array(data)
    }
}
