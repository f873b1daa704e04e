import ArgumentParser
import DiskEncryption
import DiskEncryptionTPM
import Foundation
import TPM2
import TPMClient
import EvidenceCore

extension DiskCommand {
    struct EnrollTPM2: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "enroll-tpm2",
            abstract: "Seal a new keyslot's passphrase to PCR values of a TPM and store a systemd-tpm2 token.",
            discussion: """
                The PCRs' current SHA-256 values form a PolicyPCR policy; a random secret sealed under it \
                (below an ECC P-256 SRK of the owner hierarchy) is the base64 passphrase of a new keyslot, \
                as systemd-cryptenroll --tpm2-device does.
                """)

        @OptionGroup var volume: Unlocking

        @Option(help: "Comma-separated PCR indices (0-23), SHA-256 bank, sealed to their current values (default 7; none with --public-key).")
        var pcrs: PCRList?

        @Option(help: TPMAddress.help)
        var tpm: TPMAddress

        @Option(help: "PEM RSA public key whose signatures authorize PCR values (systemd-cryptenroll --tpm2-public-key).")
        var publicKey: String?

        @Option(name: .customLong("public-key-pcrs"), help: "The PCRs the public key's signatures cover (systemd --tpm2-public-key-pcrs).")
        var publicKeyPCRs: PCRList = PCRList(indices: [11])

        @Flag(help: "Also seal to a PIN, asked for on the terminal (systemd-cryptenroll --tpm2-with-pin).")
        var pin = false

        @Option(help: "Also seal to the PIN in this file (a trailing newline is dropped).")
        var pinFile: String?

        @Flag(inversion: .prefixedNo, help: "Salt the PIN with PBKDF2 and store tpm2_salt, as systemd >= 254 does (--no-pin-salt for systemd < 254).")
        var pinSalt = true

        func run() throws {
            let newPIN: [UInt8]? = if let pinFile { try PINInput.read(pinFile) } else if pin { try PINInput.askNew() } else { nil }
            let key = try publicKey.map { try PCRPolicyKey(pem: try readBinaryFile($0)) }
            let literal = pcrs ?? PCRList(indices: key == nil ? [7] : [])
            var (luks, unlocked) = try volume.unlock(writable: true)
            let (keyslot, token) = try luks.enrollTPM2(
                client: try tpm.startedClient(), pcrs: literal.indices, pin: newPIN, saltPIN: pinSalt, publicKey: key,
                publicKeyPCRs: key == nil ? [] : publicKeyPCRs.indices, volumeKey: unlocked.volumeKey)
            var sealedTo = literal.indices.isEmpty ? [] : ["PCR \(literal) (sha256)"]
            if key != nil { sealedTo.append("signed values of PCR \(publicKeyPCRs)") }
            if newPIN != nil { sealedTo.append("a PIN") }
            print("keyslot \(keyslot) sealed to \(sealedTo.joined(separator: ", ")); token \(token): systemd-tpm2")
        }
    }

    /// Signed PCR policies for tokens sealed with --public-key.
    struct SignatureInput: ParsableArguments {
        @Option(help: "Signed PCR policy JSON (systemd-measure sign, cvm disk sign-policy) for tokens with a PCR public key.")
        var signature: String?

        func load() throws -> SignedPCRPolicy? {
            try signature.map { try SignedPCRPolicy(json: try readBinaryFile($0)) }
        }
    }

    struct SignPolicy: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sign-policy",
            abstract: "Sign the PolicyPCR of PCR values with an RSA key, as systemd-measure sign does.",
            discussion: """
                The values are given with --value, read from a TPM with --tpm, or predicted with --predict LOG \
                and the new boot files (the options of cvm pcr predict). Prints the signature JSON, or adds the \
                entry to --output (replacing one for the same PCRs, key and policy).
                """)

        @Option(help: "PEM RSA private key.")
        var key: String

        @Option(help: "Comma-separated PCR indices the policy covers.")
        var pcrs: PCRList

        @Option(name: .customLong("value"), help: "PCR=HEX: a PCR's SHA-256 value (repeat the option).")
        var values: [String] = []

        @Option(help: "Read the values from this TPM: device[:PATH] (default /dev/tpmrm0), mssim:[HOST:]PORT or swtpm:[HOST:]PORT.")
        var tpm: TPMAddress?

        @Option(help: ArgumentHelp("Predict the values from this event log and the new boot files.", valueName: "log"))
        var predict: String?

        @OptionGroup var inputs: PredictionInputs

        @Option(help: "Signature JSON file to add the entry to (created if missing).")
        var output: String?

        func validate() throws {
            guard [!values.isEmpty, tpm != nil, predict != nil].filter({ $0 }).count == 1 else {
                throw ValidationError("Give the values with --value, --tpm or --predict, one of them.")
            }
            if predict != nil, inputs.isEmpty { throw PredictionInputs.missing }
        }

        func pcrValues() throws -> [Int: [UInt8]] {
            if let tpm { return try tpm.startedClient().sha256Values(of: pcrs.indices) }
            if let predict { return try NextBootPCRs(prediction: try inputs.prediction(log: predict), pcrs: pcrs.indices).values }
            var parsed: [Int: [UInt8]] = [:]
            for value in values {
                let parts = value.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let pcr = Int(parts[0]), let digest = decodeHex(parts[1]), digest.count == 32 else {
                    throw ValidationError("--value takes PCR=HEX with 64 hex digits, not \(value)")
                }
                guard parsed.updateValue(digest, forKey: pcr) == nil else { throw ValidationError("--value gives PCR \(pcr) twice") }
            }
            guard Set(parsed.keys) == Set(pcrs.indices) else {
                throw ValidationError("--value must give exactly the PCRs of --pcrs (\(pcrs)), not \(PCRList(indices: Array(parsed.keys)))")
            }
            return parsed
        }

        func run() throws {
            let entry = try SignedPCRPolicy.sign(pcrs: pcrs.indices, values: try pcrValues(), privateKeyPEM: try readBinaryFile(key))
            guard let output else {
                var policy = SignedPCRPolicy()
                policy.add(entry)
                print(String(decoding: policy.json, as: UTF8.self))
                return
            }
            var policy = FileManager.default.fileExists(atPath: output) ? try SignedPCRPolicy(json: try readBinaryFile(output)) : SignedPCRPolicy()
            policy.add(entry)
            try Data(policy.json).write(to: URL(fileURLWithPath: output))
            print("signed PCR \(pcrs) (policy \(hexString(entry.policy))) into \(output)")
        }
    }

    /// The PIN of a systemd-tpm2 token: from a file, or asked for on the terminal.
    struct PINInput: ParsableArguments {
        struct Failure: Error, CustomStringConvertible {
            let description: String
        }

        @Option(help: "File holding the token's PIN (a trailing newline is dropped); without it the PIN is asked for on the terminal when a token needs one.")
        var pinFile: String?

        /// The PIN in `path`, without a trailing newline.
        static func read(_ path: String) throws -> [UInt8] {
            var pin = try readBinaryFile(path)
            if pin.last == UInt8(ascii: "\n") { pin.removeLast() }
            if pin.last == UInt8(ascii: "\r") { pin.removeLast() }
            return pin
        }

        /// A PIN typed on the terminal without echo.
        static func ask(_ prompt: String) throws -> [UInt8] {
            let terminal = open("/dev/tty", O_RDWR)
            guard terminal >= 0 else { throw Failure(description: "a TPM2 PIN is needed and there is no terminal to ask for it on; give --pin-file") }
            close(terminal)
            guard let typed = getpass(prompt) else { throw Failure(description: "could not read the PIN from the terminal") }
            defer { memset(typed, 0, strlen(typed)) }
            return Array(UnsafeBufferPointer(start: UnsafeRawPointer(typed).assumingMemoryBound(to: UInt8.self), count: strlen(typed)))
        }

        /// A new PIN, typed twice.
        static func askNew() throws -> [UInt8] {
            let pin = try ask("New TPM2 PIN: ")
            guard try ask("New TPM2 PIN (repeat): ") == pin else { throw Failure(description: "the PINs differ") }
            return pin
        }

        /// Runs `body` with the PIN from --pin-file; without one, first with no PIN and, if a token
        /// needs one, again with the PIN asked for on the terminal.
        func run<T>(_ body: ([UInt8]?) throws -> T) throws -> T {
            if let pinFile { return try body(try Self.read(pinFile)) }
            do {
                return try body(nil)
            } catch let error as TPM2TokenError where error.isPINRequired {
                return try body(try Self.ask("TPM2 PIN: "))
            }
        }
    }

    /// Comma-separated PCR indices.
    struct PCRList: ExpressibleByArgument, CustomStringConvertible {
        var indices: [Int]

        init(indices: [Int]) {
            self.indices = indices
        }

        init?(argument: String) {
            guard let indices = try? pcrIndices(argument) else { return nil }
            self.indices = indices
        }

        var description: String { indices.sorted().map(String.init).joined(separator: ",") }
        var defaultValueDescription: String { description }
    }

    struct Reseal: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seal a second systemd-tpm2 token to the PCR values of the next boot, or drop the tokens of the old boot.",
            discussion: """
                With --predict LOG and the new boot files (the options of cvm pcr predict), the PCRs' next \
                values are predicted from the event log of the running boot (which must replay to the TPM's \
                values) and a new keyslot and token are sealed to them; the existing ones stay, so the volume \
                opens in whichever chain boots. The volume key comes from a token that unlocks now, or from \
                --key-file. After the new chain has booted, --commit removes the tokens (and their keyslots) \
                not sealed to the PCRs' current values, once a token that is has opened the volume.
                """)

        @Argument(help: "The LUKS2 file or block device.")
        var device: String

        @Option(help: TPMAddress.help)
        var tpm: TPMAddress

        @Option(help: ArgumentHelp("The binary event log of the running boot (e.g. /sys/kernel/security/tpm0/binary_bios_measurements).", valueName: "log"))
        var predict: String?

        @OptionGroup var inputs: PredictionInputs

        @Option(help: "Comma-separated PCR indices to seal to (default: those of the token that unlocks).")
        var pcrs: PCRList?

        @Option(help: "Unlock with the passphrase in this file instead of a TPM2 token.")
        var keyFile: String?

        @OptionGroup var pin: PINInput
        @OptionGroup var signature: SignatureInput

        @Flag(help: "Remove the tokens not sealed to the current PCR values (after booting the new chain).")
        var commit = false

        func validate() throws {
            guard (predict != nil) != commit else { throw ValidationError("Give either --predict LOG with the new boot files, or --commit.") }
            if predict != nil, inputs.isEmpty { throw PredictionInputs.missing }
            if commit, !inputs.isEmpty || pcrs != nil || keyFile != nil { throw ValidationError("--commit takes no boot files, --pcrs or --key-file.") }
        }

        func run() throws {
            var luks = try LUKS2Volume(path: device, writable: true)
            let client = try tpm.startedClient()
            guard let predict else {
                let signed = try signature.load()
                let removed = try pin.run { pin in try luks.commitTPM2(client: client, pin: pin, signature: signed) }
                print(removed.isEmpty ? "every systemd-tpm2 token matches the current PCRs; nothing removed"
                    : "removed token \(removed.map(String.init).joined(separator: ", ")) (not sealed to the current PCRs)")
                return
            }
            let volumeKey = try keyFile.map { try luks.unlock(passphrase: try readBinaryFile($0)).volumeKey }
            let prediction = try inputs.prediction(log: predict)
            let signed = try signature.load()
            let reseal = try pin.run { pin in
                try luks.resealTPM2(client: client, prediction: prediction, pcrs: pcrs?.indices, pin: pin, signature: signed, volumeKey: volumeKey)
            }
            let changed = reseal.changedPCRs.isEmpty ? "no PCR changes" : "PCR \(PCRList(indices: reseal.changedPCRs)) change"
            if reseal.added {
                print("keyslot \(reseal.keyslot) sealed to the next boot's PCR \(PCRList(indices: reseal.pcrs)) (\(changed)); token \(reseal.token): systemd-tpm2")
            } else {
                print("token \(reseal.token) is already sealed to the next boot's PCR \(PCRList(indices: reseal.pcrs)) (\(changed)); nothing added")
            }
        }
    }

    struct UnlockTPM2: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "unlock",
            abstract: "Unseal a systemd-tpm2 token's secret in a TPM and print the keyslot it opens, or exit non-zero naming the PCRs that changed.",
            discussion: "Without --token-id every systemd-tpm2 token is tried in id order.")

        @Argument(help: "The LUKS2 file or block device.")
        var device: String

        @Option(help: "Only use this token.")
        var tokenID: Int?

        @Option(help: TPMAddress.help)
        var tpm: TPMAddress

        @OptionGroup var pin: PINInput
        @OptionGroup var signature: SignatureInput

        func run() throws {
            let volume = try LUKS2Volume(path: device)
            let client = try tpm.startedClient()
            let signed = try signature.load()
            let unlocked = try pin.run { pin in try volume.unlockTPM2(client: client, token: tokenID, pin: pin, signature: signed) }
            print("keyslot \(unlocked.keyslot) opens \(device)")
        }
    }
}
