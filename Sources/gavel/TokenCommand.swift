import ArgumentParser
import Foundation
import GavelCore
import GavelStore
import Logging
import PostgresNIO

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Create users and their API tokens.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a user with a role; print its user ID, then its API token (shown once, stored hashed) on the last line.")

        @Option(help: "admin, manager, appraiser, finance or bidder.") var role: String
        @Option(help: "The user's name.") var name: String
        @Option(help: "The consignor a manager acts for.") var consignor: String?

        func validate() throws {
            guard let role = Role(rawValue: role) else {
                throw ValidationError("--role must be one of: \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name.count <= 200 else {
                throw ValidationError("--name must be 1 to 200 characters")
            }
            if role == .manager, consignor == nil { throw ValidationError("a manager needs --consignor ID") }
            if role != .manager, consignor != nil { throw ValidationError("only a manager takes --consignor") }
            if let consignor, UUID(uuidString: consignor) == nil { throw ValidationError("--consignor must be a UUID") }
        }

        func run() async throws {
            LogSetup.bootstrap()
            let logger = {
                var logger = Logger(label: "gavel")
                logger.logLevel = .warning
                return logger
            }()
            let (location, startedCluster) = try GavelEnvironment.database(logger: logger)
            defer { try? startedCluster?.stop() }
            let runner = try MigrationRunner(directory: GavelEnvironment.resourcesDirectory + "/SQL")
            let user = User(id: UUID(), name: name.trimmingCharacters(in: .whitespaces), role: Role(rawValue: role)!,
                            consignorId: consignor.flatMap(UUID.init(uuidString:)))
            let token = try await PostgresConnection.with(location, logger: logger) { connection in
                try await runner.run(on: connection, logger: logger)
                return try await PostgresTransactionError.unwrapping {
                  try await connection.withTransaction(logger: logger) { connection in
                    if let consignorId = user.consignorId,
                       try await ConsignorRepository.find(id: consignorId, on: connection, logger: logger) == nil {
                        throw ValidationError("no consignor \(consignorId.uuidString.lowercased())")
                    }
                    let token = try await UserRepository.create(user, on: connection, logger: logger)
                    try await AuditRepository.record(
                        AuditRecord(actor: .system("cli"), action: "user.create", entityType: "user", entityId: user.id,
                                    before: nil,
                                    after: .object(["id": .string(user.id.uuidString.lowercased()), "name": .string(user.name),
                                                    "role": .string(user.role.rawValue)]),
                                    requestId: nil),
                        on: connection, logger: logger)
                    return token
                  }
                }
            }
            // The ID first (finance records a bidder's deposit by it), the token last, so
            // that `gavel token create ... | tail -1` is the token alone.
            print("user \(user.id.uuidString.lowercased()) (\(user.role.rawValue), \(user.name))")
            print(token)
        }
    }
}
