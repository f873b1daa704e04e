import ArgumentParser
import DiskEncryption
import DiskEncryptionTPM
import TPM2
import TPMClient

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

        @Option(help: "Comma-separated PCR indices (0-23), SHA-256 bank.")
        var pcrs: String = "7"

        @Option(help: "The TPM: mssim:[HOST:]PORT or swtpm:[HOST:]PORT.")
        var tpm: TPMAddress

        func run() throws {
            let indices = try pcrIndices(pcrs)
            var (luks, unlocked) = try volume.unlock(writable: true)
            let (keyslot, token) = try luks.enrollTPM2(client: try tpm.startedClient(), pcrs: indices, volumeKey: unlocked.volumeKey)
            print("keyslot \(keyslot) sealed to PCR \(indices.sorted().map(String.init).joined(separator: ",")) (sha256); token \(token): systemd-tpm2")
        }
    }

    struct UnlockTPM2: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "unlock",
            abstract: "Unseal a systemd-tpm2 token's secret in a TPM and print the keyslot it opens, or exit non-zero naming the PCRs that changed.")

        @Argument(help: "The LUKS2 file or block device.")
        var device: String

        @Option(help: "Only use this token.")
        var tokenID: Int?

        @Option(help: "The TPM: mssim:[HOST:]PORT or swtpm:[HOST:]PORT.")
        var tpm: TPMAddress

        func run() throws {
            let unlocked = try LUKS2Volume(path: device).unlockTPM2(client: try tpm.startedClient(), token: tokenID)
            print("keyslot \(unlocked.keyslot) opens \(device)")
        }
    }
}
