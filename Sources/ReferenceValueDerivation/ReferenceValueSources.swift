import Attestation
import SEVSNP

/// Everything a reference values document (docs/policy.md, "Reference values") is derived from,
/// so that no one copies golden values from a running VM: the SEV-SNP launches whose launch digests
/// become `snpMeasurements`, the measured boots whose predicted PCRs and boot applications become
/// `pcrs` and `bootFiles`, and the platform requirements `minimumTCB` and the allowed guest
/// policy flags.
///
/// Several launches and boots make allowlists: every firmware image, VM size and boot chain a
/// fleet runs is accepted.
public struct ReferenceValueSources: Sendable {
    /// SEV-SNP launches under QEMU (``SNPLaunchMeasurement``, as `cvm snp measure` computes them).
    public var snpLaunches: [SNPLaunchMeasurement]
    /// Measured boots of new boot files.
    public var measuredBoots: [MeasuredBoot]
    /// The PCRs each measured boot gives values for.
    public var pcrIndices: [Int]
    /// The lowest SNP REPORTED_TCB accepted; replaces any minimum of the document added to.
    public var minimumTCB: SNPPolicy.MinimumTCB?
    /// Whether a guest policy allowing debugging is refused: every flag but `debug` is allowed
    /// (of those the document added to allows, if it lists any).
    public var forbidDebug: Bool

    public init(
        snpLaunches: [SNPLaunchMeasurement] = [], measuredBoots: [MeasuredBoot] = [], pcrIndices: [Int] = MeasuredBoot.bootChainPCRs,
        minimumTCB: SNPPolicy.MinimumTCB? = nil, forbidDebug: Bool = false
    ) {
        self.snpLaunches = snpLaunches
        self.measuredBoots = measuredBoots
        self.pcrIndices = pcrIndices
        self.minimumTCB = minimumTCB
        self.forbidDebug = forbidDebug
    }

    /// Derives every value and adds them to `existing` (see ``ReferenceValues/merge(_:)``).
    public func derive(adding existing: ReferenceValues = ReferenceValues()) throws(ReferenceValueDerivationError) -> DerivedReferenceValues {
        var document = existing
        var measurements: [[UInt8]] = []
        for (number, launch) in zip(1..., self.snpLaunches) {
            do { measurements.append(try launch.digest()) } catch { throw .snpLaunch(number: number, error) }
        }
        document.merge(ReferenceValues(snpMeasurements: measurements))
        var boots: [DerivedMeasuredBoot] = []
        for (number, boot) in zip(1..., self.measuredBoots) {
            do { boots.append(try boot.referenceValues(pcrs: self.pcrIndices)) } catch { throw .measuredBoot(number: number, error) }
            document.merge(boots[boots.count - 1].referenceValues)
        }
        if let minimumTCB { document.minimumTCB = minimumTCB }
        if self.forbidDebug {
            document.allowedSNPPolicyFlags = (document.allowedSNPPolicyFlags ?? Set(SNPPolicyFlag.allCases)).subtracting([.debug])
        }
        return DerivedReferenceValues(document: document, snpMeasurements: measurements, measuredBoots: boots)
    }
}

/// A derived document and what each source gave.
public struct DerivedReferenceValues: Sendable {
    /// The reference values, with those of the document added to.
    public var document: ReferenceValues
    /// The launch digest of each SNP launch, in order.
    public var snpMeasurements: [[UInt8]]
    /// What each measured boot gave, in order.
    public var measuredBoots: [DerivedMeasuredBoot]
}

extension ReferenceValues {
    /// Adds `other`'s values. The allowlists (`snpMeasurements`, each PCR's values, `bootFiles`)
    /// become their unions, in order and without repeats. The platform requirements never weaken:
    /// where both have a minimum TCB component the higher applies, and where both list allowed
    /// SNP policy flags only the flags both allow remain.
    public mutating func merge(_ other: ReferenceValues) {
        self.snpMeasurements = Self.union(self.snpMeasurements, other.snpMeasurements)
        for (bank, values) in other.pcrs {
            for (index, accepted) in values {
                self.pcrs[bank, default: [:]][index] = Self.union(self.pcrs[bank]?[index] ?? [], accepted)
            }
        }
        self.bootFiles = Self.union(self.bootFiles, other.bootFiles)
        self.tdxMRTDs = Self.union(self.tdxMRTDs, other.tdxMRTDs)
        for (index, accepted) in other.tdxRTMRs {
            self.tdxRTMRs[index] = Self.union(self.tdxRTMRs[index] ?? [], accepted)
        }
        switch (self.minimumTCB, other.minimumTCB) {
        case (nil, let minimum), (let minimum, nil):
            self.minimumTCB = minimum
        case let (mine?, theirs?):
            let higher = { (lhs: UInt8?, rhs: UInt8?) in [lhs, rhs].compactMap { $0 }.max() }
            self.minimumTCB = SNPPolicy.MinimumTCB(
                fmc: higher(mine.fmc, theirs.fmc), bootloader: higher(mine.bootloader, theirs.bootloader), tee: higher(mine.tee, theirs.tee),
                snp: higher(mine.snp, theirs.snp), microcode: higher(mine.microcode, theirs.microcode))
        }
        switch (self.allowedSNPPolicyFlags, other.allowedSNPPolicyFlags) {
        case (nil, let flags), (let flags, nil):
            self.allowedSNPPolicyFlags = flags
        case let (mine?, theirs?):
            self.allowedSNPPolicyFlags = mine.intersection(theirs)
        }
    }

    private static func union(_ first: [[UInt8]], _ second: [[UInt8]]) -> [[UInt8]] {
        second.reduce(into: first) { values, value in if !values.contains(value) { values.append(value) } }
    }
}
