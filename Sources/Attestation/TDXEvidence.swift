import TDX

/// `tdx` evidence: an Intel TDX DCAP quote, version 4 or 5 (Intel TDX DCAP Quoting Library API,
/// Appendix A.3), whose TD report REPORTDATA binds the nonce and runtime key; the CC event log
/// (CCEL, UEFI 2.10 §38) that explains its RTMRs; and optionally the collateral Intel's PCS serves
/// for the platform (docs/evidence.md, `tdx`).
public struct TDXEvidence: Sendable, Hashable {
    /// The quote, parsed strictly (the TDX library's ``TDXQuote``); its zero padding is kept so
    /// that the bundle re-encodes to the bytes it was read from.
    public var quote: TDXQuote
    /// The CCEL's event log (the ACPI CCEL table's data, `/sys/firmware/acpi/tables/data/CCEL`),
    /// if the TD sent one.
    public var eventLog: [UInt8]?
    /// Collateral for the quote's platform; when nil, only the verifier's own collateral (if
    /// configured) is used.
    public var collateral: TDXBundleCollateral?

    /// Creates `tdx` evidence.
    public init(quote: TDXQuote, eventLog: [UInt8]? = nil, collateral: TDXBundleCollateral? = nil) {
        self.quote = quote
        self.eventLog = eventLog
        self.collateral = collateral
    }

    /// The quote's bytes as the TD produced them: the quote and its trailing zero padding.
    var quoteBytes: [UInt8] {
        self.quote.encoded() + [UInt8](repeating: 0, count: self.quote.trailingZeroPadding)
    }
}

/// TDX collateral as a `tdx` bundle carries it: each document exactly as Intel's PCS (or a PCCS)
/// served it, under the names of Intel's `sgx_ql_qve_collateral_t` (Intel TDX DCAP Quote
/// Verification Library API) — TCB Info and QE Identity are signed over their exact JSON text,
/// so the bytes are kept — and the TDX library's ``TDXCollateral`` parsed from them.
public struct TDXBundleCollateral: Sendable, Hashable {
    /// The TDX TCB Info v3 document (`{"tcbInfo": …, "signature": …}`).
    public let tcbInfo: [UInt8]?
    /// The TD QE Identity v2 document (`{"enclaveIdentity": …, "signature": …}`).
    public let qeIdentity: [UInt8]?
    /// The TCB signing certificate, optionally followed by the root: PEM, or one DER certificate.
    public let tcbSigningChain: [UInt8]?
    /// The CRL of the PCK CA that issued the quote's PCK certificate, DER or PEM.
    public let pckCRL: [UInt8]?
    /// Intel's Root CA CRL, DER or PEM.
    public let rootCACRL: [UInt8]?
    /// The documents parsed, as ``TDXVerifier`` takes them.
    public let collateral: TDXCollateral

    /// Parses the documents given; at least one is needed.
    public init(
        tcbInfo: [UInt8]? = nil, qeIdentity: [UInt8]? = nil, tcbSigningChain: [UInt8]? = nil, pckCRL: [UInt8]? = nil,
        rootCACRL: [UInt8]? = nil
    ) throws(AttestationError) {
        func parse<T>(_ bytes: [UInt8]?, _ member: String, _ parse: ([UInt8]) throws(TDXError) -> T) throws(AttestationError) -> T? {
            guard let bytes else { return nil }
            do {
                return try parse(bytes)
            } catch {
                throw .bundleMalformed(field: "collateral.\(member)", reason: withoutFullStop(error.description))
            }
        }
        guard [tcbInfo, qeIdentity, tcbSigningChain, pckCRL, rootCACRL].contains(where: { $0 != nil }) else {
            throw .bundleMalformed(field: "collateral", reason: "it holds no document")
        }
        self.collateral = TDXCollateral(
            tcbInfo: try parse(tcbInfo, "tcbInfo") { json throws(TDXError) in try TCBInfo(json: json) },
            qeIdentity: try parse(qeIdentity, "qeIdentity") { json throws(TDXError) in try QEIdentity(json: json) },
            tcbSigningChain: try parse(tcbSigningChain, "tcbSigningChain") { data throws(TDXError) in try TCBSigningChain(derOrPEM: data) },
            pckCRL: try parse(pckCRL, "pckCRL") { data throws(TDXError) in try IntelRevocationList(derOrPEM: data) },
            rootCACRL: try parse(rootCACRL, "rootCACRL") { data throws(TDXError) in try IntelRevocationList(derOrPEM: data) })
        self.tcbInfo = tcbInfo
        self.qeIdentity = qeIdentity
        self.tcbSigningChain = tcbSigningChain
        self.pckCRL = pckCRL
        self.rootCACRL = rootCACRL
    }

    /// The member names of a bundle's `collateral` object, one per document.
    static let members: Set<String> = ["tcbInfo", "qeIdentity", "tcbSigningChain", "pckCRL", "rootCACRL"]

    /// The documents present, by member name.
    var documents: [(member: String, bytes: [UInt8])] {
        [("tcbInfo", self.tcbInfo), ("qeIdentity", self.qeIdentity), ("tcbSigningChain", self.tcbSigningChain),
         ("pckCRL", self.pckCRL), ("rootCACRL", self.rootCACRL)].compactMap { member, bytes in bytes.map { (member, $0) } }
    }
}
