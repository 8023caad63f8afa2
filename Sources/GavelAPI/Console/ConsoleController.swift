import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import HTTPTypes
import Hummingbird
import Mustache

/// The web console under `/console`: server-rendered pages from the templates in
/// `Console/templates`, assets from `Console/assets`, signed in with a session cookie.
/// Pages act through the same workflows as the API, as the signed-in user, so a page shows
/// what the API would let that user see and nothing more.
struct ConsoleController: Sendable {
    let database: Database
    let pages: ConsolePages
    let api: ConsoleAPI

    static let sessionCookie = "gavel_session"
    /// The double-submit token of the sign-in form (there is no session yet to hold one).
    static let signInCookie = "gavel_sign_in"
    static let languageCookie = "gavel_lang"

    /// No inline script or style anywhere in the console.
    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; connect-src 'self'; "
        + "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

    func register(on router: Router<GavelRequestContext>) {
        router.get("/console/sign-in") { request, context in try await shown(request) { try await signInPage(request, context) } }
        router.post("/console/sign-in") { request, context in try await shown(request) { try await signIn(request, context) } }
        router.post("/console/sign-out") { request, context in try await shown(request) { try await signOut(request, context) } }
        router.get("/console") { request, context in try await shown(request) { try await dashboard(request, context) } }
        router.get("/console/lots") { request, context in try await shown(request) { try await lots(request, context) } }
        router.get("/console/board") { request, context in try await shown(request) { try await board(request, context) } }
        router.get("/console/reports/pipeline.csv") { request, context in try await shown(request) { try await pipelineCSV(request, context) } }
        router.get("/console/reports/recovery.csv") { request, context in try await shown(request) { try await recoveryCSV(request, context) } }
        router.get("/console/assets/{name}") { request, context in try asset(request, context) }
        registerCases(on: router)
        registerFinance(on: router)
        registerBidder(on: router)
        registerAdmin(on: router)
    }

    // MARK: - Signing in and out

    func signInPage(_ request: Request, _ context: GavelRequestContext, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let language = ConsoleLanguage.of(request)
        let csrf = APIToken.generate()
        let body = pages.render("sign-in", ["t": language.words, "csrf": csrf, "error": error as Any])
        var response = page(request, language: language, title: language.words["signInTitle"] ?? "", body: body, status: status)
        response.setCookie(Cookie(
            name: Self.signInCookie, value: csrf, maxAge: 3_600, path: "/console", secure: Self.isSecure(request), httpOnly: true,
            sameSite: .strict))
        return response
    }

    func signIn(_ request: Request, _ context: GavelRequestContext) async throws -> Response {
        let form = try await ConsoleForm.read(request)
        guard let sent = form["csrf"], let expected = request.cookies[Self.signInCookie]?.value, sent == expected else {
            return try await refusedForm(request)
        }
        let language = ConsoleLanguage.of(request)
        let token = (form["token"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty, token.utf8.count <= 200 else {
            return try await signInPage(request, context, error: language.words["tokenMissing"], status: .unprocessableContent)
        }
        let opened = try await Desk(database: database).change(logger: context.logger, requestId: context.requestID) { session in
            try await ConsoleSessions().signIn(apiToken: token, in: session)
        }
        guard let opened else {
            return try await signInPage(request, context, error: language.words["tokenUnknown"], status: .unauthorized)
        }
        var response = Response(status: .seeOther, headers: [.location: "/console"])
        response.setCookie(Cookie(
            name: Self.sessionCookie, value: opened.sessionToken, maxAge: Int(ConsoleSessions.lifetime.components.seconds), path: "/",
            secure: Self.isSecure(request), httpOnly: true, sameSite: .strict))
        response.setCookie(Cookie(name: Self.signInCookie, value: "", maxAge: 0, path: "/console", httpOnly: true, sameSite: .strict))
        return response
    }

    func signOut(_ request: Request, _ context: GavelRequestContext) async throws -> Response {
        let form = try await ConsoleForm.read(request)
        guard let signedIn = try await signedIn(request, context) else { return Self.toSignIn() }
        guard form["csrf"] == signedIn.csrf else { return try await refusedForm(request) }
        let token = signedIn.token
        try await Desk(database: database).change(logger: context.logger, requestId: context.requestID) { session in
            try await ConsoleSessions().signOut(sessionToken: token, in: session)
        }
        var response = Self.toSignIn()
        response.setCookie(Cookie(name: Self.sessionCookie, value: "", maxAge: 0, path: "/", httpOnly: true, sameSite: .strict))
        return response
    }

    // MARK: - Pages

    func dashboard(_ request: Request, _ context: GavelRequestContext) async throws -> Response {
        guard let signedIn = try await signedIn(request, context) else { return Self.toSignIn() }
        guard signedIn.caller.role.isStaff, signedIn.caller.role != .appraiser else {
            return Response(status: .seeOther, headers: [.location: "/console/lots"])
        }
        let language = ConsoleLanguage.of(request)
        let caller = signedIn.caller
        let (pipeline, recovery) = try await Desk(database: database).read(logger: context.logger) { session in
            let pipeline = try await Reporting().pipeline(consignorId: nil, afterSeq: 0, limit: 1, for: caller, in: session).0
            let recovery = try await Reporting().recovery(consignorId: nil, from: nil, to: nil, for: caller, in: session)
            return (pipeline, recovery)
        }
        let words = language.words
        let stages = pipeline.stages.map { stage in
            ["label": words["stage." + stage.stage] ?? stage.stage, "count": String(stage.count),
             "averageDays": String(stage.averageDays), "oldestDays": String(stage.oldestDays)]
        }
        let pipelineChart = SVGChart.bars(
            title: words["pipelineChart"] ?? "", bars: pipeline.stages.map { (words["stage." + $0.stage] ?? $0.stage, Int64($0.count), String($0.count)) })
        let rows = recovery.items.map { row in
            ["consignor": row.consignorName, "month": row.month, "cases": String(row.cases),
             "rate": row.recoveryBp.map { Self.percent($0) } ?? "–",
             "daysToSale": row.averageDaysToSale.map(String.init) ?? "–",
             "daysToSettlement": row.averageDaysToSettlement.map(String.init) ?? "–"]
        }
        let recoveryChart = SVGChart.bars(
            title: words["recoveryChart"] ?? "",
            bars: recovery.items.map { ("\($0.consignorName) \($0.month)", $0.recoveryBp ?? 0, $0.recoveryBp.map { Self.percent($0) } ?? "–") })
        let body = pages.render("dashboard", [
            "t": words, "asOf": pipeline.asOf, "stages": stages, "pipelineChart": pipelineChart, "recovery": rows,
            "recoveryChart": recoveryChart,
        ])
        return page(request, language: language, title: words["dashboardTitle"] ?? "", body: body, signedIn: signedIn, current: "/console")
    }

    func lots(_ request: Request, _ context: GavelRequestContext) async throws -> Response {
        guard let signedIn = try await signedIn(request, context) else { return Self.toSignIn() }
        let language = ConsoleLanguage.of(request)
        let caller = signedIn.caller
        let found = try await Desk(database: database).read(logger: context.logger) { session in
            try await Lots().list(status: nil, consignorId: nil, afterSeq: 0, limit: 200, withVehicles: true, for: caller, in: session)
        }
        let rows = found.map(\.answer).filter { ["scheduled", "open", "pending-approval"].contains($0.status) }.map { lot -> [String: String] in
            let vehicle: String = lot.vehicle.map { "\($0.year) \($0.make) \($0.model)" } ?? String(lot.vehicleId.prefix(8))
            let price: String = lot.currentPrice.map { Money.display($0) } ?? Money.display(lot.startingPrice)
            return [
                "id": String(lot.id.prefix(8)), "fullId": lot.id, "round": String(lot.round), "format": lot.format, "status": lot.status,
                "vehicle": vehicle, "price": price, "bidCount": String(lot.bidCount), "endsAt": lot.endsAt,
            ]
        }
        let body = pages.render("lots", ["t": language.words, "lots": rows])
        return page(request, language: language, title: language.words["lotsTitle"] ?? "", body: body, signedIn: signedIn, current: "/console/lots")
    }

    /// Every live lot the user may see, updated from one event stream (console.js).
    func board(_ request: Request, _ context: GavelRequestContext) async throws -> Response {
        guard let signedIn = try await signedIn(request, context) else { return Self.toSignIn() }
        let language = ConsoleLanguage.of(request)
        let caller = signedIn.caller
        let found = try await Desk(database: database).read(logger: context.logger) { session in
            try await Lots().list(
                status: nil, consignorId: nil, afterSeq: 0, limit: LotEventsController.boardLimit, withVehicles: true, for: caller, in: session)
        }
        let live = found.map(\.answer).filter { ["scheduled", "open", "pending-approval"].contains($0.status) }
        let rows: [[String: String]] = live.map(Self.boardRow)
        let body = pages.render("board", ["t": language.words, "lots": rows])
        return page(request, language: language, title: language.words["boardTitle"] ?? "", body: body, signedIn: signedIn, current: "/console/board")
    }

    static func boardRow(_ lot: LotAnswer) -> [String: String] {
        let vehicle: String = lot.vehicle.map { "\($0.year) \($0.make) \($0.model)" } ?? String(lot.vehicleId.prefix(8))
        let price: String = lot.currentPrice.map { Money.display($0) } ?? "–"
        return [
            "lotId": lot.id, "shortId": String(lot.id.prefix(8)), "round": String(lot.round), "currency": lot.currency,
            "vehicle": vehicle, "price": price, "bidCount": String(lot.bidCount), "reserveMet": lot.reserveMet ? "✓" : "–",
            "endsAt": lot.endsAt,
        ]
    }

    func pipelineCSV(_ request: Request, _ context: GavelRequestContext) async throws -> Response {
        guard let signedIn = try await signedIn(request, context) else { return Self.toSignIn() }
        guard [.manager, .finance, .admin].contains(signedIn.caller.role) else { return forbidden(request, signedIn: signedIn) }
        let caller = signedIn.caller
        let answer = try await Desk(database: database).read(logger: context.logger) { session in
            try await Reporting().pipeline(consignorId: nil, afterSeq: 0, limit: Int.max, for: caller, in: session).0
        }
        return try ReportsController.pipelineCSV(answer)
    }

    func recoveryCSV(_ request: Request, _ context: GavelRequestContext) async throws -> Response {
        guard let signedIn = try await signedIn(request, context) else { return Self.toSignIn() }
        guard [.manager, .finance, .admin].contains(signedIn.caller.role) else { return forbidden(request, signedIn: signedIn) }
        let caller = signedIn.caller
        let answer = try await Desk(database: database).read(logger: context.logger) { session in
            try await Reporting().recovery(consignorId: nil, from: nil, to: nil, for: caller, in: session)
        }
        return try ReportsController.recoveryCSV(answer)
    }

    func asset(_ request: Request, _ context: GavelRequestContext) throws -> Response {
        let name = try context.parameters.require("name")
        guard let asset = pages.assets[name] else { throw HTTPError(.notFound) }
        return Response(
            status: .ok,
            headers: [.contentType: asset.contentType, .cacheControl: "public, max-age=3600", .eTag: asset.etag],
            body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
    }

    // MARK: - Shared

    struct SignedIn: Sendable {
        var caller: Caller
        var csrf: String
        var token: String
    }

    func signedIn(_ request: Request, _ context: GavelRequestContext) async throws -> SignedIn? {
        guard let token = request.cookies[Self.sessionCookie]?.value, !token.isEmpty, token.utf8.count <= 200 else { return nil }
        let found = try await Desk(database: database).read(logger: context.logger) { session in
            try await ConsoleSessions().caller(sessionToken: token, in: session)
        }
        return found.map { SignedIn(caller: $0.0, csrf: $0.csrfToken, token: token) }
    }

    /// A console route's error as a page a browser shows (a mistyped ID, an unknown
    /// action), not as problem+json; what the API would answer with a 500 still is one.
    func shown(_ request: Request, _ work: () async throws -> Response) async throws -> Response {
        do {
            return try await work()
        } catch {
            guard let problem = ErrorMapping.problem(for: error, routes: RouteTable(), request: request) else { throw error }
            return problemPage(request, problem, signedIn: nil)
        }
    }

    static func toSignIn() -> Response { Response(status: .seeOther, headers: [.location: "/console/sign-in"]) }

    func forbidden(_ request: Request, signedIn: SignedIn? = nil) -> Response {
        let language = ConsoleLanguage.of(request)
        let words = language.words
        let body = pages.render("problem", ["t": words, "heading": words["forbiddenTitle"] ?? "", "detail": words["forbiddenDetail"] ?? ""])
        return page(request, language: language, title: words["forbiddenTitle"] ?? "", body: body, signedIn: signedIn, status: .forbidden)
    }

    /// A form without its CSRF token (or with another's) changes nothing.
    func refusedForm(_ request: Request) async throws -> Response {
        let language = ConsoleLanguage.of(request)
        let words = language.words
        let body = pages.render("problem", ["t": words, "heading": words["csrfTitle"] ?? "", "detail": words["csrfDetail"] ?? ""])
        return page(request, language: language, title: words["csrfTitle"] ?? "", body: body, status: .forbidden)
    }

    /// A whole page: the layout around `body`, with the language remembered when asked.
    func page(
        _ request: Request, language: ConsoleLanguage, title: String, body: String, signedIn: SignedIn? = nil, current: String = "",
        status: HTTPResponse.Status = .ok
    ) -> Response {
        let words = language.words
        var nav: [[String: Any]] = []
        if let role = signedIn?.caller.role {
            if role.isStaff && role != .appraiser { nav.append(["href": "/console", "label": words["navDashboard"] ?? ""]) }
            if Self.caseReaders.contains(role) { nav.append(["href": "/console/cases", "label": words["navCases"] ?? ""]) }
            nav.append(["href": "/console/board", "label": words["navBoard"] ?? ""])
            nav.append(["href": "/console/lots", "label": words["navLots"] ?? ""])
            if [.finance, .admin].contains(role) { nav.append(["href": "/console/finance", "label": words["navFinance"] ?? ""]) }
            if role == .bidder { nav.append(["href": "/console/mine", "label": words["navMine"] ?? ""]) }
            if role == .admin { nav.append(["href": "/console/admin", "label": words["navAdmin"] ?? ""]) }
            for index in nav.indices { nav[index]["current"] = (nav[index]["href"] as? String) == current }
        }
        let html = pages.render("page", [
            "lang": language.rawValue, "title": title, "t": words, "body": body, "signedIn": signedIn != nil, "nav": nav,
            "csrf": signedIn?.csrf ?? "", "userName": signedIn?.caller.user.name ?? "", "role": signedIn?.caller.role.rawValue ?? "",
            "otherLang": language == .en ? "zh-CN" : "en",
        ])
        var response = Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8", .contentSecurityPolicy: Self.contentSecurityPolicy, .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: html)))
        if let asked = request.uri.queryParameters["lang"], ConsoleLanguage(rawValue: String(asked)) != nil {
            response.setCookie(Cookie(
                name: Self.languageCookie, value: String(asked), maxAge: 365 * 86_400, path: "/", secure: Self.isSecure(request),
                httpOnly: true, sameSite: .strict))
        }
        return response
    }

    /// The cookie is `Secure` when the request came over TLS (here, or at a proxy that says so).
    static func isSecure(_ request: Request) -> Bool {
        request.head.scheme == "https" || request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
    }

    static func percent(_ bp: Int64) -> String { "\(bp / 100).\(String(format: "%02d", bp % 100)) %" }
}
