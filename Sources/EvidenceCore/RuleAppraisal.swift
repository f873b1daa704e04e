/// The outcome of appraising verified evidence against a policy: every rule checked, in order,
/// with what was expected and what was found, never a bare verdict (STYLE.md, "Parse, verify,
/// appraise"). `SNPPolicy` and `TDXPolicy` produce it.
public struct RuleAppraisal: Sendable, Hashable, Codable {
    /// One checked rule.
    public struct Rule: Sendable, Hashable, Codable, CustomStringConvertible {
        public let name: String
        public let passed: Bool
        public let expected: String
        public let actual: String

        /// Creates a rule outcome.
        public init(name: String, passed: Bool, expected: String, actual: String) {
            self.name = name
            self.passed = passed
            self.expected = expected
            self.actual = actual
        }

        public var description: String {
            "\(self.passed ? "pass" : "FAIL") \(self.name): expected \(self.expected), found \(self.actual)"
        }
    }

    /// The rules in the order they were checked.
    public let rules: [Rule]

    /// Collects rule outcomes.
    public init(rules: [Rule]) {
        self.rules = rules
    }

    /// Whether every rule passed.
    public var passed: Bool { self.rules.allSatisfy(\.passed) }

    /// The rules that failed.
    public var failures: [Rule] { self.rules.filter { !$0.passed } }
}
