/// The collateral a TDX quote is verified against beyond its own PCK chain, as Intel's PCS or a
/// caching service (PCCS) delivers it (Intel TDX DCAP Quote Verification Library API,
/// `sgx_ql_qve_collateral_t`: pck_crl, root_ca_crl, tcb_info and its issuer chain, qe_identity
/// and its issuer chain). Every part is optional:
///
/// - without TCB Info the quote is verified but its TCB status is not evaluated;
/// - without QE Identity the Quoting Enclave's identity and ISVSVN are not checked (it is applied
///   as part of the TCB evaluation, so it needs TCB Info);
/// - without CRLs revocation is not checked.
///
/// TCB Info and QE Identity need the TCB signing chain that signed them.
public struct TDXCollateral: Sendable, Hashable {
    /// TDX TCB Info v3.
    public var tcbInfo: TCBInfo?
    /// TD QE Identity v2.
    public var qeIdentity: QEIdentity?
    /// The Intel SGX TCB Signing certificate (and optionally the root) that signed both.
    public var tcbSigningChain: TCBSigningChain?
    /// The CRL of the PCK Platform CA or Processor CA that issued the quote's PCK certificate.
    public var pckCRL: IntelRevocationList?
    /// The Root CA CRL, listing revoked PCK CAs and TCB signing certificates.
    public var rootCACRL: IntelRevocationList?

    /// The file names of each part inside a collateral directory, after the fields of
    /// `sgx_ql_qve_collateral_t`; the CLI reads `--collateral DIR` with these.
    public enum FileName {
        public static let tcbInfo = "tcb_info.json"
        public static let qeIdentity = "qe_identity.json"
        public static let tcbSigningChain = "tcb_info_issuer_chain.pem"
        public static let pckCRL = ["pck_crl.der", "pck_crl.pem"]
        public static let rootCACRL = ["root_ca_crl.der", "root_ca_crl.pem"]
    }

    /// Creates collateral; any part may be left out.
    public init(
        tcbInfo: TCBInfo? = nil, qeIdentity: QEIdentity? = nil, tcbSigningChain: TCBSigningChain? = nil,
        pckCRL: IntelRevocationList? = nil, rootCACRL: IntelRevocationList? = nil
    ) {
        self.tcbInfo = tcbInfo
        self.qeIdentity = qeIdentity
        self.tcbSigningChain = tcbSigningChain
        self.pckCRL = pckCRL
        self.rootCACRL = rootCACRL
    }
}
