import ArgumentParser

@main
struct CVM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cvm",
        abstract: "Prove that a confidential VM is what it claims to be.",
        subcommands: [VTPMCommand.self, EventLogCommand.self, PECommand.self, PCRCommand.self, SNPCommand.self, TDXCommand.self, DiskCommand.self, BenchCommand.self]
    )
}
