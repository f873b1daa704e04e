/// Why an event log, or one event's data, could not be decoded. Every case names the event
/// (0 is the first record of the log) and the absolute byte offset in the log where decoding failed.
public enum EventLogError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The log is empty, or only padding (all 0x00 or all 0xFF).
    case empty
    /// A field runs past the end of the log (or of its event's data).
    case truncated(event: Int, offset: Int, field: String, needed: Int, available: Int)
    /// A length or count field declares more data than remains.
    case sizeExceedsData(event: Int, offset: Int, field: String, size: UInt64, available: Int)
    /// The Spec ID Event03 header (PFP v1.06 §10.4.5.1) is malformed.
    case invalidSpecIDEvent(offset: Int, reason: String)
    /// A TPML_DIGEST_VALUES entry names an algorithm that the Spec ID header does not declare,
    /// so its digest size is unknown.
    case undeclaredAlgorithm(event: Int, offset: Int, algorithm: UInt16)
    /// A TPML_DIGEST_VALUES list is empty, longer than the declared algorithms, or repeats one.
    case invalidDigestList(event: Int, offset: Int, reason: String)
    /// An event's data does not have the structure its event type requires.
    case malformedEventData(event: Int, offset: Int, eventType: String, reason: String)
    /// A PCR file (`*.pcrs.json`) could not be read.
    case invalidPCRFile(reason: String)

    public var description: String {
        switch self {
        case .empty:
            return "The event log is empty (no bytes, or only 0x00 or 0xFF padding)."
        case let .truncated(event, offset, field, needed, available):
            return "Event \(event) is truncated at byte offset \(offset): \(field) needs \(needed) bytes but only \(available) remain."
        case let .sizeExceedsData(event, offset, field, size, available):
            return "Event \(event) at byte offset \(offset) declares \(field) = \(size), more than the \(available) bytes that remain."
        case let .invalidSpecIDEvent(offset, reason):
            return "The Spec ID event at byte offset \(offset) is invalid: \(reason)."
        case let .undeclaredAlgorithm(event, offset, algorithm):
            return "Event \(event) at byte offset \(offset) has a digest for algorithm 0x\(String(algorithm, radix: 16)), which the Spec ID event does not declare."
        case let .invalidDigestList(event, offset, reason):
            return "Event \(event) at byte offset \(offset) has an invalid digest list: \(reason)."
        case let .malformedEventData(event, offset, eventType, reason):
            return "Event \(event) (\(eventType)) has malformed data at byte offset \(offset): \(reason)."
        case let .invalidPCRFile(reason):
            return "The PCR file is invalid: \(reason)."
        }
    }
}
