import Foundation
import GavelCore
import GavelStore

/// The JSON shapes of api-contract.md, kept apart from the stored models.
enum DTO {
    static func user(_ user: User, token: String?) -> JSONValue {
        var members: [String: JSONValue] = [
            "id": user.id.json,
            "name": .string(user.name),
            "role": .string(user.role.rawValue),
            "consignorId": user.consignorId.json,
        ]
        if let token { members["token"] = .string(token) }
        return .object(members)
    }

    static func consignor(_ consignor: Consignor) -> JSONValue {
        .object([
            "id": consignor.id.json,
            "name": .string(consignor.name),
            "currency": .string(consignor.currency),
            "policy": consignor.policy.json,
        ])
    }

    static func audit(_ entry: AuditEntry) -> JSONValue {
        let actor: JSONValue
        switch entry.record.actor {
        case .user(let id, let name): actor = .object(["id": id.json, "name": .string(name), "kind": .string("user")])
        case .system(let name): actor = .object(["id": .null, "name": .string(name), "kind": .string("system")])
        }
        return .object([
            "id": .string(String(entry.seq)),
            "at": entry.at.json,
            "actor": actor,
            "action": .string(entry.record.action),
            "entityType": .string(entry.record.entityType),
            "entityId": entry.record.entityId.json,
            "before": entry.record.before ?? .null,
            "after": entry.record.after ?? .null,
            "requestId": entry.record.requestId.map(JSONValue.string) ?? .null,
        ])
    }

    static func page(_ items: [JSONValue], nextCursor: String?) -> JSONValue {
        .object(["items": .array(items), "nextCursor": nextCursor.map(JSONValue.string) ?? .null])
    }
}
