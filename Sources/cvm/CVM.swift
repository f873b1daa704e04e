import ArgumentParser

@main
struct CVM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cvm",
        abstract: "Prove that a confidential VM is what it claims to be.",
        subcommands: [VTPMCommand.self, EventLogCommand.self, PECommand.self, PCRCommand.self, SNPCommand.self, PolicyCommand.self, EvidenceCommand.self, DiskCommand.self, DemoCommand.self, ServeCommand.self, AttestCommand.self, SecretCommand.self, BenchCommand.self, AgentCommand.self, AzureCommand.self, LaunchCommand.self, TDXCommand.self, ReferenceValuesCommand.self]
    )
}
