import Crypto
import DiskEncryption
import EventLog
import PCRPrediction
import TPM2
import TPMClient

/// The SHA-256 values PCRs will hold at the next boot, taken from a ``PCRPrediction`` (the
/// replay of the current boot's event log with the new kernel, initrd, command line or UKI).
///
/// A prediction is only as good as its log, so the log must describe the boot that is running:
/// each PCR's value in the replay of the unedited log must equal the TPM's value now (TCG PC
/// Client PFP §3.3.4: the log records every extend of PCRs 0-7 and those the boot loader logs),
/// and a PCR the log does not extend at all cannot be predicted.
public struct NextBootPCRs: Sendable, Equatable {
    /// The predicted SHA-256 value of each PCR.
    public let values: [Int: [UInt8]]

    /// Ascending PCR indices.
    public var pcrs: [Int] { values.keys.sorted() }

    /// Takes the predicted values of `pcrs` from `prediction`, checking the replay of the current
    /// log against `current`, the TPM's SHA-256 values of the same PCRs now.
    public init(prediction: PCRPrediction, pcrs: [Int], current: [Int: [UInt8]]) throws(TPM2TokenError) {
        try self.init(prediction: prediction, pcrs: pcrs)
        // A register only the prediction extends (PCR 11 for a first UKI) starts from zero.
        let differing = self.pcrs.filter { pcr in
            !constantTimeEqual(prediction.current[.sha256, UInt32(pcr)] ?? TPMHashAlgorithm.sha256.zeroDigest, current[pcr] ?? [])
        }
        guard differing.isEmpty else { throw .eventLogMismatch(differing) }
    }

    /// Takes the predicted values of `pcrs` from `prediction` without a TPM to check the log
    /// against (to sign them elsewhere, say).
    public init(prediction: PCRPrediction, pcrs: [Int]) throws(TPM2TokenError) {
        var values: [Int: [UInt8]] = [:]
        for pcr in Set(pcrs) {
            values[pcr] = prediction.predicted[.sha256, UInt32(pcr)]
        }
        let unpredictable = Set(pcrs).subtracting(values.keys).sorted()
        guard unpredictable.isEmpty else { throw .unpredictablePCRs(unpredictable) }
        self.values = values
    }

    /// The PCRs whose predicted value differs from `current`.
    public func changes(from current: [Int: [UInt8]]) -> [Int] {
        pcrs.filter { !constantTimeEqual(values[$0] ?? [], current[$0] ?? []) }
    }
}

/// What ``LUKS2Volume/resealTPM2(client:prediction:pcrs:volumeKey:)`` did.
public struct TPM2Reseal: Sendable, Equatable {
    /// The token sealed to the next boot's values, and its keyslot.
    public var token: Int
    public var keyslot: Int
    /// The PCRs it is sealed to, and those among them whose values the next boot changes.
    public var pcrs: [Int]
    public var changedPCRs: [Int]
    /// False when a token with the same policy was already enrolled (the next boot's values are
    /// those of a token the volume has), so nothing was added.
    public var added: Bool
}

extension LUKS2Volume {
    /// Reseals the volume for the next boot, keeping what opens it now: a new keyslot holding the
    /// volume key and a `systemd-tpm2` token sealed to the values `prediction` gives for `pcrs`
    /// are added beside the existing ones, so that the volume unlocks both in the boot chain that
    /// is running (should the update fail) and in the predicted one. ``commitTPM2(client:pin:)``
    /// removes the tokens of the old chain once the new one has booted.
    ///
    /// The volume key is `volumeKey` or, without it, what a token sealed to the PCRs' current
    /// values unseals (with `pin` if it needs one). `pcrs` defaults to those of that token (or of
    /// the first `systemd-tpm2` token). With `pin` the new token needs the same PIN, salted like
    /// that token's; it also keeps that token's PCR policy key, if any (`signature` serves to
    /// unlock through such a token). The event log behind `prediction` must replay to the TPM's
    /// current values.
    @discardableResult
    public mutating func resealTPM2(
        client: TPM2Client, prediction: PCRPrediction, pcrs requested: [Int]? = nil, pin: [UInt8]? = nil,
        signature: SignedPCRPolicy? = nil, volumeKey given: SymmetricKey? = nil
    ) throws(TPM2TokenError) -> TPM2Reseal {
        let volumeKey: SymmetricKey
        let tokens = try tpm2Tokens()
        var model = tokens.first?.token
        if let given {
            volumeKey = given
        } else {
            let unlocked = try unlockTPM2(client: client, pin: pin, signature: signature)
            volumeKey = unlocked.volumeKey
            model = tokens.first { $0.token.keyslot == unlocked.keyslot }?.token ?? model
        }
        if model?.pin == true, pin == nil { throw .pinRequired }
        guard let selected = requested ?? model?.pcrs, !selected.isEmpty else {
            throw .invalidArgument(model == nil ? "the volume has no systemd-tpm2 token to take the PCRs from; give them"
                : "the token is sealed to no literal PCR values: with a signed PCR policy a new boot needs a new signature, not a reseal")
        }
        let current = try client.sha256Values(of: selected)
        let next = try NextBootPCRs(prediction: prediction, pcrs: selected, current: current)
        let changed = next.changes(from: current)
        let policy = try SystemdTPM2Token.policy(pcrs: next.pcrs, values: next.values, pin: pin != nil, publicKey: model?.publicKey)
        if let existing = tokens.first(where: { $0.token.pcrs == next.pcrs && constantTimeEqual($0.token.policyHash, policy) }) {
            return TPM2Reseal(token: existing.id, keyslot: existing.token.keyslot, pcrs: next.pcrs, changedPCRs: changed, added: false)
        }
        let saltPIN = model.map { !$0.pin || $0.pinSalt != nil } ?? true
        let (keyslot, token) = try addTPM2Keyslot(volumeKey: volumeKey) { keyslot throws(TPM2TokenError) in
            try client.seal(
                pcrs: next.pcrs, values: next.values, pin: pin, saltPIN: saltPIN, publicKey: model?.publicKey,
                publicKeyPCRs: model?.publicKeyPCRs ?? [], keyslot: keyslot)
        }
        return TPM2Reseal(token: token, keyslot: keyslot, pcrs: next.pcrs, changedPCRs: changed, added: true)
    }

    /// Completes a reseal once the new boot chain runs: removes every `systemd-tpm2` token not
    /// sealed to the values the TPM's PCRs hold now, with its keyslot (unless another token names
    /// it). Nothing is removed unless a token sealed to the current values first opens the volume
    /// (with `pin` or `signature` if it needs them). Tokens sealed to a signed PCR policy alone
    /// never go stale. Other keyslots (passphrases, recovery keys) are never touched. Returns the
    /// removed token ids.
    @discardableResult
    public mutating func commitTPM2(client: TPM2Client, pin: [UInt8]? = nil, signature: SignedPCRPolicy? = nil) throws(TPM2TokenError) -> [Int] {
        let tokens = try tpm2Tokens()
        let current = try client.sha256Values(of: Array(Set(tokens.flatMap(\.token.pcrs))).sorted())
        var stale: [(id: Int, token: SystemdTPM2Token)] = []
        var opened = false
        var pinNeeded = false
        for entry in tokens {
            guard try entry.token.isSealed(to: current) else {
                stale.append(entry)
                continue
            }
            do throws(TPM2TokenError) {
                if !opened { _ = try unlockTPM2(client: client, entry.token, pin: pin, signature: signature) }
                opened = true
            } catch {
                // Another current token may still open the volume; these say the caller must act.
                switch error {
                case .wrongPIN, .dictionaryAttackLockout: throw error
                case .pinRequired: pinNeeded = true
                default: continue
                }
            }
        }
        // A PIN token that was the only way in asks for its PIN (the CLI then prompts).
        guard opened else { throw pinNeeded ? .pinRequired : .noCurrentToken }
        for entry in stale {
            do {
                try removeToken(entry.id)
                if !header.metadata.tokens.values.contains(where: { $0.keyslots.contains(String(entry.token.keyslot)) }) {
                    try removeKeyslot(entry.token.keyslot)
                }
            } catch {
                throw .luks(error)
            }
        }
        return stale.map(\.id)
    }
}
