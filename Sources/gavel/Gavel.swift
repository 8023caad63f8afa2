import ArgumentParser

@main
struct Gavel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gavel",
        abstract: "Gavel: online auctions of repossessed vehicles and settlement of the money.",
        subcommands: [ServeCommand.self, MigrateCommand.self, DbCommand.self, TokenCommand.self, DemoCommand.self])
}
