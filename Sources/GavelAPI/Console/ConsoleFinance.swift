import Foundation
import GavelCore
import GavelStore
import HTTPTypes
import Hummingbird

/// The finance desk: what buyers owe (overdue first), payments and deposits, what is to
/// be paid out, the bank statement matched against the books, the trial balance and the
/// remittance advices.
extension ConsoleController {
    func registerFinance(on router: Router<GavelRequestContext>) {
        router.get("/console/finance") { request, context in try await shown(request) { try await financeDesk(request, context) } }
        router.post("/console/finance/bank-lines") { request, context in try await shown(request) { try await uploadBankLines(request, context) } }
        router.post("/console/finance/:area/:id/:action") { request, context in try await shown(request) { try await financeAction(request, context) } }
        router.get("/console/remittance/:id") { request, context in try await shown(request) { try await remittance(request, context) } }
        router.get("/console/remittance/:id/csv") { request, context in try await shown(request) { try await remittanceCSV(request, context) } }
    }

    static let financeRoles: Set<Role> = [.finance, .admin]

    static func paymentFields(_ words: [String: String]) -> [ConsoleField] {
        [
            ConsoleField(name: "amount", label: words["amount"] ?? "", kind: .money, required: true),
            ConsoleField(name: "reference", label: words["reference"] ?? "", required: true),
            ConsoleField(name: "receivedOn", label: words["receivedOn"] ?? "", kind: .date, required: true),
        ]
    }

    static func depositFields(_ words: [String: String]) -> [ConsoleField] {
        [
            ConsoleField(name: "bidderId", label: words["bidderId"] ?? "", required: true),
            ConsoleField(name: "amount", label: words["amount"] ?? "", kind: .money, required: true),
            ConsoleField(name: "reference", label: words["reference"] ?? "", required: true),
        ]
    }

    static func payoutFields(_ words: [String: String]) -> [ConsoleField] {
        [
            ConsoleField(name: "amount", label: words["amount"] ?? "", kind: .money, required: true),
            ConsoleField(name: "reference", label: words["reference"] ?? "", required: true),
            ConsoleField(name: "paidOn", label: words["paidOn"] ?? "", kind: .date, required: true),
        ]
    }

    static func referenceFields(_ words: [String: String]) -> [ConsoleField] {
        [ConsoleField(name: "reference", label: words["reference"] ?? "", required: true)]
    }

    func financeDesk(
        _ request: Request, _ context: GavelRequestContext, state: ConsoleFormState? = nil, reconciliation: JSONValue? = nil,
        status: HTTPResponse.Status? = nil
    ) async throws -> Response {
        guard let signedIn = try await signedIn(request, context) else { return Self.toSignIn() }
        guard Self.financeRoles.contains(signedIn.caller.role) else { return forbidden(request, signedIn: signedIn) }
        let language = ConsoleLanguage.of(request)
        let words = language.words
        let caller = signedIn.caller
        let tokens = formTokens(signedIn)
        let today = String(Seam.now().rfc3339.prefix(10))
        // The forms this page shows: a refusal of any other (an invoice paid meanwhile)
        // stands at the top.
        var shown: Set<String> = ["bank"]
        func fields(_ list: [ConsoleField], _ form: String, _ defaults: [String: String] = [:]) -> [[String: Any]] {
            shown.insert(form)
            return ConsoleForms.render(list, state: state?.form == form ? state : nil, defaults: defaults, words: words, form: form)
        }
        func summary(_ form: String) -> [String] { state?.form == form ? state?.summary ?? [] : [] }

        let open = try await api.call(.get, "/v1/invoices", query: ["status": "open", "limit": "200"], as: caller, context: context)
        var invoices: [[String: Any]] = []
        for item in open.json["items"]?.elements ?? [] {
            guard var row = ConsoleView.model(item) as? [String: Any] else { continue }
            let id = Self.text(item["id"])
            let form = "payment-" + id
            row["overdue"] = item["overdue"] == .bool(true)
            row["fields"] = fields(Self.paymentFields(words), form, [
                "amount": Money.display(Int64(Self.text(item["outstanding"])) ?? 0).replacingOccurrences(of: ",", with: ""),
                "receivedOn": today,
            ])
            row["summary"] = summary(form)
            row["form"] = tokens
            invoices.append(row)
        }
        // Overdue first, then by due date: what finance chases first.
        invoices.sort { left, right in
            let l = left["overdue"] as? Bool ?? false, r = right["overdue"] as? Bool ?? false
            if l != r { return l }
            return (left["dueAt"] as? String ?? "") < (right["dueAt"] as? String ?? "")
        }

        let live = try await api.call(.get, "/v1/lots", query: ["limit": "200"], as: caller, context: context)
        var lots: [[String: Any]] = []
        for item in live.json["items"]?.elements ?? [] where ["scheduled", "open"].contains(Self.text(item["status"])) {
            guard var row = ConsoleView.model(item) as? [String: Any] else { continue }
            let id = Self.text(item["id"])
            let form = "deposit-" + id
            row["title"] = Self.lotTitle(item)
            row["fields"] = fields(Self.depositFields(words), form, [
                "amount": Money.display(Int64(Self.text(item["depositAmount"])) ?? 0).replacingOccurrences(of: ",", with: ""),
            ])
            row["summary"] = summary(form)
            row["form"] = tokens
            lots.append(row)
        }

        let held = try await api.call(.get, "/v1/deposits", query: ["limit": "200"], as: caller, context: context)
        var deposits: [[String: Any]] = []
        // Only a deposit owed back is refunded (a held one still secures a live lot).
        for item in held.json["items"]?.elements ?? [] where Self.text(item["status"]) == "refund-due" {
            guard var row = ConsoleView.model(item) as? [String: Any] else { continue }
            let form = "refund-" + Self.text(item["id"])
            row["fields"] = fields(Self.referenceFields(words), form)
            row["summary"] = summary(form)
            row["form"] = tokens
            deposits.append(row)
        }

        let due = try await api.call(.get, "/v1/payables", query: ["limit": "200"], as: caller, context: context)
        var payables: [[String: Any]] = []
        for (index, item) in (due.json["items"]?.elements ?? []).enumerated() {
            guard var row = ConsoleView.model(item) as? [String: Any] else { continue }
            let kind = Self.text(item["kind"])
            row["kindLabel"] = words["payable." + kind] ?? kind
            // Only the four kinds of POST /v1/payouts are paid here; a surplus refund is
            // paid from its own list below.
            row["payable"] = ["consignor", "lienholder", "vendor", "buyer-refund"].contains(kind)
            let form = "payout-\(index)"
            row["formName"] = form
            row["fields"] = fields(Self.payoutFields(words), form, [
                "amount": Money.display(Int64(Self.text(item["amount"])) ?? 0).replacingOccurrences(of: ",", with: ""), "paidOn": today,
            ])
            row["summary"] = summary(form)
            row["form"] = tokens
            payables.append(row)
        }

        let refunds = try await api.call(.get, "/v1/surplus-refunds", query: ["limit": "200"], as: caller, context: context)
        var surplus: [[String: Any]] = []
        for item in refunds.json["items"]?.elements ?? [] where Self.text(item["status"]) != "paid" {
            guard var row = ConsoleView.model(item) as? [String: Any] else { continue }
            let form = "surplus-" + Self.text(item["id"])
            row["fields"] = fields(Self.referenceFields(words), form)
            row["summary"] = summary(form)
            row["form"] = tokens
            surplus.append(row)
        }

        let allCases = try await api.call(.get, "/v1/cases", query: ["limit": "200"], as: caller, context: context)
        var ready: [[String: Any]] = []
        var consignorIds: [String] = []
        for item in allCases.json["items"]?.elements ?? [] {
            let consignorId = Self.text(item["consignorId"])
            if !consignorIds.contains(consignorId) { consignorIds.append(consignorId) }
            guard Self.text(item["status"]) == "ready", var row = ConsoleView.model(item) as? [String: Any] else { continue }
            row["form"] = tokens
            row["summary"] = summary("settle-" + Self.text(item["id"]))
            shown.insert("settle-" + Self.text(item["id"]))
            ready.append(row)
        }
        var consignors: [[String: String]] = []
        for id in consignorIds {
            // Finance may not read a consignor, but its remittance advice names it.
            let advice = try await api.call(.get, "/v1/consignors/{id}/remittance", ["id": id], as: caller, context: context)
            consignors.append(["id": id, "name": advice.succeeded ? Self.text(advice.json["consignor"]) : String(id.prefix(8))])
        }

        let balance = try await api.call(.get, "/v1/ledger/trial-balance", as: caller, context: context)
        var result: [String: Any] = [:]
        if let reconciliation {
            result = [
                "matched": (reconciliation["matched"]?.elements ?? []).map(ConsoleView.model),
                "unmatchedBankLines": (reconciliation["unmatchedBankLines"]?.elements ?? []).map(ConsoleView.model),
                "unmatchedBookItems": (reconciliation["unmatchedBookItems"]?.elements ?? []).map(ConsoleView.model),
                "unmatchedBookCount": String(reconciliation["unmatchedBookItems"]?.elements?.count ?? 0),
                "alreadyImported": (reconciliation["alreadyImported"]?.elements ?? []).map(ConsoleView.model),
            ]
        }
        let body = pages.render("finance", [
            "t": words, "invoices": invoices, "lots": lots, "deposits": deposits, "payables": payables, "surplus": surplus,
            "ready": ready, "consignors": consignors, "trial": ConsoleView.model(balance.json), "form": tokens,
            "reconciliation": reconciliation == nil ? false : result, "bankSummary": summary("bank"),
            "bankError": state?.form == "bank" ? (state?.errors["file"] ?? false) as Any : false,
            "actionSummary": state.map { state in
                shown.contains(state.form) ? [] : state.summary + state.errors.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
            } ?? [],
        ])
        return page(
            request, language: language, title: words["financeTitle"] ?? "", body: body, signedIn: signedIn, current: "/console/finance",
            status: status ?? (state == nil ? .ok : .unprocessableContent))
    }

    /// POST /console/finance/{invoices|lots|deposits|payables|surplus|cases}/{id}/{action}
    func financeAction(_ request: Request, _ context: GavelRequestContext) async throws -> Response {
        guard let signedIn = try await signedIn(request, context) else { return Self.toSignIn() }
        let form = try await ConsoleForm.read(request)
        guard form["csrf"] == signedIn.csrf else { return try await refusedForm(request) }
        let (area, id, action) = try Self.action(context)
        let words = ConsoleLanguage.of(request).words
        let route: (path: String, form: String, fields: [ConsoleField], extra: [String: JSONValue])
        switch (area, action) {
        case ("invoices", "payments"): route = ("/v1/invoices/{id}/payments", "payment-" + id, Self.paymentFields(words), [:])
        case ("lots", "deposits"): route = ("/v1/lots/{id}/deposits", "deposit-" + id, Self.depositFields(words), [:])
        case ("deposits", "refund"): route = ("/v1/deposits/{id}/refund", "refund-" + id, Self.referenceFields(words), [:])
        case ("surplus", "pay"): route = ("/v1/surplus-refunds/{id}/pay", "surplus-" + id, Self.referenceFields(words), [:])
        case ("cases", "settlement"): route = ("/v1/cases/{id}/settlement", "settle-" + id, [], [:])
        case ("payables", "pay"):
            // The payable's kind, case and payee travel in the form; the API checks them
            // against what is open (422 overpayment otherwise).
            var extra: [String: JSONValue] = [:]
            for key in ["kind", "caseId", "payee"] { if let value = form[key] { extra[key] = .string(value) } }
            route = ("/v1/payouts", id, Self.payoutFields(words), extra)
        default:
            throw HTTPError(.notFound)
        }
        guard area == "payables" || UUID(uuidString: id) != nil else { throw HTTPError(.notFound) }
        var (body, conversion) = ConsoleForms.body(route.fields, form, words: words)
        if case .object(var members) = body {
            members.merge(route.extra) { $1 }
            body = .object(members)
        }
        if !conversion.isEmpty {
            return try await financeDesk(request, context, state: ConsoleFormState(form: route.form, values: form, errors: conversion))
        }
        let answer = try await api.call(
            .post, route.path, ["id": id], body: body,
            idempotencyKey: Self.idempotencyKey(form["idem"], request), as: signedIn.caller, context: context)
        if let problem = answer.problem {
            return try await financeDesk(
                request, context, state: ConsoleForms.refused(problem, form: route.form, fields: route.fields, values: form))
        }
        if area == "cases" { return Response(status: .seeOther, headers: [.location: "/console/cases/\(id)"]) }
        return Response(status: .seeOther, headers: [.location: "/console/finance"])
    }

    /// The bank statement as a file (`multipart/form-data`), sent to the API as the CSV it
    /// takes; the answer shown as matched lines beside the unmatched ones.
    func uploadBankLines(_ request: Request, _ context: GavelRequestContext) async throws -> Response {
        guard let signedIn = try await signedIn(request, context) else { return Self.toSignIn() }
        let buffer = try await request.body.collect(upTo: JSONBody.maximumSize)
        let parts = MultipartForm.parse(buffer, contentType: request.headers[.contentType] ?? "")
        guard parts["csrf"] == signedIn.csrf else { return try await refusedForm(request) }
        let words = ConsoleLanguage.of(request).words
        let csv = parts["file"] ?? ""
        guard !csv.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            return try await financeDesk(
                request, context, state: ConsoleFormState(form: "bank", values: [:], errors: ["file": words["chooseFile"] ?? ""]))
        }
        let currency = parts["currency"].flatMap { Currency.isKnown($0) ? $0 : nil } ?? "CNY"
        let answer = try await api.call(
            .post, "/v1/reconciliation/bank-lines", query: ["currency": currency], rawBody: (csv, "text/csv"),
            idempotencyKey: Self.idempotencyKey(parts["idem"], request), as: signedIn.caller, context: context)
        if let problem = answer.problem {
            var state = ConsoleFormState(form: "bank", values: [:])
            state.summary = [problem.detail] + problem.errors.map { $0.field.isEmpty ? $0.message : "\($0.field): \($0.message)" }
            return try await financeDesk(request, context, state: state)
        }
        return try await financeDesk(request, context, reconciliation: answer.json)
    }

    func remittance(_ request: Request, _ context: GavelRequestContext) async throws -> Response {
        guard let signedIn = try await signedIn(request, context) else { return Self.toSignIn() }
        let id = try context.parameters.uuid("id").uuidString.lowercased()
        let language = ConsoleLanguage.of(request)
        let words = language.words
        let answer = try await api.call(
            .get, "/v1/consignors/{id}/remittance", ["id": id], query: ["lang": language.rawValue], as: signedIn.caller, context: context)
        if let problem = answer.problem { return problemPage(request, problem, signedIn: signedIn) }
        var model = ConsoleView.model(answer.json) as? [String: Any] ?? [:]
        model["consignorId"] = id
        let body = pages.render("remittance", ["t": words, "advice": model])
        return page(request, language: language, title: words["remittanceTitle"] ?? "", body: body, signedIn: signedIn, current: "/console/finance")
    }

    func remittanceCSV(_ request: Request, _ context: GavelRequestContext) async throws -> Response {
        guard let signedIn = try await signedIn(request, context) else { return Self.toSignIn() }
        let id = try context.parameters.uuid("id").uuidString.lowercased()
        let answer = try await api.call(
            .get, "/v1/consignors/{id}/remittance", ["id": id], query: ["lang": ConsoleLanguage.of(request).rawValue], accept: "text/csv",
            as: signedIn.caller, context: context)
        if let problem = answer.problem { return problemPage(request, problem, signedIn: signedIn) }
        return Response(
            status: .ok,
            headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"remittance-\(id.prefix(8)).csv\""],
            body: .init(byteBuffer: ByteBuffer(string: answer.text)))
    }
}

extension ConsoleController {
    /// A lot by its vehicle ("2019 Honda Accord, round 2"), or by its ID's start when the
    /// answer has no vehicle.
    static func lotTitle(_ lot: JSONValue) -> String {
        let round = text(lot["round"])
        guard let vehicle = lot["vehicle"], vehicle != .null else { return String(text(lot["id"]).prefix(8)) + " · " + round }
        return "\(text(vehicle["year"])) \(text(vehicle["make"])) \(text(vehicle["model"])) · \(round)"
    }
}

/// A `multipart/form-data` body's text parts by name (the bank statement's file among them).
enum MultipartForm {
    static func parse(_ buffer: ByteBuffer, contentType: String) -> [String: String] {
        guard let boundaryText = contentType.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) })
            .first(where: { $0.lowercased().hasPrefix("boundary=") })?.dropFirst("boundary=".count)
        else { return [:] }
        let boundary = "--" + boundaryText.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        let bytes = Array(buffer.readableBytesView)
        let delimiter = Array(boundary.utf8)
        var parts: [String: String] = [:]
        var starts: [Int] = []
        var index = 0
        while index + delimiter.count <= bytes.count {
            if bytes[index] == delimiter[0], Array(bytes[index..<index + delimiter.count]) == delimiter {
                starts.append(index)
                index += delimiter.count
            } else {
                index += 1
            }
        }
        for (start, end) in zip(starts, starts.dropFirst()) {
            let part = bytes[(start + delimiter.count)..<end]
            guard let split = part.indices.first(where: { i in
                i + 3 < part.endIndex && part[i] == 13 && part[i + 1] == 10 && part[i + 2] == 13 && part[i + 3] == 10
            }) else { continue }
            let head = String(decoding: part[part.startIndex..<split], as: UTF8.self)
            var content = Array(part[(split + 4)...])
            if content.suffix(2) == [13, 10] { content.removeLast(2) }
            guard let nameRange = head.range(of: "name=\"") else { continue }
            let name = head[nameRange.upperBound...].prefix { $0 != "\"" }
            parts[String(name)] = String(decoding: content, as: UTF8.self)
        }
        return parts
    }
}
