import Crypto
import Foundation
import GavelCore
import GavelStore
import HTTPTypes
import Hummingbird

/// The disposal manager's pages: cases, one case with everything of it, and the forms
/// that move it along (vehicle, appraisal and its approval, lot with its prices shown
/// before it is saved, relist, cancel, return, decision, notices, expenses).
extension ConsoleController {
    func registerCases(on router: Router<GavelRequestContext>) {
        router.get("/console/cases") { request, context in try await shown(request) { try await cases(request, context) } }
        router.get("/console/cases/new") { request, context in try await shown(request) { try await newCase(request, context) } }
        router.post("/console/cases") { request, context in try await shown(request) { try await createCase(request, context) } }
        router.get("/console/cases/:id") { request, context in try await shown(request) { try await casePage(request, context) } }
        router.get("/console/cases/:id/statement") { request, context in try await shown(request) { try await statement(request, context) } }
        router.get("/console/notices/:id") { request, context in try await shown(request) { try await notice(request, context) } }
        // Every action on a case's page comes back to that page.
        router.post("/console/cases/:id/:action") { request, context in try await shown(request) { try await caseAction(request, context) } }
        router.post("/console/vehicles/:id/:action") { request, context in try await shown(request) { try await caseAction(request, context) } }
        router.post("/console/appraisals/:id/:action") { request, context in try await shown(request) { try await caseAction(request, context) } }
        router.post("/console/lots/:id/:action") { request, context in try await shown(request) { try await caseAction(request, context) } }
    }

    static let caseReaders: Set<Role> = [.manager, .finance, .admin]

    /// `/console/{area}/{id}/{action}` of an action form.
    static func action(_ context: GavelRequestContext) throws -> (area: String, id: String, action: String) {
        (try context.parameters.require("area"), try context.parameters.require("id"), try context.parameters.require("action"))
    }

    // MARK: - Cases

    func cases(_ request: Request, _ context: GavelRequestContext) async throws -> Response {
        guard let signedIn = try await signedIn(request, context) else { return Self.toSignIn() }
        guard Self.caseReaders.contains(signedIn.caller.role) else { return forbidden(request, signedIn: signedIn) }
        let language = ConsoleLanguage.of(request)
        let words = language.words
        let wanted = request.uri.queryParameters["status"].map(String.init) ?? ""
        let answer = try await api.call(.get, "/v1/cases", query: ["limit": "200"], as: signedIn.caller, context: context)
        var rows: [[String: Any]] = []
        for item in answer.json["items"]?.elements ?? [] {
            guard var row = ConsoleView.model(item) as? [String: Any] else { continue }
            let status = item["status"].flatMap { if case .string(let s) = $0 { s } else { nil } } ?? ""
            if !wanted.isEmpty && status != wanted { continue }
            row["statusLabel"] = words["case." + status] ?? status
            row["vehicleCount"] = String(item["vehicles"]?.elements?.count ?? 0)
            rows.append(row)
        }
        let statuses = ["", "open", "ready", "settled", "redeemed", "closed", "withdrawn"].map { status in
            ["value": status, "label": status.isEmpty ? (words["allStatuses"] ?? "") : (words["case." + status] ?? status), "selected": status == wanted] as [String: Any]
        }
        let body = pages.render("cases", [
            "t": words, "cases": rows, "statuses": statuses, "mayCreate": [.manager, .admin].contains(signedIn.caller.role),
        ])
        return page(request, language: language, title: words["casesTitle"] ?? "", body: body, signedIn: signedIn, current: "/console/cases")
    }

    static func caseFields(_ words: [String: String], consignors: [String]) -> [ConsoleField] {
        [
            ConsoleField(name: "consignorId", label: words["consignor"] ?? "", kind: .choice(consignors), required: true),
            ConsoleField(name: "loanNumber", label: words["loanNumber"] ?? "", required: true),
            ConsoleField(name: "borrower.name", label: words["borrowerName"] ?? "", required: true),
            ConsoleField(name: "borrower.idNumber", label: words["idNumber"] ?? ""),
            ConsoleField(name: "borrower.address", label: words["address"] ?? ""),
            ConsoleField(name: "guarantors[0].name", label: words["guarantorName"] ?? ""),
            ConsoleField(name: "guarantors[0].guaranteeType", label: words["guaranteeType"] ?? "", kind: .choice(["general", "joint"])),
            ConsoleField(name: "balances.principal", label: words["principal"] ?? "", kind: .money, required: true),
            ConsoleField(name: "balances.interest", label: words["interest"] ?? "", kind: .money, required: true),
            ConsoleField(name: "balances.fees", label: words["fees"] ?? "", kind: .money, required: true),
            ConsoleField(name: "balances.perDiemInterest", label: words["perDiemInterest"] ?? "", kind: .money, required: true),
            ConsoleField(name: "balances.asOf", label: words["asOfDate"] ?? "", kind: .date, required: true),
            ConsoleField(name: "lienholders[0].name", label: words["juniorName"] ?? ""),
            ConsoleField(name: "lienholders[0].amount", label: words["juniorAmount"] ?? "", kind: .money),
            ConsoleField(name: "lienholders[0].priority", label: words["juniorPriority"] ?? "", kind: .integer),
        ]
    }

    /// The consignors a user may open cases for: a manager its own, an admin any.
    func consignorChoices(_ signedIn: SignedIn, _ context: GavelRequestContext) async throws -> ([String], [String: String]) {
        if let own = signedIn.caller.user.consignorId {
            let answer = try await api.call(.get, "/v1/consignors/{id}", ["id": own.uuidString.lowercased()], as: signedIn.caller, context: context)
            let name = answer.json["name"].flatMap { if case .string(let s) = $0 { s } else { nil } } ?? own.uuidString.lowercased()
            return ([own.uuidString.lowercased()], ["option." + own.uuidString.lowercased(): name])
        }
        let answer = try await api.call(.get, "/v1/consignors", query: ["limit": "200"], as: signedIn.caller, context: context)
        var ids: [String] = []
        var names: [String: String] = [:]
        for item in answer.json["items"]?.elements ?? [] {
            guard case .string(let id) = item["id"], case .string(let name) = item["name"] else { continue }
            ids.append(id)
            names["option." + id] = name
        }
        return (ids, names)
    }

    func newCase(_ request: Request, _ context: GavelRequestContext, state: ConsoleFormState? = nil) async throws -> Response {
        guard let signedIn = try await signedIn(request, context) else { return Self.toSignIn() }
        guard [.manager, .admin].contains(signedIn.caller.role) else { return forbidden(request, signedIn: signedIn) }
        let language = ConsoleLanguage.of(request)
        var words = language.words
        let (consignors, names) = try await consignorChoices(signedIn, context)
        words.merge(names) { $1 }
        let today = String(Seam.now().rfc3339.prefix(10))
        let fields = ConsoleForms.render(
            Self.caseFields(words, consignors: consignors), state: state,
            defaults: ["balances.asOf": today, "balances.interest": "0.00", "balances.fees": "0.00", "balances.perDiemInterest": "0.00"],
            words: words)
        let body = pages.render("case-new", [
            "t": words, "fields": fields, "summary": state?.summary ?? [], "form": formTokens(signedIn),
        ])
        return page(
            request, language: language, title: words["newCaseTitle"] ?? "", body: body, signedIn: signedIn, current: "/console/cases",
            status: state == nil ? .ok : .unprocessableContent)
    }

    func createCase(_ request: Request, _ context: GavelRequestContext) async throws -> Response {
        guard let signedIn = try await signedIn(request, context) else { return Self.toSignIn() }
        let form = try await ConsoleForm.read(request)
        guard form["csrf"] == signedIn.csrf else { return try await refusedForm(request) }
        let words = ConsoleLanguage.of(request).words
        let fields = Self.caseFields(words, consignors: [])
        let (body, conversion) = ConsoleForms.body(fields, form, words: words)
        if !conversion.isEmpty {
            return try await newCase(request, context, state: ConsoleFormState(form: "case", values: form, errors: conversion))
        }
        let answer = try await api.call(
            .post, "/v1/cases", body: Self.droppingEmptyLists(body), idempotencyKey: Self.idempotencyKey(form["idem"], request),
            as: signedIn.caller, context: context)
        if let problem = answer.problem {
            return try await newCase(request, context, state: ConsoleForms.refused(problem, form: "case", fields: fields, values: form))
        }
        guard case .string(let id) = answer.json["id"] else { throw ConsoleMisconfigured(description: "a case without an id") }
        return Response(status: .seeOther, headers: [.location: "/console/cases/\(id)"])
    }

    /// A guarantor or junior row left blank is no guarantor or junior; a guarantee type
    /// alone (its select always sends one) is not a guarantor either.
    static func droppingEmptyLists(_ body: JSONValue) -> JSONValue {
        guard case .object(var members) = body else { return body }
        if case .array(let guarantors)? = members["guarantors"] {
            let kept = guarantors.filter { $0["name"] != nil }
            members["guarantors"] = .array(kept)
        }
        if case .array(let juniors)? = members["lienholders"] {
            members["lienholders"] = .array(juniors.map { junior in
                guard case .object(var fields) = junior else { return junior }
                if fields["eligible"] == nil { fields["eligible"] = .bool(true) }
                return .object(fields)
            })
        }
        return .object(members)
    }

    // MARK: - One case

    static func vehicleFields(_ words: [String: String]) -> [ConsoleField] {
        [
            ConsoleField(name: "vin", label: words["vin"] ?? "", required: true, hint: words["vinHint"]),
            ConsoleField(name: "make", label: words["make"] ?? "", required: true),
            ConsoleField(name: "model", label: words["model"] ?? "", required: true),
            ConsoleField(name: "year", label: words["year"] ?? "", kind: .integer, required: true),
            ConsoleField(name: "mileageKm", label: words["mileageKm"] ?? "", kind: .integer, required: true),
            ConsoleField(name: "color", label: words["color"] ?? ""),
            ConsoleField(name: "location", label: words["location"] ?? ""),
            ConsoleField(name: "titleStatus", label: words["titleStatus"] ?? "", kind: .choice(["clean", "salvage", "rebuilt", "missing"])),
            ConsoleField(name: "repossessedOn", label: words["repossessedOn"] ?? "", kind: .date, required: true),
            ConsoleField(name: "hasKeys", label: words["hasKeys"] ?? "", kind: .checkbox),
        ]
    }

    static func appraisalFields(_ words: [String: String]) -> [ConsoleField] {
        var fields = [
            ConsoleField(name: "valuationDate", label: words["valuationDate"] ?? "", kind: .date, required: true),
            ConsoleField(name: "conditionGrade", label: words["conditionGrade"] ?? "", kind: .decimal, required: true, hint: words["gradeHint"]),
        ]
        for index in 0..<3 {
            let n = " \(index + 1)"
            fields += [
                ConsoleField(name: "comparables[\(index)].price", label: (words["comparablePrice"] ?? "") + n, kind: .money),
                ConsoleField(name: "comparables[\(index)].year", label: (words["year"] ?? "") + n, kind: .integer),
                ConsoleField(name: "comparables[\(index)].mileageKm", label: (words["mileageKm"] ?? "") + n, kind: .integer),
                ConsoleField(name: "comparables[\(index)].soldOn", label: (words["soldOn"] ?? "") + n, kind: .date),
            ]
        }
        for index in 0..<2 {
            let n = " \(index + 1)"
            fields += [
                ConsoleField(name: "damages[\(index)].item", label: (words["damageItem"] ?? "") + n),
                ConsoleField(name: "damages[\(index)].repairCost", label: (words["repairCost"] ?? "") + n, kind: .money),
            ]
        }
        return fields
    }

    static func lotFields(_ words: [String: String], relist: Bool) -> [ConsoleField] {
        var fields = [
            ConsoleField(name: "format", label: words["format"] ?? "", kind: .choice(relist ? ["", "english", "sealed", "fixed"] : ["english", "sealed", "fixed"])),
            ConsoleField(name: "startsAt", label: words["startsAtUTC"] ?? "", kind: .datetime, required: true),
            ConsoleField(name: "endsAt", label: words["endsAtUTC"] ?? "", kind: .datetime, required: true),
        ]
        if !relist {
            fields += [
                ConsoleField(name: "override.startingPrice", label: words["overrideStart"] ?? "", kind: .money),
                ConsoleField(name: "override.reserve", label: words["overrideReserve"] ?? "", kind: .money),
                ConsoleField(name: "override.reason", label: words["overrideReason"] ?? ""),
            ]
        }
        return fields
    }

    static func reasonField(_ words: [String: String]) -> [ConsoleField] {
        [ConsoleField(name: "reason", label: words["reason"] ?? "", required: true)]
    }

    static func expenseFields(_ words: [String: String]) -> [ConsoleField] {
        [
            ConsoleField(name: "kind", label: words["expenseKind"] ?? "", kind: .choice(ExpenseKind.recordable.map(\.rawValue))),
            ConsoleField(name: "amount", label: words["amount"] ?? "", kind: .money, required: true),
            ConsoleField(name: "incurredOn", label: words["incurredOn"] ?? "", kind: .date, required: true),
            ConsoleField(name: "vendor", label: words["vendor"] ?? ""),
            ConsoleField(name: "reference", label: words["reference"] ?? ""),
        ]
    }

    /// The Idempotency-Key of a posted form: the page's key with the form's action, so that
    /// each form of a page has its own (a form sent twice is done once; another form of
    /// the same page is another request).
    static func idempotencyKey(_ pageKey: String?, _ request: Request) -> String? {
        pageKey.map { String(($0 + ":" + request.uri.path).prefix(255)) }
    }

    /// What a page keeps for a form it renders: the CSRF token and a fresh key, so that a
    /// form sent twice (a double click, a reload after posting) is done once.
    func formTokens(_ signedIn: SignedIn) -> [String: String] {
        ["csrf": signedIn.csrf, "idem": APIToken.generate()]
    }

    /// The case page. `state` is a form sent back with its errors; `preview` is the lot a
    /// lot form would create, shown before it is saved; `sent` the notices just sent.
    func casePage(
        _ request: Request, _ context: GavelRequestContext, caseId explicitId: String? = nil, state: ConsoleFormState? = nil,
        preview: (form: String, lot: JSONValue)? = nil, sent: JSONValue? = nil
    ) async throws -> Response {
        guard let signedIn = try await signedIn(request, context) else { return Self.toSignIn() }
        guard Self.caseReaders.contains(signedIn.caller.role) else { return forbidden(request, signedIn: signedIn) }
        let caseId = try explicitId ?? context.parameters.uuid("id").uuidString.lowercased()
        let language = ConsoleLanguage.of(request)
        let words = language.words
        let caller = signedIn.caller
        let found = try await api.call(.get, "/v1/cases/{id}", ["id": caseId], as: caller, context: context)
        if let problem = found.problem { return problemPage(request, problem, signedIn: signedIn) }
        let loanCase = found.json
        let role = caller.role
        let manages = [.manager, .admin].contains(role)
        let today = String(Seam.now().rfc3339.prefix(10))
        let tokens = formTokens(signedIn)
        let caseStatus = Self.text(loanCase["status"])
        let caseOpen = caseStatus == "open" || caseStatus == "ready"
        let start = Seam.now().addingTimeInterval(3_600).rfc3339.prefix(16)
        let end = Seam.now().addingTimeInterval(3 * 86_400).rfc3339.prefix(16)

        var vehicles: [[String: Any]] = []
        var lotIds: [(String, String)] = []
        // The forms this page shows: a refusal of any other stands at the top.
        var shown: Set<String> = []
        for vehicle in loanCase["vehicles"]?.elements ?? [] {
            let vehicleId = Self.text(vehicle["id"])
            let full = try await api.call(.get, "/v1/vehicles/{id}", ["id": vehicleId], as: caller, context: context).json
            guard var row = ConsoleView.model(full) as? [String: Any] else { continue }
            let status = Self.text(full["status"])
            row["statusLabel"] = words["vehicle." + status] ?? status
            let appraisals = (full["appraisals"]?.elements ?? []).map { appraisal -> [String: Any] in
                var model = ConsoleView.model(appraisal) as? [String: Any] ?? [:]
                let appraisalStatus = Self.text(appraisal["status"])
                model["statusLabel"] = words["appraisal." + appraisalStatus] ?? appraisalStatus
                model["decidable"] = manages && appraisalStatus == "draft"
                model["hasComparables"] = !(appraisal["comparables"]?.elements ?? []).isEmpty
                model["form"] = tokens
                return model
            }
            row["appraisals"] = appraisals
            let hasApproved = (full["appraisals"]?.elements ?? []).contains { Self.text($0["status"]) == "approved" }
            let lots = full["lots"]?.elements ?? []
            let latest = lots.last
            let latestStatus = latest.map { Self.text($0["status"]) } ?? ""
            var lotRows: [[String: Any]] = []
            for lot in lots {
                var model = ConsoleView.model(lot) as? [String: Any] ?? [:]
                let lotId = Self.text(lot["id"])
                let lotStatus = Self.text(lot["status"])
                model["statusLabel"] = words["lot." + lotStatus] ?? lotStatus
                model["formatLabel"] = words["option." + Self.text(lot["format"])] ?? Self.text(lot["format"])
                let isLatest = lotId == latest.map { Self.text($0["id"]) }
                model["cancellable"] = manages && ["scheduled", "open"].contains(lotStatus)
                model["decidable"] = manages && lotStatus == "pending-approval"
                model["relistable"] = manages && isLatest && ["unsold", "defaulted"].contains(lotStatus) && status == "in-stock"
                model["form"] = tokens
                if model["relistable"] as? Bool == true {
                    let formName = "relist-" + lotId
                    model["relistFields"] = ConsoleForms.render(
                        Self.lotFields(words, relist: true), state: state?.form == formName ? state : nil,
                        defaults: ["startsAt": String(start), "endsAt": String(end)], words: words, form: formName)
                    model["relistSummary"] = state?.form == formName ? state?.summary ?? [] : []
                    shown.insert(formName)
                    if let preview, preview.form == formName { model["preview"] = Self.previewModel(preview.lot, words: words) }
                }
                if lotStatus == "sold" { lotIds.append((lotId, Self.text(lot["currency"]))) }
                lotRows.append(model)
            }
            row["lots"] = lotRows
            row["form"] = tokens
            for flag in ["hasAppraisalForm", "appraisalOpen", "hasLotForm", "hasReturnForm", "returnOpen"] { row[flag] = false }
            if manages && status == "in-stock" && hasApproved && (latest == nil) {
                let formName = "lot-" + vehicleId
                row["lotFields"] = ConsoleForms.render(
                    Self.lotFields(words, relist: false), state: state?.form == formName ? state : nil,
                    defaults: ["startsAt": String(start), "endsAt": String(end), "format": "english"], words: words, form: formName)
                row["lotSummary"] = state?.form == formName ? state?.summary ?? [] : []
                row["hasLotForm"] = true
                shown.insert(formName)
                if let preview, preview.form == formName { row["preview"] = Self.previewModel(preview.lot, words: words) }
            }
            if [.appraiser, .manager, .admin].contains(role) && status == "in-stock" && !hasApproved
                && !(full["appraisals"]?.elements ?? []).contains(where: { Self.text($0["status"]) == "draft" }) {
                let formName = "appraisal-" + vehicleId
                row["appraisalFields"] = ConsoleForms.render(
                    Self.appraisalFields(words), state: state?.form == formName ? state : nil, defaults: ["valuationDate": today], words: words,
                    form: formName)
                row["appraisalSummary"] = state?.form == formName ? state?.summary ?? [] : []
                row["hasAppraisalForm"] = true
                shown.insert(formName)
                row["appraisalOpen"] = state?.form == formName
            }
            if manages && status == "in-stock" && !["scheduled", "open", "pending-approval"].contains(latestStatus) {
                let formName = "return-" + vehicleId
                row["returnFields"] = ConsoleForms.render(
                    Self.reasonField(words), state: state?.form == formName ? state : nil, words: words, form: formName)
                row["returnSummary"] = state?.form == formName ? state?.summary ?? [] : []
                row["hasReturnForm"] = true
                shown.insert(formName)
                row["returnOpen"] = state?.form == formName
            }
            vehicles.append(row)
        }

        var invoices: [[String: Any]] = []
        if [.finance, .admin].contains(role) {
            for (lotId, _) in lotIds {
                let invoice = try await api.call(.get, "/v1/lots/{id}/invoice", ["id": lotId], as: caller, context: context)
                guard invoice.succeeded, var model = ConsoleView.model(invoice.json) as? [String: Any] else { continue }
                model["statusLabel"] = words["invoice." + Self.text(invoice.json["status"])] ?? Self.text(invoice.json["status"])
                invoices.append(model)
            }
        }
        let expenses = try await api.call(.get, "/v1/cases/{id}/expenses", ["id": caseId], query: ["limit": "200"], as: caller, context: context)
        let payments = try await api.call(.get, "/v1/cases/{id}/payments", ["id": caseId], query: ["limit": "200"], as: caller, context: context)
        let payoff = try await api.call(.get, "/v1/cases/{id}/payoff", ["id": caseId], as: caller, context: context)

        var model = ConsoleView.model(loanCase) as? [String: Any] ?? [:]
        model["statusLabel"] = words["case." + caseStatus] ?? caseStatus
        let context_: [String: Any] = [
            "t": words, "case": model, "vehicles": vehicles, "invoices": invoices, "showInvoices": [.finance, .admin].contains(role),
            "expenses": ConsoleView.items(expenses.json), "payments": ConsoleView.items(payments.json),
            "payoff": payoff.succeeded ? ConsoleView.model(payoff.json) : false,
            "hasStatement": ["settled", "redeemed", "closed"].contains(caseStatus),
            "manages": manages && caseOpen, "form": tokens,
            "vehicleFields": ConsoleForms.render(
                Self.vehicleFields(words), state: state?.form == "vehicle" ? state : nil,
                defaults: ["repossessedOn": today, "hasKeys": "on", "titleStatus": "clean"], words: words),
            "vehicleSummary": state?.form == "vehicle" ? state?.summary ?? [] : [],
            "expenseFields": ConsoleForms.render(
                Self.expenseFields(words), state: state?.form == "expense" ? state : nil, defaults: ["incurredOn": today, "kind": "storage"],
                words: words),
            "expenseSummary": state?.form == "expense" ? state?.summary ?? [] : [],
            "mayRecordExpense": [.finance, .manager, .admin].contains(role) && caseOpen,
            "noticeFields": ConsoleForms.render(
                [ConsoleField(name: "lang", label: words["noticeLanguage"] ?? "", kind: .choice(["en", "zh-CN"]))],
                state: state?.form == "notices" ? state : nil, defaults: ["lang": language.rawValue], words: words),
            "noticeSummary": state?.form == "notices" ? state?.summary ?? [] : [],
            "sent": sent.map { ConsoleView.items($0) } ?? [], "hasSent": sent != nil,
            // The one-button forms (approve, reject, cancel, decide) have no place of their
            // own: their refusal stands at the top of the page.
            "actionSummary": state.map { state -> [String] in
                let placed = shown.contains(state.form)
                    || (manages && caseOpen && ["vehicle", "notices"].contains(state.form))
                    || ([.finance, .manager, .admin].contains(role) && caseOpen && state.form == "expense")
                return placed ? [] : state.summary + state.errors.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
            } ?? [],
            "expenseOpen": state?.form == "expense",
        ]
        let body = pages.render("case", context_)
        let failed = state != nil && preview == nil
        return page(
            request, language: language, title: (words["caseTitle"] ?? "") + " " + Self.text(loanCase["loanNumber"]), body: body,
            signedIn: signedIn, current: "/console/cases", status: failed ? .unprocessableContent : .ok)
    }

    static func previewModel(_ lot: JSONValue, words: [String: String]) -> [String: Any] {
        var model = ConsoleView.model(lot) as? [String: Any] ?? [:]
        model["formatLabel"] = words["option." + text(lot["format"])] ?? text(lot["format"])
        return model
    }

    static func text(_ value: JSONValue?) -> String {
        if case .string(let text)? = value { return text }
        if case .integer(let number)? = value { return String(number) }
        return ""
    }

    /// POST /console/{cases|vehicles|appraisals|lots}/{id}/{action}: one API call, then back
    /// to the case's page, or the page again with the form's errors beside its fields.
    func caseAction(_ request: Request, _ context: GavelRequestContext) async throws -> Response {
        guard let signedIn = try await signedIn(request, context) else { return Self.toSignIn() }
        let form = try await ConsoleForm.read(request)
        guard form["csrf"] == signedIn.csrf else { return try await refusedForm(request) }
        let id = try context.parameters.uuid("id").uuidString.lowercased()
        let action = try context.parameters.require("action")
        let area = request.uri.path.split(separator: "/").dropFirst().first.map(String.init) ?? ""
        if area == "lots" && action == "bids" { return try await placeBid(request, context, form: form, signedIn: signedIn) }
        guard let caseId = form["caseId"].flatMap(UUID.init(uuidString:))?.uuidString.lowercased() ?? (area == "cases" ? id : nil) else {
            throw HTTPError(.badRequest, message: "the form names no case")
        }
        let words = ConsoleLanguage.of(request).words
        let preview = form["step"] == "preview"
        let route: (method: HTTPRequest.Method, path: String, form: String, fields: [ConsoleField], query: [String: String])
        switch (area, action) {
        case ("cases", "vehicles"): route = (.post, "/v1/cases/{id}/vehicles", "vehicle", Self.vehicleFields(words), [:])
        case ("cases", "expenses"): route = (.post, "/v1/cases/{id}/expenses", "expense", Self.expenseFields(words), [:])
        case ("cases", "notices"):
            route = (.post, "/v1/cases/{id}/notices", "notices", [ConsoleField(name: "lang", label: "", kind: .choice(["en", "zh-CN"]))], [:])
        case ("vehicles", "appraisals"): route = (.post, "/v1/vehicles/{id}/appraisals", "appraisal-" + id, Self.appraisalFields(words), [:])
        case ("vehicles", "lots"):
            route = (.post, "/v1/lots", "lot-" + id, Self.lotFields(words, relist: false), preview ? ["preview": "true"] : [:])
        case ("vehicles", "return"): route = (.post, "/v1/vehicles/{id}/return", "return-" + id, Self.reasonField(words), [:])
        case ("appraisals", "approve"): route = (.post, "/v1/appraisals/{id}/approve", "approve-" + id, [], [:])
        case ("appraisals", "reject"): route = (.post, "/v1/appraisals/{id}/reject", "reject-" + id, Self.reasonField(words), [:])
        case ("lots", "relist"):
            route = (.post, "/v1/lots/{id}/relist", "relist-" + id, Self.lotFields(words, relist: true), preview ? ["preview": "true"] : [:])
        case ("lots", "cancel"): route = (.post, "/v1/lots/{id}/cancel", "cancel-" + id, Self.reasonField(words), [:])
        case ("lots", "decision"):
            route = (.post, "/v1/lots/{id}/decision", "decision-" + id, [ConsoleField(name: "accept", label: "", kind: .checkbox)], [:])
        default:
            throw HTTPError(.notFound)
        }
        var (body, conversion) = ConsoleForms.body(route.fields, form, words: words)
        if action == "decision" { body = .object(["accept": .bool(form["accept"] == "true")]) }
        if action == "lots", case .object(var members) = body {
            members["vehicleId"] = .string(id)
            // An override is all three of its fields or none: a blank one is no override.
            if case .object(let override)? = members["override"], override.isEmpty { members["override"] = nil }
            body = .object(members)
        }
        if action == "relist", case .object(var members) = body, members["format"] == .string("") {
            members["format"] = nil
            body = .object(members)
        }
        if !conversion.isEmpty {
            return try await casePage(request, context, caseId: caseId, state: ConsoleFormState(form: route.form, values: form, errors: conversion))
        }
        let answer = try await api.call(
            route.method, route.path, ["id": id], query: route.query, body: body,
            idempotencyKey: preview ? nil : Self.idempotencyKey(form["idem"], request),
            as: signedIn.caller, context: context)
        if let problem = answer.problem {
            return try await casePage(
                request, context, caseId: caseId, state: ConsoleForms.refused(problem, form: route.form, fields: route.fields, values: form))
        }
        if preview {
            return try await casePage(
                request, context, caseId: caseId, state: ConsoleFormState(form: route.form, values: form), preview: (route.form, answer.json))
        }
        if action == "notices" { return try await casePage(request, context, caseId: caseId, sent: answer.json) }
        return Response(status: .seeOther, headers: [.location: "/console/cases/\(caseId)"])
    }

    /// The printable statement, as the API renders it, in the language asked for.
    func statement(_ request: Request, _ context: GavelRequestContext) async throws -> Response {
        guard let signedIn = try await signedIn(request, context) else { return Self.toSignIn() }
        let id = try context.parameters.uuid("id").uuidString.lowercased()
        let language = ConsoleLanguage.of(request)
        let answer = try await api.call(
            .get, "/v1/cases/{id}/settlement", ["id": id], query: ["lang": language.rawValue], accept: "text/html", as: signedIn.caller,
            context: context)
        if let problem = answer.problem { return problemPage(request, problem, signedIn: signedIn) }
        return document(answer)
    }

    func notice(_ request: Request, _ context: GavelRequestContext) async throws -> Response {
        guard let signedIn = try await signedIn(request, context) else { return Self.toSignIn() }
        let id = try context.parameters.uuid("id").uuidString.lowercased()
        let answer = try await api.call(.get, "/v1/notices/{id}", ["id": id], accept: "text/html", as: signedIn.caller, context: context)
        if let problem = answer.problem { return problemPage(request, problem, signedIn: signedIn) }
        return document(answer)
    }

    /// A printable document the API rendered (statement, notice, remittance advice).
    /// Its own style sheet is allowed by its digest, so the console keeps a policy without
    /// `unsafe-inline` here too.
    func document(_ answer: ConsoleAPI.Answer) -> Response {
        var digests: [String] = []
        var rest = Substring(answer.text)
        while let open = rest.range(of: "<style>"), let close = rest.range(of: "</style>", range: open.upperBound..<rest.endIndex) {
            let sheet = rest[open.upperBound..<close.lowerBound]
            digests.append("'sha256-" + Data(SHA256.hash(data: Data(sheet.utf8))).base64EncodedString() + "'")
            rest = rest[close.upperBound...]
        }
        let policy = "default-src 'none'; style-src 'self' \(digests.joined(separator: " ")); img-src 'self' data:; "
            + "form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
        return Response(
            status: .ok, headers: [.contentType: answer.contentType, .cacheControl: "no-store", .contentSecurityPolicy: policy],
            body: .init(byteBuffer: ByteBuffer(string: answer.text)))
    }

    /// An API refusal as a page (404 for a case another consignor's manager asks for).
    func problemPage(_ request: Request, _ problem: Problem, signedIn: SignedIn?) -> Response {
        let language = ConsoleLanguage.of(request)
        let words = language.words
        if problem.status == .forbidden { return forbidden(request, signedIn: signedIn) }
        let body = pages.render("problem", ["t": words, "heading": problem.title, "detail": problem.detail])
        return page(request, language: language, title: problem.title, body: body, signedIn: signedIn, status: problem.status)
    }
}
