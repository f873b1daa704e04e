import Crypto
import DiskEncryption
import DiskEncryptionTPM
import Foundation
import TPM2
import TPMClient
import Testing
import VirtualTPM

/// A transport that hands every response to `alter` with its command, to play a TPM (or a bus
/// interposer) that answers wrongly.
struct AlteringTransport: TPMTransport {
    let inner: any TPMTransport
    let alter: @Sendable (_ command: [UInt8], _ response: [UInt8]) -> [UInt8]

    func send(_ command: [UInt8]) throws(TPMClientError) -> [UInt8] {
        alter(command, try inner.send(command))
    }
}

/// PIN tokens (`systemd-cryptenroll --tpm2-with-pin`): PolicyAuthValue, the PIN-derived authValue
/// proven by an HMAC (TPM 2.0 Part 1 §19.6) and dictionary-attack protection (§19.8). Expected
/// policies and authValues are computed here from Part 3 §23 and with Python's hashlib; the TPM
/// is CVMKit's engine, and Debian's swtpm (libtpms) with tpm2-tools and systemd-cryptenroll 252
/// where installed.
@Suite("TPM2 tokens with a PIN", .enabled(if: Tools.cryptsetupAvailable))
struct PINTests {
    /// Its SHA-256 (the unsalted authValue) ends in a zero octet, which the TPM drops before use
    /// (Part 1 §19.6.5), so every test here also checks that the client trims it likewise.
    static let pin = Array("4711 correct PIN".utf8)

    /// SHA-256(policy ‖ TPM_CC_PolicyAuthValue (0x16B)), Part 3 §23.17.
    static func withAuthValue(_ policy: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: policy + [0, 0, 0x01, 0x6B]))
    }

    /// systemd's PIN authValue computed by Python's hashlib: SHA-256 of the PIN, or with a salt
    /// SHA-256 of base64(PBKDF2-HMAC-SHA256(PIN, salt, 10000, 32)).
    static func pythonAuthValue(pin: [UInt8], salt: [UInt8]?) throws -> [UInt8] {
        let script = """
            import base64, hashlib, sys
            pin, salt = bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2])
            text = base64.b64encode(hashlib.pbkdf2_hmac('sha256', pin, salt, 10000, 32)) if salt else pin
            sys.stdout.write(hashlib.sha256(text).hexdigest())
            """
        return Tools.bytes(hex: String(decoding: try Tools.run(["python3", "-c", script, Tools.hex(pin), Tools.hex(salt ?? [])]).output, as: UTF8.self))
    }

    static func token(_ path: String, id: Int) throws -> SystemdTPM2Token {
        try SystemdTPM2Token(try #require(try LUKS2Volume(path: path).header.metadata.tokens[String(id)]))
    }

    @Test("The PIN's authValue is systemd's: SHA-256 of the PIN, or of base64(PBKDF2-SHA256(PIN, salt, 10000)) with tpm2_salt")
    func authValueDerivation() throws {
        let salt = Tools.random(32)
        #expect(try SystemdTPM2Token.authValue(pin: Self.pin, salt: salt) == (try Self.pythonAuthValue(pin: Self.pin, salt: salt)))
        #expect(try SystemdTPM2Token.authValue(pin: Self.pin, salt: nil) == (try Self.pythonAuthValue(pin: Self.pin, salt: nil)))
        #expect(throws: TPM2TokenError.invalidArgument("the PIN is empty")) { try SystemdTPM2Token.authValue(pin: [], salt: nil) }
    }

    @Test("Enroll with a PIN: tpm2-pin, tpm2_salt, PolicyPCR then PolicyAuthValue, no noDA; the right PIN unlocks")
    func enrollAndUnlock() throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var (path, volume, volumeKey) = try TPM2TokenTests.volume(directory)
        let tpm = try TPM2TokenTests.tpm()
        let (keyslot, tokenID) = try volume.enrollTPM2(client: tpm.client, pcrs: [7], pin: Self.pin, volumeKey: volumeKey)

        let exported = try TPM2TokenTests.exportedToken(path, id: tokenID)
        #expect(exported["tpm2-pin"] as? Bool == true)
        let saltText = try #require(exported["tpm2_salt"] as? String)
        let salt = Array(try #require(Data(base64Encoded: saltText)))
        #expect(salt.count == 32)
        let zero = [UInt8](repeating: 0, count: 32)
        #expect(exported["tpm2-policy-hash"] as? String == Tools.hex(Self.withAuthValue(TPM2TokenTests.expectedPolicy(pcrs: [7], values: [zero]))))
        // The sealed object's attributes (Part 2 §8.3): fixedTPM (0x2) | fixedParent (0x10), without
        // noDA (0x400), so wrong PINs count toward lockout, as systemd's objects are made.
        let blobText = try #require(exported["tpm2-blob"] as? String)
        let blob = Array(try #require(Data(base64Encoded: blobText)))
        let publicStart = 2 + (Int(blob[0]) << 8 | Int(blob[1]))
        #expect(Array(blob[publicStart + 6..<publicStart + 10]) == [0, 0, 0, 0x12])

        #expect(throws: TPM2TokenError.pinRequired) { try LUKS2Volume(path: path).unlockTPM2(client: tpm.client) }
        let unlocked = try LUKS2Volume(path: path).unlockTPM2(client: tpm.client, pin: Self.pin)
        #expect(unlocked.keyslot == keyslot && unlocked.volumeKey == volumeKey)
        let secret = try tpm.client.unseal(try Self.token(path, id: tokenID), pin: Self.pin)
        let keyFile = try Tools.writeFile(directory, "tpm-key", Array(Data(secret).base64EncodedString().utf8))
        try Tools.run(["cryptsetup", "open", "--test-passphrase", "--key-slot", String(keyslot), "--key-file", keyFile, path])
    }

    @Test("Unsalted (systemd < 254): no tpm2_salt, the authValue is SHA-256 of the PIN")
    func unsalted() throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var (path, volume, volumeKey) = try TPM2TokenTests.volume(directory)
        let tpm = try TPM2TokenTests.tpm()
        let (_, tokenID) = try volume.enrollTPM2(client: tpm.client, pcrs: [7], pin: Self.pin, saltPIN: false, volumeKey: volumeKey)
        let exported = try TPM2TokenTests.exportedToken(path, id: tokenID)
        #expect(exported["tpm2-pin"] as? Bool == true && exported["tpm2_salt"] == nil)
        #expect(try LUKS2Volume(path: path).unlockTPM2(client: tpm.client, pin: Self.pin).volumeKey == volumeKey)
    }

    @Test("Wrong PINs: TPM_RC_AUTH_FAIL counted down to lockout (3 tries in the engine); then even the right PIN is refused")
    func dictionaryAttack() throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var (path, volume, volumeKey) = try TPM2TokenTests.volume(directory)
        let tpm = try TPM2TokenTests.tpm()
        try volume.enrollTPM2(client: tpm.client, pcrs: [7], pin: Self.pin, volumeKey: volumeKey)
        let reopened = try LUKS2Volume(path: path)
        for left in [2, 1, 0] {
            #expect(throws: TPM2TokenError.wrongPIN(triesLeft: left)) { try reopened.unlockTPM2(client: tpm.client, pin: Array("0000".utf8)) }
        }
        let error = #expect(throws: TPM2TokenError.self) { try reopened.unlockTPM2(client: tpm.client, pin: Self.pin) }
        guard case .dictionaryAttackLockout(let seconds)? = error else {
            Issue.record("expected lockout, got \(String(describing: error))")
            return
        }
        #expect(seconds == 1000)
        // TPM2_DictionaryAttackLockReset (Part 3 §25.2) with the (empty) lockout authorization,
        // TPM_RH_LOCKOUT (0x4000000A) through a password session (TPM_RS_PW, 0x40000009), lets
        // the PIN in again.
        let reset = try tpm.client.sendRaw([0x80, 0x02, 0, 0, 0, 0x1B, 0, 0, 0x01, 0x39, 0x40, 0, 0, 0x0A, 0, 0, 0, 9, 0x40, 0, 0, 9, 0, 0, 0, 0, 0])
        #expect(Array(reset[6..<10]) == [0, 0, 0, 0])
        #expect(try reopened.unlockTPM2(client: tpm.client, pin: Self.pin).volumeKey == volumeKey)
    }

    @Test("A response whose outData or HMAC was altered is refused: the response HMAC (Part 1 §19.6) does not verify")
    func alteredResponse() throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var (path, volume, volumeKey) = try TPM2TokenTests.volume(directory)
        let tpm = try TPM2TokenTests.tpm()
        try volume.enrollTPM2(client: tpm.client, pcrs: [7], pin: Self.pin, volumeKey: volumeKey)
        // TPM2_Unseal (command code 0x15E) response: header (10) ‖ parameterSize (4) ‖ outData
        // (2 + 32) ‖ nonceTPM (2 + 32) ‖ sessionAttributes (1) ‖ hmac (2 + 32).
        for offset in [16, 16 + 31, 16 + 32 + 2 + 32 + 1 + 2 + 5] {
            let altering = TPM2Client(transport: AlteringTransport(inner: EngineTransport(engine: tpm.engine)) { command, response in
                guard command[6..<10] == [0, 0, 0x01, 0x5E], response.count > offset else { return response }
                var altered = response
                altered[offset] ^= 0x01
                return altered
            })
            let error = #expect(throws: TPM2TokenError.self) { try LUKS2Volume(path: path).unlockTPM2(client: altering, pin: Self.pin) }
            guard case .tpm(.malformedResponse(let command, let reason))? = error else {
                Issue.record("offset \(offset): \(String(describing: error))")
                continue
            }
            #expect(command == "TPM2_Unseal" && reason.contains("response HMAC"))
        }
    }

    @Test("Reseal of a PIN token keeps the PIN (and its salting); without the PIN it is refused")
    func resealKeepsPIN() throws {
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (boot, log, path, volumeKey, _) = try ResealTests.enrolled(directory, pin: Self.pin)
        let prediction = try MeasuredBoot.update(log, kernel: try ResealTests.untrustedKernel())
        var volume = try LUKS2Volume(path: path, writable: true)
        #expect(throws: TPM2TokenError.pinRequired) { try volume.resealTPM2(client: boot.client, prediction: prediction) }
        #expect(throws: TPM2TokenError.pinRequired) { try volume.resealTPM2(client: boot.client, prediction: prediction, volumeKey: volumeKey) }
        let reseal = try volume.resealTPM2(client: boot.client, prediction: prediction, pin: Self.pin)
        let token = try Self.token(path, id: reseal.token)
        #expect(token.pin && token.pinSalt?.count == 32)
        try boot.boot(prediction.predictedLog)
        #expect(try LUKS2Volume(path: path).unlockTPM2(client: boot.client, pin: Self.pin).keyslot == reseal.keyslot)
        #expect(throws: TPM2TokenError.pinRequired) { try volume.commitTPM2(client: boot.client) }
        #expect(throws: TPM2TokenError.wrongPIN(triesLeft: 2)) { try volume.commitTPM2(client: boot.client, pin: Array("0000".utf8)) }
        #expect(try volume.commitTPM2(client: boot.client, pin: Self.pin) == [0])
    }
}

/// The same against libtpms: our HMACs checked by another TPM, our objects unsealed by
/// tpm2-tools, systemd-cryptenroll's PIN tokens unlocked by CVMKit.
@Suite("TPM2 PIN tokens with swtpm, tpm2-tools and systemd-cryptenroll", .enabled(if: Tools.cryptsetupAvailable && Swtpm.available, Comment(rawValue: Swtpm.missing)))
struct PINInteropTests {
    @Test("swtpm checks CVMKit's command HMACs; tpm2-tools unseals the object with PolicyPCR, PolicyAuthValue and the authValue")
    func swtpmAndTools() throws {
        let swtpm = try Swtpm()
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var (path, volume, volumeKey) = try TPM2TokenTests.volume(directory)
        let secret: [UInt8]
        do {
            let client = try swtpm.client()
            let (keyslot, tokenID) = try volume.enrollTPM2(client: client, pcrs: [7], pin: PINTests.pin, volumeKey: volumeKey)
            let reopened = try LUKS2Volume(path: path)
            #expect(try reopened.unlockTPM2(client: client, pin: PINTests.pin).keyslot == keyslot)
            let error = #expect(throws: TPM2TokenError.self) { try reopened.unlockTPM2(client: client, pin: Array("0000".utf8)) }
            guard case .wrongPIN(let left?)? = error else {
                Issue.record("expected a wrong PIN with tries left, got \(String(describing: error))")
                return
            }
            #expect(left >= 0)
            secret = try client.unseal(try PINTests.token(path, id: tokenID), pin: PINTests.pin)
        }
        let token = try PINTests.token(path, id: 0)
        var publicArea = TPMWriter()
        token.sealed.publicArea.marshalSized(into: &publicArea)
        var privateArea = TPMWriter()
        privateArea.sized(token.sealed.privateBlob)
        let pub = try Tools.writeFile(directory, "seal.pub", publicArea.bytes)
        let priv = try Tools.writeFile(directory, "seal.priv", privateArea.bytes)
        let file = { (name: String) in directory.appendingPathComponent(name).path }
        try swtpm.tool(["tpm2_load", "-C", "0x81000001", "-u", pub, "-r", priv, "-c", file("seal.ctx")])
        try swtpm.tool(["tpm2_startauthsession", "--policy-session", "-S", file("session.ctx")])
        try swtpm.tool(["tpm2_policypcr", "-S", file("session.ctx"), "-l", "sha256:7"])
        try swtpm.tool(["tpm2_policyauthvalue", "-S", file("session.ctx")])
        let authValue = try SystemdTPM2Token.authValue(pin: PINTests.pin, salt: token.pinSalt)
        let unsealed = try swtpm.tool(["tpm2_unseal", "-c", file("seal.ctx"), "-p", "session:\(file("session.ctx"))+hex:\(Tools.hex(authValue))"]).output
        try swtpm.tool(["tpm2_flushcontext", file("session.ctx")])
        #expect(unsealed == secret)
    }

    @Test("tpm2-tools seals under PolicyPCR + PolicyAuthValue with an authValue; CVMKit's HMAC session unseals it on swtpm")
    func toolsSealCVMKitUnseals() throws {
        let swtpm = try Swtpm()
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = { (name: String) in directory.appendingPathComponent(name).path }
        let authValue = Tools.random(32)
        let secret = Tools.random(32)
        try swtpm.tool(["tpm2_startup", "-c"])
        try swtpm.tool(["tpm2_createprimary", "-C", "o", "-g", "sha256", "-G", "ecc", "-c", file("primary.ctx")])
        try swtpm.tool(["tpm2_evictcontrol", "-C", "o", "-c", file("primary.ctx"), "0x81000010"])
        try swtpm.tool(["tpm2_flushcontext", "-t"])
        try swtpm.tool(["tpm2_startauthsession", "-S", file("trial.ctx")])
        try swtpm.tool(["tpm2_policypcr", "-S", file("trial.ctx"), "-l", "sha256:7"])
        try swtpm.tool(["tpm2_policyauthvalue", "-S", file("trial.ctx"), "-L", file("policy")])
        try swtpm.tool(["tpm2_flushcontext", file("trial.ctx")])
        try Data(secret).write(to: URL(fileURLWithPath: file("secret")))
        try swtpm.tool([
            "tpm2_create", "-C", "0x81000010", "-L", file("policy"), "-p", "hex:\(Tools.hex(authValue))", "-a", "fixedtpm|fixedparent",
            "-i", file("secret"), "-u", file("seal.pub"), "-r", file("seal.priv"),
        ])
        let expectedPolicy = PINTests.withAuthValue(TPM2TokenTests.expectedPolicy(pcrs: [7], values: [[UInt8](repeating: 0, count: 32)]))
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: file("policy")))) == expectedPolicy)

        let client = try swtpm.client()
        var reader = TPMReader(Array(try Data(contentsOf: URL(fileURLWithPath: file("seal.pub")))))
        let publicArea = try TPMTPublic.sized(from: &reader)
        reader = TPMReader(Array(try Data(contentsOf: URL(fileURLWithPath: file("seal.priv")))))
        let privateBlob = try reader.sized("TPM2B_PRIVATE", maximum: TPMLimits.maxPrivate)
        let item = try client.load(parent: TPMHandle(0x8100_0010), TPMCreatedObject(privateBlob: privateBlob, publicArea: publicArea))
        defer { try? client.flushContext(item.handle) }
        for (value, succeeds) in [(authValue, true), (Tools.random(32), false)] {
            let started = try client.startAuthSession(type: .policy)
            defer { try? client.flushContext(started.handle) }
            try client.policyPCR(session: started.handle, selection: SystemdTPM2Token.selection([7]))
            try client.policyAuthValue(session: started.handle)
            var session = TPMHMACSession(started)
            if succeeds {
                #expect(try client.unseal(item, session: &session, authValue: value) == secret)
            } else {
                #expect(throws: TPMClientError.self) { try client.unseal(item, session: &session, authValue: value) }
            }
        }
    }

    /// systemd 252 (tpm2-tss 3.2.1) fails its own verifying unseal (TPM_RC_AUTH_FAIL on the
    /// bound encryption session) when the PIN's SHA-256 ends in a zero octet, as `PINTests.pin`'s
    /// does, so this PIN's does not.
    static let systemdPIN = Array("1234".utf8)

    @Test("systemd-cryptenroll 252 --tpm2-with-pin on swtpm: CVMKit unlocks with the PIN (unsalted, transient legacy SRK); a wrong PIN is named")
    func systemdPINToken() throws {
        let swtpm = try Swtpm()
        let directory = try Tools.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (path, _, volumeKey) = try TPM2TokenTests.volume(directory)
        try swtpm.tool(
            ["systemd-cryptenroll", "--tpm2-device=\(swtpm.tcti)", "--tpm2-with-pin=yes", "--tpm2-pcrs=7", path],
            environment: ["NEWPIN": String(decoding: Self.systemdPIN, as: UTF8.self), "PASSWORD": String(decoding: TPM2TokenTests.passphrase, as: UTF8.self)])
        let token = try PINTests.token(path, id: 0)
        #expect(token.pin && token.pinSalt == nil && token.srk == nil)
        let client = try swtpm.client()
        let volume = try LUKS2Volume(path: path)
        #expect(try volume.unlockTPM2(client: client, pin: Self.systemdPIN).volumeKey == volumeKey)
        let error = #expect(throws: TPM2TokenError.self) { try volume.unlockTPM2(client: client, pin: Array("0000".utf8)) }
        guard case .wrongPIN? = error else {
            Issue.record("expected a wrong PIN, got \(String(describing: error))")
            return
        }
        #expect(throws: TPM2TokenError.pinRequired) { try volume.unlockTPM2(client: client) }
    }
}
