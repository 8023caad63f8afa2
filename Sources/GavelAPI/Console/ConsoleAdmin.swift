import Foundation
import GavelCore
import GavelStore
import HTTPTypes
import Hummingbird

/// The admin's page: users (create, with the token shown once; revoke) and consignors
/// with their policy (create; change any part of the policy as JSON).
extension ConsoleController {
    func registerAdmin(on router: Router<GavelRequestContext>) {
        router.get("/console/admin") { request, context in try await shown(request) { try await admin(request, context) } }
        router.post("/console/admin/:area/:id/:action") { request, context in try await shown(request) { try await adminAction(request, context) } }
    }

    static func userFields(_ words: [String: String], consignors: [String]) -> [ConsoleField] {
        [
            ConsoleField(name: "name", label: words["userName"] ?? "", required: true),
            ConsoleField(name: "role", label: words["role"] ?? "", kind: .choice(Role.allCases.map(\.rawValue))),
            ConsoleField(name: "consignorId", label: words["consignorForManager"] ?? "", kind: .choice([""] + consignors)),
        ]
    }

    static func consignorFields(_ words: [String: String]) -> [ConsoleField] {
        [
            ConsoleField(name: "name", label: words["consignorName"] ?? "", required: true),
            ConsoleField(name: "currency", label: words["currency"] ?? "", required: true, hint: words["currencyHint"]),
        ]
    }

    static func policyFields(_ words: [String: String]) -> [ConsoleField] {
        [ConsoleField(name: "policy", label: words["policyChange"] ?? "", kind: .textarea, required: true, hint: words["policyHint"])]
    }

    func admin(
        _ request: Request, _ context: GavelRequestContext, state: ConsoleFormState? = nil, created: JSONValue? = nil
    ) async throws -> Response {
        guard let signedIn = try await signedIn(request, context) else { return Self.toSignIn() }
        guard signedIn.caller.role == .admin else { return forbidden(request, signedIn: signedIn) }
        let language = ConsoleLanguage.of(request)
        var words = language.words
        let caller = signedIn.caller
        let tokens = formTokens(signedIn)
        let users = try await api.call(.get, "/v1/users", query: ["limit": "200"], as: caller, context: context)
        let consignors = try await api.call(.get, "/v1/consignors", query: ["limit": "200"], as: caller, context: context)
        var consignorIds: [String] = []
        var consignorRows: [[String: Any]] = []
        for item in consignors.json["items"]?.elements ?? [] {
            let id = Self.text(item["id"])
            consignorIds.append(id)
            words["option." + id] = Self.text(item["name"])
            var row = ConsoleView.model(item) as? [String: Any] ?? [:]
            row["policyText"] = item["policy"].map { JSONText.encode($0, pretty: true) } ?? ""
            let form = "policy-" + id
            row["fields"] = ConsoleForms.render(Self.policyFields(words), state: state?.form == form ? state : nil, words: words, form: form)
            row["summary"] = state?.form == form ? state?.summary ?? [] : []
            row["form"] = tokens
            consignorRows.append(row)
        }
        words["option."] = words["none"] ?? "–"
        let userRows = (users.json["items"]?.elements ?? []).map { item -> Any in
            var row = ConsoleView.model(item) as? [String: Any] ?? [:]
            row["form"] = tokens
            row["revocable"] = item["revoked"] != .bool(true) && Self.text(item["id"]) != caller.user.id.uuidString.lowercased()
            row["consignorName"] = words["option." + Self.text(item["consignorId"])] ?? ""
            return row
        }
        let body = pages.render("admin", [
            "t": words, "users": userRows, "consignors": consignorRows, "form": tokens,
            "userFields": ConsoleForms.render(
                Self.userFields(words, consignors: consignorIds), state: state?.form == "user" ? state : nil, defaults: ["role": "bidder"],
                words: words),
            "userSummary": state?.form == "user" ? state?.summary ?? [] : [],
            "consignorFields": ConsoleForms.render(
                Self.consignorFields(words), state: state?.form == "consignor" ? state : nil, defaults: ["currency": "CNY"], words: words,
                form: "consignor"),
            "consignorSummary": state?.form == "consignor" ? state?.summary ?? [] : [],
            "created": created.map(ConsoleView.model) ?? false,
            // A revocation's refusal (the last admin) has no form of its own to stand beside.
            "actionSummary": state.map { state in
                ["user", "consignor"].contains(state.form) || state.form.hasPrefix("policy-") ? [] : state.summary
            } ?? [],
        ])
        return page(
            request, language: language, title: words["adminTitle"] ?? "", body: body, signedIn: signedIn, current: "/console/admin",
            status: state == nil ? .ok : .unprocessableContent)
    }

    /// POST /console/admin/{users|consignors}/{id or "new"}/{create|revoke|policy}
    func adminAction(_ request: Request, _ context: GavelRequestContext) async throws -> Response {
        guard let signedIn = try await signedIn(request, context) else { return Self.toSignIn() }
        let form = try await ConsoleForm.read(request)
        guard form["csrf"] == signedIn.csrf else { return try await refusedForm(request) }
        let (area, id, action) = try Self.action(context)
        let words = ConsoleLanguage.of(request).words
        var body: JSONValue
        let method: HTTPRequest.Method
        let path: String
        let formName: String
        var fields: [ConsoleField] = []
        switch (area, action) {
        case ("users", "create"):
            fields = Self.userFields(words, consignors: [])
            formName = "user"
            (method, path) = (.post, "/v1/users")
            var conversion: [String: String]
            (body, conversion) = ConsoleForms.body(fields, form, words: words)
            if case .object(var members) = body, members["consignorId"] == .string("") {
                members["consignorId"] = nil
                body = .object(members)
            }
            _ = conversion
        case ("consignors", "create"):
            fields = Self.consignorFields(words)
            formName = "consignor"
            (method, path) = (.post, "/v1/consignors")
            body = ConsoleForms.body(fields, form, words: words).0
        case ("users", "revoke"):
            formName = "revoke-" + id
            (method, path) = (.post, "/v1/users/{id}/revoke")
            body = .object([:])
        case ("consignors", "policy"):
            fields = Self.policyFields(words)
            formName = "policy-" + id
            (method, path) = (.patch, "/v1/consignors/{id}/policy")
            guard let parsed = try? JSONDecoder().decode(JSONValue.self, from: Data((form["policy"] ?? "").utf8)) else {
                return try await admin(
                    request, context, state: ConsoleFormState(form: formName, values: form, errors: ["policy": words["badJSON"] ?? ""]))
            }
            body = parsed
        default:
            throw HTTPError(.notFound)
        }
        guard id == "new" || UUID(uuidString: id) != nil else { throw HTTPError(.notFound) }
        let answer = try await api.call(
            method, path, ["id": id], body: body,
            idempotencyKey: Self.idempotencyKey(form["idem"], request), as: signedIn.caller, context: context)
        if let problem = answer.problem {
            return try await admin(request, context, state: ConsoleForms.refused(problem, form: formName, fields: fields, values: form))
        }
        // A new user's token is shown once, on this answer, as the API shows it once.
        if area == "users" && action == "create" { return try await admin(request, context, created: answer.json) }
        return Response(status: .seeOther, headers: [.location: "/console/admin"])
    }
}
