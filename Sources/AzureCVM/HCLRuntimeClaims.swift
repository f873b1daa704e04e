import Foundation
import TPM2
import _CryptoExtras
import EvidenceCore

/// The runtime claims at offset 1236 of an HCL report: JSON with the vTPM's keys, the VM's
/// configuration and the guest's user data (OpenVMM `runtime_claims::RuntimeClaims` in
/// `openhcl/openhcl_attestation_protocol/src/igvm_attest/get.rs`; the keys "HCLAkPub" and
/// "HCLEkPub" are built by its `get_tpm_jwks`).
///
/// Azure writes the JSON compactly, members in a fixed order: `keys`, then `vm-configuration`
/// (its members sorted by name), then `user-data` when present; each key as `kid`, `key_ops`,
/// `kty`, `e`, `n` with base64url (unpadded) integers. ``encoded()`` writes exactly that layout,
/// so a report rebuilt from parsed claims hashes to the same REPORT_DATA. Foundation's JSON
/// writer does not keep member order, so the layout is assembled here; JSONEncoder still writes
/// every string.
public struct HCLRuntimeClaims: Sendable, Hashable, Codable {
    /// The `kid` of the vTPM attestation key.
    public static let attestationKeyID = "HCLAkPub"
    /// The `kid` of the vTPM endorsement key.
    public static let endorsementKeyID = "HCLEkPub"

    /// `keys`: RSA public keys as JWKs (RFC 7517, RFC 7518 §6.3).
    public var keys: [HCLJSONWebKey]
    /// `vm-configuration`.
    public var vmConfiguration: HCLVMConfiguration
    /// `user-data`: the 64 bytes the guest wrote to NV index 0x01400002 before the report was
    /// made, as hex; absent in reports from older hosts.
    public var userData: String?

    enum CodingKeys: String, CodingKey {
        case keys
        case vmConfiguration = "vm-configuration"
        case userData = "user-data"
    }

    /// Claims with the given values.
    public init(keys: [HCLJSONWebKey], vmConfiguration: HCLVMConfiguration, userData: String? = nil) {
        self.keys = keys
        self.vmConfiguration = vmConfiguration
        self.userData = userData
    }

    /// Decodes the runtime claims JSON. Every key must be an RSA JWK with `kid`, `key_ops`, `e`
    /// and `n`; `user-data`, when present, must be hex. Members this library does not know are
    /// ignored (they remain covered by the hash of the bytes).
    public init(json: [UInt8]) throws(AzureCVMError) {
        do {
            self = try JSONDecoder().decode(Self.self, from: Data(json))
        } catch let error as AzureCVMError {
            throw error
        } catch let error as DecodingError {
            throw .runtimeClaimsMalformed(reason: explain(error))
        } catch {
            throw .runtimeClaimsMalformed(reason: String(describing: error))
        }
        if let userData, fromHex(userData) == nil {
            throw .runtimeClaimsMalformed(reason: "user-data \"\(userData)\" is not hex")
        }
    }

    /// The key with `kid`, if present.
    public func key(id: String) -> HCLJSONWebKey? {
        self.keys.first { $0.kid == id }
    }

    /// The vTPM attestation key, "HCLAkPub".
    public var attestationKey: HCLJSONWebKey? { self.key(id: Self.attestationKeyID) }
    /// The vTPM endorsement key, "HCLEkPub"; absent in reports from older hosts.
    public var endorsementKey: HCLJSONWebKey? { self.key(id: Self.endorsementKeyID) }

    /// `user-data` decoded from hex.
    public var userDataBytes: [UInt8]? { self.userData.flatMap(fromHex) }

    /// `user-data` for `bytes` as Azure writes it: uppercase hex.
    public static func userData(_ bytes: [UInt8]) -> String {
        hex(bytes).uppercased()
    }

    /// The JSON in Azure's layout: the bytes whose hash the hardware report carries.
    public func encoded() throws(AzureCVMError) -> [UInt8] {
        var members: [(String, AzureJSON)] = [
            ("keys", .array(self.keys.map(\.json))),
            ("vm-configuration", self.vmConfiguration.json),
        ]
        if let userData { members.append(("user-data", .string(userData))) }
        var text = ""
        try AzureJSON.object(members).write(to: &text)
        return Array(text.utf8)
    }
}

/// An RSA public key in the runtime claims, as a JWK (RFC 7517 §4, RFC 7518 §6.3.1): `kid`,
/// `key_ops`, `kty` "RSA", and the exponent `e` and modulus `n` as unpadded base64url
/// big-endian integers.
public struct HCLJSONWebKey: Sendable, Hashable, Codable {
    /// `kid`: "HCLAkPub" or "HCLEkPub".
    public var kid: String
    /// `key_ops`: Azure writes ["sign"] for the AK and ["encrypt"] for the EK (older hosts wrote
    /// ["encrypt"] for both).
    public var keyOperations: [String]
    /// `e`, big-endian.
    public var exponent: [UInt8]
    /// `n`, big-endian.
    public var modulus: [UInt8]

    enum CodingKeys: String, CodingKey {
        case kid
        case keyOperations = "key_ops"
        case keyType = "kty"
        case exponent = "e"
        case modulus = "n"
    }

    /// A key with the given values.
    public init(kid: String, keyOperations: [String], modulus: [UInt8], exponent: [UInt8]) {
        self.kid = kid
        self.keyOperations = keyOperations
        self.modulus = modulus
        self.exponent = exponent
    }

    /// The JWK of a swift-crypto RSA public key.
    public init(kid: String, keyOperations: [String], publicKey: _RSA.Signing.PublicKey) throws(AzureCVMError) {
        let primitives: _RSA.Signing.PublicKey.Primitives
        do { primitives = try publicKey.getKeyPrimitives() } catch { throw .invalidKey(kid: kid, reason: "\(error)") }
        self.init(kid: kid, keyOperations: keyOperations, modulus: Array(primitives.modulus), exponent: Array(primitives.publicExponent))
    }

    /// The JWK of a TPM RSA key's public area (TPM 2.0 Part 2 §12.2.4 TPMT_PUBLIC), as the HCL
    /// writes the vTPM's AK and EK.
    public init(kid: String, keyOperations: [String], tpmPublic: TPMTPublic) throws(AzureCVMError) {
        let key: TPMVerifyingKey
        do { key = try TPMVerifyingKey(tpmPublic) } catch { throw .invalidKey(kid: kid, reason: error.description) }
        guard case let .rsa(rsa) = key else { throw .invalidKey(kid: kid, reason: "the TPM key is not an RSA key") }
        try self.init(kid: kid, keyOperations: keyOperations, publicKey: rsa)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.kid = try container.decode(String.self, forKey: .kid)
        self.keyOperations = try container.decode([String].self, forKey: .keyOperations)
        let type = try container.decode(String.self, forKey: .keyType)
        guard type == "RSA" else {
            throw AzureCVMError.runtimeClaimsMalformed(reason: "key \"\(self.kid)\" has kty \"\(type)\"; Azure's keys are RSA")
        }
        self.exponent = try Self.integer(container, .exponent, kid: self.kid)
        self.modulus = try Self.integer(container, .modulus, kid: self.kid)
    }

    private static func integer(_ container: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys, kid: String) throws -> [UInt8] {
        let text = try container.decode(String.self, forKey: key)
        guard let bytes = fromBase64URL(text), !bytes.isEmpty else {
            throw AzureCVMError.runtimeClaimsMalformed(reason: "\(key.rawValue) of key \"\(kid)\" is not unpadded base64url")
        }
        return bytes
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.kid, forKey: .kid)
        try container.encode(self.keyOperations, forKey: .keyOperations)
        try container.encode("RSA", forKey: .keyType)
        try container.encode(base64URL(self.exponent), forKey: .exponent)
        try container.encode(base64URL(self.modulus), forKey: .modulus)
    }

    var json: AzureJSON {
        .object([
            ("kid", .string(self.kid)),
            ("key_ops", .array(self.keyOperations.map(AzureJSON.string))),
            ("kty", .string("RSA")),
            ("e", .string(base64URL(self.exponent))),
            ("n", .string(base64URL(self.modulus))),
        ])
    }

    /// The key for verifying signatures, e.g. the AK's quote signatures (at least 2048 bits).
    public func signingKey() throws(AzureCVMError) -> _RSA.Signing.PublicKey {
        do { return try _RSA.Signing.PublicKey(n: self.modulus, e: self.exponent) } catch {
            throw .invalidKey(kid: self.kid, reason: "swift-crypto refused it (\(error)); keys must have at least 2048 bits")
        }
    }

    /// The key for encrypting to it, e.g. RSA-OAEP to the EK (at least 2048 bits).
    public func encryptionKey() throws(AzureCVMError) -> _RSA.Encryption.PublicKey {
        do { return try _RSA.Encryption.PublicKey(n: self.modulus, e: self.exponent) } catch {
            throw .invalidKey(kid: self.kid, reason: "swift-crypto refused it (\(error)); keys must have at least 2048 bits")
        }
    }

    /// The key as the TPM2 library's quote verifier takes it.
    public func verifyingKey() throws(AzureCVMError) -> TPMVerifyingKey {
        .rsa(try self.signingKey())
    }
}

/// `vm-configuration` in the runtime claims (OpenVMM `runtime_claims::AttestationVmConfig`). Every
/// member is optional because hosts of different ages write different sets.
public struct HCLVMConfiguration: Sendable, Hashable, Codable {
    /// `console-enabled`: the serial console is enabled.
    public var consoleEnabled: Bool?
    /// `current-time`: seconds since 1970 when the report was made (older hosts).
    public var currentTime: Int64?
    /// `filtered-vpci-devices-allowed`: some vPCI devices pass the device filter.
    public var filteredVPCIDevicesAllowed: Bool?
    /// `interactive-console-enabled`: the serial console, if enabled, is interactive.
    public var interactiveConsoleEnabled: Bool?
    /// `root-cert-thumbprint`: base64url hash of the provisioning certificate.
    public var rootCertThumbprint: String?
    /// `secure-boot`: UEFI secure boot is enabled.
    public var secureBoot: Bool?
    /// `tpm-enabled`: the vTPM is enabled.
    public var tpmEnabled: Bool?
    /// `tpm-persisted`: the vTPM's state persists across boots.
    public var tpmPersisted: Bool?
    /// `vmUniqueId`: the VM's ID.
    public var vmUniqueID: String?

    enum CodingKeys: String, CodingKey {
        case consoleEnabled = "console-enabled"
        case currentTime = "current-time"
        case filteredVPCIDevicesAllowed = "filtered-vpci-devices-allowed"
        case interactiveConsoleEnabled = "interactive-console-enabled"
        case rootCertThumbprint = "root-cert-thumbprint"
        case secureBoot = "secure-boot"
        case tpmEnabled = "tpm-enabled"
        case tpmPersisted = "tpm-persisted"
        case vmUniqueID = "vmUniqueId"
    }

    /// A configuration with the given members; nil members are left out of the JSON.
    public init(
        consoleEnabled: Bool? = nil, currentTime: Int64? = nil, filteredVPCIDevicesAllowed: Bool? = nil,
        interactiveConsoleEnabled: Bool? = nil, rootCertThumbprint: String? = nil, secureBoot: Bool? = nil,
        tpmEnabled: Bool? = nil, tpmPersisted: Bool? = nil, vmUniqueID: String? = nil
    ) {
        self.consoleEnabled = consoleEnabled
        self.currentTime = currentTime
        self.filteredVPCIDevicesAllowed = filteredVPCIDevicesAllowed
        self.interactiveConsoleEnabled = interactiveConsoleEnabled
        self.rootCertThumbprint = rootCertThumbprint
        self.secureBoot = secureBoot
        self.tpmEnabled = tpmEnabled
        self.tpmPersisted = tpmPersisted
        self.vmUniqueID = vmUniqueID
    }

    /// The members present, sorted by name as Azure writes them.
    var json: AzureJSON {
        let flags: [(CodingKeys, Bool?)] = [
            (.consoleEnabled, self.consoleEnabled), (.filteredVPCIDevicesAllowed, self.filteredVPCIDevicesAllowed),
            (.interactiveConsoleEnabled, self.interactiveConsoleEnabled), (.secureBoot, self.secureBoot),
            (.tpmEnabled, self.tpmEnabled), (.tpmPersisted, self.tpmPersisted),
        ]
        var members = flags.compactMap { key, value in value.map { (key.rawValue, AzureJSON.bool($0)) } }
        if let currentTime { members.append((CodingKeys.currentTime.rawValue, .integer(currentTime))) }
        if let rootCertThumbprint { members.append((CodingKeys.rootCertThumbprint.rawValue, .string(rootCertThumbprint))) }
        if let vmUniqueID { members.append((CodingKeys.vmUniqueID.rawValue, .string(vmUniqueID))) }
        return .object(members.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) })
    }
}

/// A JSON value written compactly with object members in the order given: the runtime claims'
/// layout, which the hash in REPORT_DATA fixes byte for byte.
indirect enum AzureJSON {
    case string(String)
    case bool(Bool)
    case integer(Int64)
    case array([AzureJSON])
    case object([(String, AzureJSON)])

    func write(to text: inout String) throws(AzureCVMError) {
        switch self {
        case let .string(value):
            text += try Self.quoted(value)
        case let .bool(value):
            text += value ? "true" : "false"
        case let .integer(value):
            text += String(value)
        case let .array(items):
            text += "["
            for (index, item) in items.enumerated() {
                if index > 0 { text += "," }
                try item.write(to: &text)
            }
            text += "]"
        case let .object(members):
            text += "{"
            for (index, (name, value)) in members.enumerated() {
                if index > 0 { text += "," }
                text += try Self.quoted(name) + ":"
                try value.write(to: &text)
            }
            text += "}"
        }
    }

    /// A JSON string literal, escaped by JSONEncoder.
    private static func quoted(_ value: String) throws(AzureCVMError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        do { return String(decoding: try encoder.encode(value), as: UTF8.self) } catch {
            throw .builderInvalid(reason: "the string \"\(value)\" cannot be written as JSON: \(error)")
        }
    }
}

/// Unpadded base64url (RFC 4648 §5), as JWK integers are written (RFC 7515 §2).
func base64URL(_ bytes: [UInt8]) -> String {
    Data(bytes).base64EncodedString()
        .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

/// Decodes unpadded base64url; nil unless `text` is the canonical encoding of the bytes (no
/// padding, no stray bits), so that every accepted key re-encodes to the same text.
func fromBase64URL(_ text: String) -> [UInt8]? {
    guard !text.contains("="), !text.contains("+"), !text.contains("/") else { return nil }
    var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    standard += String(repeating: "=", count: (4 - standard.count % 4) % 4)
    guard let data = Data(base64Encoded: standard) else { return nil }
    let bytes = Array(data)
    return base64URL(bytes) == text ? bytes : nil
}

/// Decodes hex of either case; nil for anything else.
func fromHex(_ text: String) -> [UInt8]? {
    let digits = Array(text.utf8)
    guard digits.count % 2 == 0 else { return nil }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(digits.count / 2)
    for index in stride(from: 0, to: digits.count, by: 2) {
        guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
        bytes.append(high << 4 | low)
    }
    return bytes
}

private func hexValue(_ digit: UInt8) -> UInt8? {
    switch digit {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
    default: nil
    }
}
