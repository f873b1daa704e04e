import Prometheus

/// The service's Prometheus metrics, in a registry of its own (no global bootstrap, so several
/// services can live in one test process), served at `/metrics`.
public final class ServiceMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let challenges: Counter
    let attestations: [Outcome: Counter]
    let releases: [Outcome: Counter]
    let requestDuration: DurationHistogram

    /// What happened to an attestation or release request.
    enum Outcome: String, CaseIterable {
        /// Evidence verified and the policy passed.
        case affirmed
        /// Evidence verified but the policy refused it.
        case refused
        /// The request or its evidence was invalid.
        case rejected
    }

    public init() {
        let registry = self.registry
        challenges = registry.makeCounter(descriptor: .init(namespace: "cvm", metricName: "challenges_issued", unitName: "total", helpText: "Challenge nonces issued"))
        attestations = Dictionary(uniqueKeysWithValues: Outcome.allCases.map {
            ($0, registry.makeCounter(descriptor: .init(namespace: "cvm", metricName: "attestations", unitName: "total", helpText: "Attestation requests by outcome"),
                                      labels: [("outcome", $0.rawValue)]))
        })
        releases = Dictionary(uniqueKeysWithValues: Outcome.allCases.map {
            ($0, registry.makeCounter(descriptor: .init(namespace: "cvm", metricName: "secret_releases", unitName: "total", helpText: "Secret release requests by outcome"),
                                      labels: [("outcome", $0.rawValue)]))
        })
        requestDuration = registry.makeDurationHistogram(
            descriptor: .init(namespace: "cvm", metricName: "http_request_duration", unitName: "seconds", helpText: "HTTP request handling time"),
            buckets: [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                      .milliseconds(100), .milliseconds(250), .seconds(1)])
    }

    /// The text exposition format.
    public func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
