/// The TCB status of a platform, TDX module or Quoting Enclave as a TCB level of Intel's
/// collateral names it (Intel SGX and TDX PCS API, TCB Info v3 "tcbStatus"; Intel TDX DCAP
/// Quote Verification Library, "TCB status" of the verification result).
public enum TCBStatus: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// The TCB is current.
    case upToDate = "UpToDate"
    /// Current, but software mitigations for the listed advisories are needed.
    case swHardeningNeeded = "SWHardeningNeeded"
    /// Current, but the platform configuration needs changes (e.g. disabling SMT).
    case configurationNeeded = "ConfigurationNeeded"
    /// Both of the above.
    case configurationAndSWHardeningNeeded = "ConfigurationAndSWHardeningNeeded"
    /// A newer TCB fixes the listed advisories.
    case outOfDate = "OutOfDate"
    /// Out of date, and the configuration needs changes.
    case outOfDateConfigurationNeeded = "OutOfDateConfigurationNeeded"
    /// The TCB's keys are revoked.
    case revoked = "Revoked"

    public var description: String { self.rawValue }

    /// The platform status once a component's (the TDX module's or the QE's) status is taken into
    /// account, as Intel's QVL converges them (TcbLevelCheck "convergeTcbStatusWithQeTcbStatus" and
    /// TdxModuleCheck "convergeTcbStatusWithTdxModuleStatus"): an out-of-date component makes an
    /// otherwise current platform OutOfDate (OutOfDateConfigurationNeeded if it needs
    /// configuration), a revoked component makes it Revoked, anything else leaves it unchanged.
    func converged(with component: TCBStatus) -> TCBStatus {
        switch component {
        case .revoked:
            return .revoked
        case .outOfDate, .outOfDateConfigurationNeeded:
            switch self {
            case .upToDate, .swHardeningNeeded: return .outOfDate
            case .configurationNeeded, .configurationAndSWHardeningNeeded: return .outOfDateConfigurationNeeded
            default: return self
            }
        default:
            return self
        }
    }
}
