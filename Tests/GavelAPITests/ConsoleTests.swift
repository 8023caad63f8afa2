import Foundation
import GavelCore
import HTTPTypes
import Testing

/// The web console's sign-in, sessions, CSRF, roles and pages over HTTP (the browser
/// tests drive the same pages in Chromium).
@Suite("Web console")
struct ConsoleTests {
    static let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    /// A `name=value` cookie set by the reply, with its attributes.
    static func setCookie(_ reply: Harness.Reply, _ name: String) -> String? {
        reply.headers[values: .setCookie].first { $0.hasPrefix(name + "=") }
    }

    static func value(ofCookie header: String?) -> String? {
        header?.split(separator: ";").first?.split(separator: "=", maxSplits: 1).last.map(String.init)
    }

    /// Signs in through the form; answers the session cookie's value.
    static func signIn(_ gavel: Harness, token: String, extra: HTTPFields = [:]) async throws -> (session: String?, reply: Harness.Reply) {
        let page = try await gavel.request(.get, "/console/sign-in")
        let csrf = try #require(value(ofCookie: setCookie(page, "gavel_sign_in")))
        var headers = form
        headers[.cookie] = "gavel_sign_in=\(csrf)"
        for field in extra { headers.append(field) }
        let encoded = token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? token
        let reply = try await gavel.request(.post, "/console/sign-in", json: "csrf=\(csrf)&token=\(encoded)", headers: headers)
        return (value(ofCookie: setCookie(reply, "gavel_session")), reply)
    }

    static func get(_ gavel: Harness, _ path: String, session: String) async throws -> Harness.Reply {
        try await gavel.request(.get, path, headers: [.cookie: "gavel_session=\(session)"])
    }

    /// The CSRF token the page's forms carry.
    static func csrf(in page: String) -> String? {
        guard let range = page.range(of: #"name="csrf" value=""#) else { return nil }
        return String(page[range.upperBound...].prefix { $0 != "\"" })
    }

    @Test("sign-in: a session cookie (HttpOnly, SameSite=Strict, Secure under TLS) for a known token; refusals change nothing")
    func signIn() async throws {
        try await withGavel { gavel in
            let away = try await gavel.request(.get, "/console")
            #expect(away.status == .seeOther && away.headers[.location] == "/console/sign-in")
            let page = try await gavel.request(.get, "/console/sign-in")
            #expect(page.status == .ok && page.text.contains(#"<label for="token">"#))
            let policy = try #require(page.headers[.contentSecurityPolicy])
            #expect(!policy.contains("unsafe-inline") && policy.contains("script-src 'self'"))
            let signInCookie = try #require(Self.setCookie(page, "gavel_sign_in"))
            #expect(signInCookie.contains("HttpOnly") && signInCookie.contains("SameSite=Strict"))

            // Without the form's token, with a stranger's token, with an unknown API token.
            let forged = try await gavel.request(
                .post, "/console/sign-in", json: "csrf=forged&token=\(gavel.adminToken)", headers: Self.form)
            #expect(forged.status == .forbidden && forged.text.contains("Form refused"))
            let unknown = try await Self.signIn(gavel, token: "not-a-real-token-at-all")
            #expect(unknown.reply.status == .unauthorized && unknown.session == nil)
            #expect(unknown.reply.text.contains(#"aria-describedby="token-error""#) && unknown.reply.text.contains("This token is not known"))
            #expect(try await gavel.count("console_sessions") == 0)

            let (session, reply) = try await Self.signIn(gavel, token: gavel.adminToken)
            #expect(reply.status == .seeOther && reply.headers[.location] == "/console")
            let cookie = try #require(Self.setCookie(reply, "gavel_session"))
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && !cookie.contains("Secure"))
            #expect(try await gavel.count("console_sessions") == 1)
            let secure = try await Self.signIn(gavel, token: gavel.adminToken, extra: [HTTPField.Name("X-Forwarded-Proto")!: "https"])
            #expect(Self.setCookie(secure.reply, "gavel_session")?.contains("Secure") == true)
            // The session is not the API token: only its digest is stored.
            let stored = try await gavel.sql { connection in
                var digests: [String] = []
                for try await digest in try await connection.query("SELECT token_sha256 FROM console_sessions", logger: quietLogger)
                    .decode(String.self) { digests.append(digest) }
                return digests
            }
            #expect(!stored.contains(try #require(session)) && stored.allSatisfy { $0.count == 64 })

            let dashboard = try await Self.get(gavel, "/console", session: try #require(session))
            #expect(dashboard.status == .ok && dashboard.text.contains("Vehicles by stage") && dashboard.text.contains("<svg"))
        }
    }

    @Test("sign-out needs the page's CSRF token; afterwards the cookie opens nothing")
    func signOut() async throws {
        try await withGavel { gavel in
            let session = try #require(try await Self.signIn(gavel, token: gavel.adminToken).session)
            let page = try await Self.get(gavel, "/console", session: session)
            let csrf = try #require(Self.csrf(in: page.text))
            var headers = Self.form
            headers[.cookie] = "gavel_session=\(session)"
            let forged = try await gavel.request(.post, "/console/sign-out", json: "csrf=other", headers: headers)
            #expect(forged.status == .forbidden)
            #expect(try await Self.get(gavel, "/console", session: session).status == .ok)
            let out = try await gavel.request(.post, "/console/sign-out", json: "csrf=\(csrf)", headers: headers)
            #expect(out.status == .seeOther && out.headers[.location] == "/console/sign-in")
            #expect(try await Self.get(gavel, "/console", session: session).status == .seeOther)
        }
    }

    @Test("each role sees its pages only: a bidder gets the lots (no reserve), not the reports; a revoked user's session ends")
    func roles() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 1)
            let bidder = try #require(try await Self.signIn(gavel, token: lot.bidders[0].token).session)
            let home = try await Self.get(gavel, "/console", session: bidder)
            #expect(home.status == .seeOther && home.headers[.location] == "/console/lots")
            let lots = try await Self.get(gavel, "/console/lots", session: bidder)
            #expect(lots.status == .ok && lots.text.contains("59,000.00"))
            #expect(!lots.text.contains("75,800.00") && !lots.text.lowercased().contains("reserve"), "a reserve in a bidder's page")
            let report = try await Self.get(gavel, "/console/reports/pipeline.csv", session: bidder)
            #expect(report.status == .forbidden && report.text.contains("Not for your role"))

            let manager = try #require(try await Self.signIn(gavel, token: lot.disposal.manager.token).session)
            let dashboard = try await Self.get(gavel, "/console", session: manager)
            #expect(dashboard.text.contains("<th scope=\"row\">Listed</th><td class=\"n\">1</td>"), "\(dashboard.text)")
            let csv = try await Self.get(gavel, "/console/reports/pipeline.csv", session: manager)
            #expect(csv.headers[.contentType]?.hasPrefix("text/csv") == true && csv.text.contains("listed,1,"))
            // The event stream takes the session cookie (the browser's EventSource); an
            // ended session is 401 there too.
            #expect(try await Self.get(gavel, "/v1/lots/\(UUID())/events", session: manager).status == .notFound)
            #expect(try await Self.get(gavel, "/v1/lots/\(lot.lotId)/events", session: "x-session-that-never-was").status == .unauthorized)

            let revoked = try await gavel.request(.post, "/v1/users/\(lot.disposal.manager.id)/revoke", token: gavel.adminToken)
            #expect(revoked.status == .ok)
            #expect(try await Self.get(gavel, "/console", session: manager).status == .seeOther)
            #expect(try await gavel.count("console_sessions WHERE user_id = '\(lot.disposal.manager.id)'") == 0)
        }
    }

    @Test("the language toggle is remembered; assets are served with cache headers")
    func languageAndAssets() async throws {
        try await withGavel { gavel in
            let chinese = try await gavel.request(.get, "/console/sign-in?lang=zh-CN")
            #expect(chinese.text.contains(#"<html lang="zh-CN">"#) && chinese.text.contains("登录 Gavel"))
            let kept = try #require(Self.setCookie(chinese, "gavel_lang"))
            #expect(kept.hasPrefix("gavel_lang=zh-CN"))
            let again = try await gavel.request(.get, "/console/sign-in", headers: [.cookie: "gavel_lang=zh-CN"])
            #expect(again.text.contains("登录 Gavel"))
            let css = try await gavel.request(.get, "/console/assets/console.css")
            #expect(css.status == .ok && css.headers[.contentType]?.hasPrefix("text/css") == true)
            #expect(css.headers[.cacheControl]?.contains("max-age") == true && css.headers[.eTag] != nil)
            let js = try await gavel.request(.get, "/console/assets/console.js")
            #expect(js.headers[.contentType]?.hasPrefix("text/javascript") == true)
            #expect(try await gavel.request(.get, "/console/assets/nothing.css").status == .notFound)
        }
    }
}

/// The lot board's one stream (`GET /v1/board/events`).
@Suite("The lot board's stream")
struct BoardEventsTests {
    @Test("one stream carries every live lot's events with its lotId, starting from each lot's state; no maximum")
    func board() async throws {
        try await withGavel(live: true, eventHeartbeat: .milliseconds(300)) { gavel in
            let first = try await OpenLot.start(gavel, bidders: 2)
            let second = try await OpenLot.start(gavel, bidders: 1, vin: "JH4KA7561PC008269")
            guard let port = gavel.port else { throw TestSetupError("the harness is not live") }
            let board = try EventStreamClient(port: port, path: "/v1/board/events", token: first.disposal.manager.token)
            let everyone = try EventStreamClient(port: port, path: "/v1/board/events", token: second.bidders[0].token)
            defer { board.close(); everyone.close() }
            try await board.wait(for: "a heartbeat") { $0.contains { $0.isComment } }
            try await everyone.wait(for: "a heartbeat") { $0.contains { $0.isComment } }
            #expect(board.head.lowercased().contains("content-type: text/event-stream"))

            #expect(try await first.bid(0, 6_500_000).status == .created)
            #expect(try await second.bid(0, 6_000_000).status == .created)
            #expect(try await first.bid(1, 6_200_000).status == .created)
            // A manager's board has its own consignor's lot; a bidder's every lot it may see.
            try await board.wait(for: "the first lot's two prices") { frames in
                frames.filter { $0.event == "price" && $0.data.contains(first.lotId) }.count >= 2
            }
            try await everyone.wait(for: "both lots' prices") { frames in
                frames.contains { $0.event == "price" && $0.data.contains(first.lotId) }
                    && frames.contains { $0.event == "price" && $0.data.contains(second.lotId) }
            }
            let last = try #require(board.events.last { $0.data.contains(first.lotId) })
            #expect(try last.json["currentPrice"] == .integer(6_300_000) && last.json["lotId"] == .string(first.lotId))
            #expect(!board.body.contains(second.lotId), "another consignor's lot on a manager's board")
            for stream in [board, everyone] { #expect(!stream.body.contains("6500000") && !stream.body.contains("6200000")) }
            #expect(try await gavel.request(.get, "/v1/board/events").status == .unauthorized)
            // A board with nothing live ends at once (EventSource connects again later).
            let idle = try await Disposal.start(gavel, loanNumber: "LN-IDLE")
            let empty = try EventStreamClient(port: port, path: "/v1/board/events", token: idle.manager.token)
            defer { empty.close() }
            try await empty.waitUntilEnded(within: .seconds(5))
            #expect(empty.events.isEmpty)
        }
    }
}
