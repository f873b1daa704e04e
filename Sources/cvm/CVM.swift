import ArgumentParser

@main
struct CVM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cvm",
        abstract: "Prove that a confidential VM is what it claims to be.",
        subcommands: [EventLogCommand.self]
    )
}
