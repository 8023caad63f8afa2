import Foundation
import GavelCore
import GavelStore
import HTTPTypes
import Hummingbird

/// A dealer's pages: one lot with its live price and a bid form, and "mine" (bids,
/// deposits, invoices). Staff open the same lot page and see what the API shows staff.
extension ConsoleController {
    func registerBidder(on router: Router<GavelRequestContext>) {
        router.get("/console/lots/:id") { request, context in try await shown(request) { try await lotPage(request, context) } }
        router.get("/console/mine") { request, context in try await shown(request) { try await mine(request, context) } }
    }

    static func bidFields(_ words: [String: String], format: String) -> [ConsoleField] {
        let label = format == "sealed" ? words["sealedAmount"] : format == "fixed" ? words["fixedPrice"] : words["maxAmount"]
        return [ConsoleField(name: "maxAmount", label: label ?? "", kind: .money, required: true, hint: format == "english" ? words["maxHint"] : nil)]
    }

    func lotPage(
        _ request: Request, _ context: GavelRequestContext, state: ConsoleFormState? = nil, placed: JSONValue? = nil
    ) async throws -> Response {
        guard let signedIn = try await signedIn(request, context) else { return Self.toSignIn() }
        let id = try context.parameters.uuid("id").uuidString.lowercased()
        let language = ConsoleLanguage.of(request)
        let words = language.words
        let caller = signedIn.caller
        let found = try await api.call(.get, "/v1/lots/{id}", ["id": id], as: caller, context: context)
        if let problem = found.problem { return problemPage(request, problem, signedIn: signedIn) }
        let lot = found.json
        let history = try await api.call(.get, "/v1/lots/{id}/bids", ["id": id], query: ["limit": "50"], as: caller, context: context)
        var model = ConsoleView.model(lot) as? [String: Any] ?? [:]
        let status = Self.text(lot["status"])
        let format = Self.text(lot["format"])
        model["statusLabel"] = words["lot." + status] ?? status
        model["formatLabel"] = words["option." + format] ?? format
        model["live"] = ["scheduled", "open"].contains(status)
        model["shownPrice"] = lot["currentPrice"].flatMap { if case .integer(let p) = $0 { Money.display(p) } else { nil } } ?? "–"
        model["reserveMetText"] = lot["reserveMet"] == .bool(true) ? "✓" : "–"
        let isBidder = caller.role == .bidder
        let minimum = lot["minimumNextBid"].flatMap { if case .integer(let p) = $0 { p } else { nil } } ?? Int64(0)
        let body = pages.render("lot", [
            "t": words, "lot": model, "isBidder": isBidder, "mayBid": isBidder && status == "open",
            "bids": ConsoleView.items(history.json), "isStaff": caller.role.isStaff,
            "fields": ConsoleForms.render(
                Self.bidFields(words, format: format), state: state,
                defaults: ["maxAmount": Money.display(minimum).replacingOccurrences(of: ",", with: "")], words: words),
            "summary": state?.summary ?? [], "form": formTokens(signedIn),
            "placed": placed.map(ConsoleView.model) ?? false,
        ])
        return page(
            request, language: language, title: (words["lot"] ?? "") + " " + String(id.prefix(8)), body: body, signedIn: signedIn,
            current: "/console/lots", status: state == nil ? .ok : .unprocessableContent)
    }

    /// POST /console/lots/{id}/bids: the bid as the API takes it; its refusal (too low,
    /// deposit required, not open) beside the amount.
    func placeBid(_ request: Request, _ context: GavelRequestContext, form: [String: String], signedIn: SignedIn) async throws -> Response {
        let id = try context.parameters.uuid("id").uuidString.lowercased()
        let words = ConsoleLanguage.of(request).words
        let fields = Self.bidFields(words, format: "")
        let (body, conversion) = ConsoleForms.body(fields, form, words: words)
        if !conversion.isEmpty { return try await lotPage(request, context, state: ConsoleFormState(form: "bid", values: form, errors: conversion)) }
        let answer = try await api.call(
            .post, "/v1/lots/{id}/bids", ["id": id], body: body,
            idempotencyKey: Self.idempotencyKey(form["idem"], request), as: signedIn.caller, context: context)
        if let problem = answer.problem {
            var state = ConsoleForms.refused(problem, form: "bid", fields: fields, values: form)
            // A bid's refusals name no field but are about the amount: show them beside it.
            if state.errors.isEmpty {
                var message = problem.detail
                if case .integer(let minimum)? = problem.extensions["minimumNextBid"] {
                    message += " (" + (words["minimumNextBid"] ?? "") + " " + Money.display(minimum) + ")"
                }
                state.errors["maxAmount"] = message
                state.summary = []
            }
            return try await lotPage(request, context, state: state)
        }
        return try await lotPage(request, context, placed: answer.json)
    }

    func mine(_ request: Request, _ context: GavelRequestContext) async throws -> Response {
        guard let signedIn = try await signedIn(request, context) else { return Self.toSignIn() }
        guard signedIn.caller.role == .bidder else { return forbidden(request, signedIn: signedIn) }
        let language = ConsoleLanguage.of(request)
        let words = language.words
        let caller = signedIn.caller
        let all = try await api.call(.get, "/v1/lots", query: ["limit": "200"], as: caller, context: context)
        let closed = try await api.call(.get, "/v1/lots", query: ["status": "closed", "limit": "200"], as: caller, context: context)
        // A list answer has neither the vehicle nor the bidder's own maximum: each lot is
        // read as its own page reads it (a dealer follows tens of lots, not thousands).
        var bids: [[String: Any]] = []
        var seen: Set<String> = []
        let listed = (all.json["items"]?.elements ?? []) + (closed.json["items"]?.elements ?? [])
        for item in listed.prefix(100) {
            let id = Self.text(item["id"])
            guard seen.insert(id).inserted else { continue }
            let status = Self.text(item["status"])
            let live = ["scheduled", "open"].contains(status)
            let full = try await api.call(.get, "/v1/lots/{id}", ["id": id], as: caller, context: context)
            guard full.succeeded, !live || full.json["myMaxAmount"].map({ $0 != .null }) == true,
                  var row = ConsoleView.model(full.json) as? [String: Any] else { continue }
            row["statusLabel"] = words["lot." + status] ?? status
            row["title"] = Self.lotTitle(full.json)
            row["leadingText"] = full.json["leading"] == .bool(true) ? (words["yes"] ?? "") : (words["no"] ?? "")
            bids.append(row)
        }
        let deposits = try await api.call(.get, "/v1/deposits", query: ["limit": "200"], as: caller, context: context)
        let invoices = try await api.call(.get, "/v1/invoices", query: ["limit": "200"], as: caller, context: context)
        let body = pages.render("mine", [
            "t": words, "bids": bids, "deposits": ConsoleView.items(deposits.json),
            "invoices": (invoices.json["items"]?.elements ?? []).map { item -> Any in
                var row = ConsoleView.model(item) as? [String: Any] ?? [:]
                row["statusLabel"] = words["invoice." + Self.text(item["status"])] ?? Self.text(item["status"])
                row["overdue"] = item["overdue"] == .bool(true)
                return row
            },
        ])
        return page(request, language: language, title: words["mineTitle"] ?? "", body: body, signedIn: signedIn, current: "/console/mine")
    }
}
