/// The trustworthiness claims of an AR4SI trustworthiness vector (draft-ietf-rats-ar4si §2.3),
/// named as their JSON serialisation names them (§3.2).
public enum TrustworthinessClaim: String, Sendable, Hashable, Codable, CaseIterable {
    case instanceIdentity = "instance-identity"
    case configuration
    case executables
    case fileSystem = "file-system"
    case hardware
    case runtimeOpaque = "runtime-opaque"
    case storageOpaque = "storage-opaque"
    case sourcedData = "sourced-data"
}

/// An appraisal's overall tier (draft-ietf-rats-ar4si §2.3.1; EAR's `ear.status`,
/// draft-ietf-rats-ear §3), ordered from no claim to the worst.
public enum EARStatus: String, Sendable, Hashable, Codable, Comparable, CaseIterable {
    case none
    case affirming
    case warning
    case contraindicated

    /// The tier an AR4SI claim value falls in: -1 to 1 none, 2 to 31 affirming, 32 to 95 warning,
    /// 96 to 127 (and the reserved negative values) contraindicated.
    public init(tierOf value: Int8) {
        switch value {
        case -1...1: self = .none
        case 2...31: self = .affirming
        case 32...95: self = .warning
        default: self = .contraindicated
        }
    }

    public static func < (lhs: EARStatus, rhs: EARStatus) -> Bool {
        lhs.rank < rhs.rank
    }

    private var rank: Int {
        switch self {
        case .none: 0
        case .affirming: 1
        case .warning: 2
        case .contraindicated: 3
        }
    }
}

/// An AR4SI trustworthiness vector (draft-ietf-rats-ar4si §2.3): one value per claim, 0 where the
/// appraisal makes no claim. Serialises as EAR's `ear.trustworthiness-vector` object with all
/// eight members.
public struct TrustworthinessVector: Sendable, Hashable {
    /// The claims made: every value but 0, which AR4SI treats as no claim.
    public private(set) var values: [TrustworthinessClaim: Int8]

    /// A vector with the given values.
    public init(_ values: [TrustworthinessClaim: Int8] = [:]) {
        self.values = values.filter { $0.value != 0 }
    }

    /// A claim's value, 0 when no claim is made.
    public subscript(claim: TrustworthinessClaim) -> Int8 {
        self.values[claim] ?? 0
    }

    /// The worst tier among the claims.
    public var status: EARStatus {
        self.values.values.map(EARStatus.init(tierOf:)).max() ?? .none
    }

    /// Records `value` for `claim` unless a worse value is already recorded: the worse tier wins,
    /// and within a tier the larger value.
    mutating func combine(_ claim: TrustworthinessClaim, _ value: Int8) {
        let current = self[claim]
        if value != 0, (EARStatus(tierOf: value), value) > (EARStatus(tierOf: current), current) { self.values[claim] = value }
    }
}

extension TrustworthinessVector: Codable {
    public init(from decoder: any Decoder) throws {
        try decoder.requireMembers(in: Set(TrustworthinessClaim.allCases.map(\.rawValue)))
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        var values: [TrustworthinessClaim: Int8] = [:]
        for claim in TrustworthinessClaim.allCases {
            values[claim] = try container.decodeIfPresent(Int8.self, forKey: AnyCodingKey(claim.rawValue))
        }
        self.init(values)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        for claim in TrustworthinessClaim.allCases {
            try container.encode(self[claim], forKey: AnyCodingKey(claim.rawValue))
        }
    }
}
