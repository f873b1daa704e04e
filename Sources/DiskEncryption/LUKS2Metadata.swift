import Foundation

/// A 64-bit JSON value the LUKS2 metadata stores as a decimal string (§3: "all 64-bit integers are
/// stored as strings", such as offsets and sizes).
@propertyWrapper
public struct DecimalString: Codable, Sendable, Equatable {
    public var wrappedValue: UInt64

    public init(wrappedValue: UInt64) {
        self.wrappedValue = wrappedValue
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = UInt64(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a decimal string: \(text)")
        }
        wrappedValue = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(String(wrappedValue))
    }
}

/// The JSON metadata of a LUKS2 header (§3): five mandatory objects. Object keys of `keyslots`,
/// `tokens`, `segments` and `digests` are decimal ids as strings.
///
/// Fields this model does not know, at any depth, are kept from the JSON the metadata was read
/// from and written back (cryptsetup keeps them too), except inside objects that were removed.
public struct LUKS2Metadata: Codable, Sendable, Equatable {
    public var keyslots: [String: LUKS2Keyslot]
    public var tokens: [String: LUKS2Token]
    public var segments: [String: LUKS2Segment]
    public var digests: [String: LUKS2Digest]
    public var config: LUKS2Config
    /// The whole JSON as read, the source of the unknown fields.
    var original: JSONValue?

    enum CodingKeys: String, CodingKey {
        case keyslots, tokens, segments, digests, config
    }

    /// Decodes `json`, keeping it for its unknown fields.
    static func decode(_ json: Data) throws -> LUKS2Metadata {
        var metadata = try JSONDecoder().decode(LUKS2Metadata.self, from: json)
        metadata.original = try JSONDecoder().decode(JSONValue.self, from: json)
        return metadata
    }

    /// The JSON text of the metadata, with the unknown fields of ``original`` merged back.
    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let modeled = try JSONDecoder().decode(JSONValue.self, from: encoder.encode(self))
        return Array(try encoder.encode(Self.merge(modeled, original, level: .top)))
    }

    /// Removes keyslot `id` and every reference to it, its unknown fields included.
    mutating func removeKeyslot(_ id: String) {
        keyslots[id] = nil
        for digestID in digests.keys { digests[digestID]?.keyslots.removeAll { $0 == id } }
        for tokenID in tokens.keys { tokens[tokenID]?.keyslots.removeAll { $0 == id } }
        forgetOriginal(id, in: "keyslots")
    }

    /// Removes token `id`, its unknown fields included.
    mutating func removeToken(_ id: String) {
        tokens[id] = nil
        forgetOriginal(id, in: "tokens")
    }

    private mutating func forgetOriginal(_ id: String, in map: String) {
        if case .object(var fields)? = original, case .object(var entries)? = fields[map] {
            entries[id] = nil
            fields[map] = .object(entries)
            original = .object(fields)
        }
    }

    private enum Level {
        case top, idMap, object
    }

    /// `modeled` with the fields only `original` has added back, except in the id maps (`keyslots`,
    /// `tokens`, `segments`, `digests`), where an id `modeled` lacks stays removed.
    private static func merge(_ modeled: JSONValue, _ original: JSONValue?, level: Level) -> JSONValue {
        guard case .object(var fields) = modeled, case .object(let originalFields)? = original else { return modeled }
        for (key, value) in fields {
            let childLevel: Level = level == .top && key != "config" ? .idMap : .object
            fields[key] = merge(value, originalFields[key], level: childLevel)
        }
        if level != .idMap {
            for (key, value) in originalFields where fields[key] == nil { fields[key] = value }
        }
        return .object(fields)
    }

    public init(
        keyslots: [String: LUKS2Keyslot], tokens: [String: LUKS2Token] = [:], segments: [String: LUKS2Segment],
        digests: [String: LUKS2Digest], config: LUKS2Config
    ) {
        self.keyslots = keyslots
        self.tokens = tokens
        self.segments = segments
        self.digests = digests
        self.config = config
    }
}

/// A keyslot (§3.2): an encrypted, anti-forensic split copy of the volume key.
public struct LUKS2Keyslot: Codable, Sendable, Equatable {
    /// `luks2` for the keyslots this implementation opens.
    public var type: String
    /// Size of the volume key in bytes.
    public var keySize: Int
    public var af: AntiForensic
    public var area: Area
    public var kdf: LUKS2KDF
    /// 0 ignore, 1 normal, 2 high.
    public var priority: Int?

    /// The anti-forensic splitter's parameters (§3.2.3: type `luks1`).
    public struct AntiForensic: Codable, Sendable, Equatable {
        public var type: String
        public var stripes: Int
        public var hash: String
    }

    /// Where the keyslot's encrypted material lies and how it is encrypted (§3.2.1: type `raw`).
    public struct Area: Codable, Sendable, Equatable {
        public var type: String
        @DecimalString public var offset: UInt64
        @DecimalString public var size: UInt64
        public var encryption: String
        public var keySize: Int

        enum CodingKeys: String, CodingKey {
            case type, offset, size, encryption
            case keySize = "key_size"
        }
    }

    enum CodingKeys: String, CodingKey {
        case type, af, area, kdf, priority
        case keySize = "key_size"
    }
}

/// The key-derivation function of a keyslot (§3.2.2).
public enum LUKS2KDF: Codable, Sendable, Equatable {
    case pbkdf2(hash: String, iterations: Int, salt: Data)
    /// `argon2i` or `argon2id`; `time` passes, `memory` KiB, `cpus` lanes.
    case argon2(Argon2.Variant, time: Int, memory: Int, cpus: Int, salt: Data)

    enum CodingKeys: String, CodingKey {
        case type, hash, iterations, salt, time, memory, cpus
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decode(String.self, forKey: .type)
        let salt = try container.decode(Data.self, forKey: .salt)
        if type == "pbkdf2" {
            self = .pbkdf2(
                hash: try container.decode(String.self, forKey: .hash),
                iterations: try container.decode(Int.self, forKey: .iterations), salt: salt)
        } else if let variant = Argon2.Variant(rawValue: type) {
            self = .argon2(
                variant, time: try container.decode(Int.self, forKey: .time),
                memory: try container.decode(Int.self, forKey: .memory),
                cpus: try container.decode(Int.self, forKey: .cpus), salt: salt)
        } else {
            throw DecodingError.dataCorruptedError(forKey: .type, in: container, debugDescription: "unknown kdf \(type)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .pbkdf2(let hash, let iterations, let salt):
            try container.encode("pbkdf2", forKey: .type)
            try container.encode(hash, forKey: .hash)
            try container.encode(iterations, forKey: .iterations)
            try container.encode(salt, forKey: .salt)
        case .argon2(let variant, let time, let memory, let cpus, let salt):
            try container.encode(variant.rawValue, forKey: .type)
            try container.encode(time, forKey: .time)
            try container.encode(memory, forKey: .memory)
            try container.encode(cpus, forKey: .cpus)
            try container.encode(salt, forKey: .salt)
        }
    }
}

/// A data segment (§3.3): type `crypt`, from `offset` for `size` bytes or to the end of the device.
public struct LUKS2Segment: Codable, Sendable, Equatable {
    public var type: String
    @DecimalString public var offset: UInt64
    public var size: Size
    /// Added to the sector number to form the IV.
    @DecimalString public var ivTweak: UInt64
    public var encryption: String
    public var sectorSize: Int
    public var flags: [String]?

    /// `"dynamic"` (to the end of the device) or a byte count.
    public enum Size: Codable, Sendable, Equatable {
        case dynamic
        case bytes(UInt64)

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            if text == "dynamic" {
                self = .dynamic
            } else if let value = UInt64(text) {
                self = .bytes(value)
            } else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "bad segment size \(text)")
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .dynamic: try container.encode("dynamic")
            case .bytes(let value): try container.encode(String(value))
            }
        }
    }

    public init(offset: UInt64, size: Size = .dynamic, ivTweak: UInt64 = 0, encryption: String, sectorSize: Int) {
        type = "crypt"
        self.offset = offset
        self.size = size
        self.ivTweak = ivTweak
        self.encryption = encryption
        self.sectorSize = sectorSize
    }

    enum CodingKeys: String, CodingKey {
        case type, offset, size, encryption, flags
        case ivTweak = "iv_tweak"
        case sectorSize = "sector_size"
    }
}

/// A digest (§3.5): verifies a volume key and binds keyslots to segments. Type `pbkdf2` only.
public struct LUKS2Digest: Codable, Sendable, Equatable {
    public var type: String
    public var keyslots: [String]
    public var segments: [String]
    public var hash: String
    public var iterations: Int
    public var salt: Data
    public var digest: Data
}

/// Persistent configuration (§3.6).
public struct LUKS2Config: Codable, Sendable, Equatable {
    /// Size of the JSON area: `hdr_size` minus the 4096-byte binary header.
    @DecimalString public var jsonSize: UInt64
    /// Size of the binary keyslots area that follows both header copies.
    @DecimalString public var keyslotsSize: UInt64
    public var flags: [String]?
    public var requirements: Requirements?

    /// Features an implementation must understand to use the device.
    public struct Requirements: Codable, Sendable, Equatable {
        public var mandatory: [String]?
    }

    public init(jsonSize: UInt64, keyslotsSize: UInt64) {
        self.jsonSize = jsonSize
        self.keyslotsSize = keyslotsSize
    }

    enum CodingKeys: String, CodingKey {
        case flags, requirements
        case jsonSize = "json_size"
        case keyslotsSize = "keyslots_size"
    }
}

/// A token (§3.4): metadata for external tools. Besides `type` and `keyslots` a token may carry any
/// fields; they are kept verbatim so a rewrite of the header preserves them.
public struct LUKS2Token: Codable, Sendable, Equatable {
    public var type: String
    public var keyslots: [String]
    public var properties: [String: JSONValue]

    public init(type: String, keyslots: [String], properties: [String: JSONValue] = [:]) {
        self.type = type
        self.keyslots = keyslots
        self.properties = properties
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        type = try container.decode(String.self, forKey: Key(stringValue: "type"))
        keyslots = try container.decode([String].self, forKey: Key(stringValue: "keyslots"))
        var properties: [String: JSONValue] = [:]
        for key in container.allKeys where key.stringValue != "type" && key.stringValue != "keyslots" {
            properties[key.stringValue] = try container.decode(JSONValue.self, forKey: key)
        }
        self.properties = properties
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(type, forKey: Key(stringValue: "type"))
        try container.encode(keyslots, forKey: Key(stringValue: "keyslots"))
        for (key, value) in properties {
            try container.encode(value, forKey: Key(stringValue: key))
        }
    }
}

/// Any JSON value, for the free-form fields of tokens.
public indirect enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}
