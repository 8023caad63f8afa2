import Foundation
import GavelCore
import HTTPTypes
import Testing
@testable import GavelAPI

/// The console's manager, finance, bidder and admin pages over HTTP: each form goes to
/// the API in-process as the signed-in user, so its refusals are the API's, beside the
/// fields they name, and a refused form changes nothing.
@Suite("Web console pages")
struct ConsolePagesTests {
    /// A signed-in browser: its session, and a form poster that carries the page's CSRF token.
    struct Browser {
        let gavel: Harness
        let session: String

        static func signIn(_ gavel: Harness, token: String) async throws -> Browser {
            Browser(gavel: gavel, session: try #require(try await ConsoleTests.signIn(gavel, token: token).session))
        }

        func get(_ path: String) async throws -> Harness.Reply {
            try await ConsoleTests.get(gavel, path, session: session)
        }

        /// Posts `fields` to `action` with the CSRF token of `page` (or `csrf` when given).
        func post(_ action: String, _ fields: [(String, String)], from page: String, csrf: String? = nil) async throws -> Harness.Reply {
            var token = csrf ?? ""
            if csrf == nil { token = try #require(ConsoleTests.csrf(in: try await get(page).text)) }
            let body = ([("csrf", token)] + fields).map { name, value in
                let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._"))
                return name.addingPercentEncoding(withAllowedCharacters: allowed)! + "=" + value.addingPercentEncoding(withAllowedCharacters: allowed)!
            }.joined(separator: "&")
            var headers = ConsoleTests.form
            headers[.cookie] = "gavel_session=\(session)"
            return try await gavel.request(.post, action, json: body, headers: headers)
        }
    }

    static func today() -> String { String(Date().rfc3339.prefix(10)) }

    /// The errors a page shows, for a failing expectation's message.
    static func errors(_ page: String) -> [String] {
        page.components(separatedBy: "class=\"").dropFirst().filter { $0.hasPrefix("form-error") || $0.hasPrefix("field-error") }
            .map { String($0.prefix(300)) }
    }

    static func string(_ value: JSONValue?) -> String? {
        if case .string(let text)? = value { return text }
        return nil
    }

    @Test("a manager opens a case, a vehicle and an appraisal from the console; the API's field errors stand beside their fields and store nothing")
    func caseFromTheConsole() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel, loanNumber: "LN-SEED")
            let manager = try await Browser.signIn(gavel, token: disposal.manager.token)
            let before = try await gavel.count("cases")

            // A missing borrower and an amount that is not one: beside their fields, nothing stored.
            let refused = try await manager.post("/console/cases", [
                ("consignorId", disposal.consignorId), ("loanNumber", "LN-CONSOLE-1"), ("balances.principal", "60,000.00"),
                ("balances.interest", "12.345"), ("balances.fees", "0"), ("balances.perDiemInterest", "0"), ("balances.asOf", Self.today()),
            ], from: "/console/cases/new")
            #expect(refused.status == .unprocessableContent)
            #expect(refused.text.contains(#"id="f-balances-interest-error""#), "the amount's error beside it")
            #expect(refused.text.contains(#"value="LN-CONSOLE-1""#), "what was typed is kept")
            let missing = try await manager.post("/console/cases", [
                ("consignorId", disposal.consignorId), ("loanNumber", "LN-CONSOLE-1"), ("balances.principal", "60,000.00"),
                ("balances.interest", "0"), ("balances.fees", "0"), ("balances.perDiemInterest", "0"), ("balances.asOf", Self.today()),
                ("guarantors[0].guaranteeType", "general"),
            ], from: "/console/cases/new")
            #expect(missing.status == .unprocessableContent)
            #expect(missing.text.contains(#"<span id="f-borrower-name-error" class="field-error">is required</span>"#), "\(missing.text)")
            #expect(try await gavel.count("cases") == before)

            let opened = try await manager.post("/console/cases", [
                ("consignorId", disposal.consignorId), ("loanNumber", "LN-CONSOLE-1"), ("borrower.name", "Sun Yue"),
                ("balances.principal", "60,000.00"), ("balances.interest", "350.5"), ("balances.fees", "0"), ("balances.perDiemInterest", "15"),
                ("balances.asOf", Self.today()), ("guarantors[0].name", "Zhou Min"), ("guarantors[0].guaranteeType", "joint"),
            ], from: "/console/cases/new")
            #expect(opened.status == .seeOther, "\(Self.errors(opened.text))")
            let location = try #require(opened.headers[.location])
            let caseId = String(location.dropFirst("/console/cases/".count))
            let stored = try await gavel.request(.get, "/v1/cases/\(caseId)", token: disposal.manager.token)
            #expect(try stored.json["balances"]?["principal"] == .integer(6_000_000))
            #expect(try stored.json["balances"]?["interest"] == .integer(35_050))
            #expect(try stored.json["guarantors"]?.elements?.first?["guaranteeType"] == .string("joint"))

            // A VIN whose check digit is wrong: the API's message beside the VIN.
            let vehicle: [(String, String)] = [
                ("make", "Honda"), ("model", "Accord"), ("year", "2003"), ("mileageKm", "86,000"), ("titleStatus", "clean"),
                ("repossessedOn", Self.today()), ("hasKeys", "on"),
            ]
            let badVIN = try await manager.post("/console/cases/\(caseId)/vehicles", [("vin", "1HGCM82633A004353")] + vehicle, from: location)
            #expect(badVIN.status == .unprocessableContent && badVIN.text.contains(#"id="f-vin-error""#))
            #expect(badVIN.text.contains("check digit"))
            let added = try await manager.post("/console/cases/\(caseId)/vehicles", [("vin", "1HGCM82633A004352")] + vehicle, from: location)
            #expect(added.status == .seeOther && added.headers[.location] == location)
            let page = try await manager.get(location)
            #expect(page.text.contains("2003 Honda Accord") && page.text.contains("1HGCM82633A004352"))
            let vehicles = try await gavel.request(.get, "/v1/cases/\(caseId)", token: disposal.manager.token).json["vehicles"]?.elements
            let vehicleId = try #require(Self.string(vehicles?.first?["id"]))

            // The appraisal from three comparables, then the author may not approve it; a second manager does.
            var appraisal: [(String, String)] = [("caseId", caseId), ("valuationDate", Self.today()), ("conditionGrade", "3.5")]
            for (index, (price, year, mileage)) in [("92,000", "2003", "80000"), ("105,000", "2004", "60000"), ("78,000", "2002", "110000")].enumerated() {
                appraisal += [
                    ("comparables[\(index)].price", price), ("comparables[\(index)].year", year),
                    ("comparables[\(index)].mileageKm", mileage), ("comparables[\(index)].soldOn", Self.today()),
                ]
            }
            let appraised = try await manager.post("/console/vehicles/\(vehicleId)/appraisals", appraisal, from: location)
            #expect(appraised.status == .seeOther, "\(appraised.text)")
            let draft = try await gavel.request(.get, "/v1/vehicles/\(vehicleId)", token: disposal.manager.token)
            let id = try #require(Self.string(try draft.json["appraisals"]?.elements?.first?["id"]))
            let own = try await manager.post("/console/appraisals/\(id)/approve", [("caseId", caseId)], from: location)
            #expect(own.status == .unprocessableContent || own.status == .forbidden || own.status == .conflict)
            #expect(own.text.contains("form-error"), "the refusal is shown on the case's page")
            let other = try await gavel.createUser(.manager, consignorId: disposal.consignorId, name: "Second manager")
            let second = try await Browser.signIn(gavel, token: other.token)
            let approved = try await second.post("/console/appraisals/\(id)/approve", [("caseId", caseId)], from: location)
            #expect(approved.status == .seeOther)
            #expect(try await second.get(location).text.contains("Approved"))
        }
    }

    @Test("a lot's prices are previewed by the very planning that saves it; the preview stores nothing, in the API too")
    func lotPreview() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel, loanNumber: "LN-PREVIEW")
            let (vehicleId, _) = try await disposal.appraisedVehicle()
            let body = disposal.lotBody(vehicleId: vehicleId)
            let audits = try await gavel.count("audit_log")
            let preview = try await gavel.request(.post, "/v1/lots?preview=true", token: disposal.manager.token, json: body)
            #expect(preview.status == .ok)
            let lotsAfter = try await gavel.count("lots"), auditsAfter = try await gavel.count("audit_log")
            #expect(lotsAfter == 0 && auditsAfter == audits)
            #expect(try await gavel.request(.post, "/v1/lots?preview=maybe", token: disposal.manager.token, json: body).status == .unprocessableContent)
            #expect(try await gavel.request(.post, "/v1/lots?preview=true", token: disposal.appraiser.token, json: body).status == .forbidden)

            let manager = try await Browser.signIn(gavel, token: disposal.manager.token)
            let casePage = "/console/cases/\(disposal.caseId)"
            let starts = String(Date().addingTimeInterval(3_600).rfc3339.prefix(16))
            let ends = String(Date().addingTimeInterval(3 * 86_400).rfc3339.prefix(16))
            let fields = [("caseId", disposal.caseId), ("format", "english"), ("startsAt", starts), ("endsAt", ends)]
            let shown = try await manager.post("/console/vehicles/\(vehicleId)/lots", fields + [("step", "preview")], from: casePage)
            #expect(shown.status == .ok && shown.text.contains(#"class="preview span""#), "\(Self.errors(shown.text))")
            #expect(try await gavel.count("lots") == 0)
            for key in ["startingPrice", "reserve", "depositAmount"] {
                guard case .integer(let amount)? = try preview.json[key] else { Issue.record("no \(key)"); continue }
                #expect(shown.text.contains(Money.display(amount)), "the preview shows \(key) \(Money.display(amount))")
            }
            // Ending before it starts: the API's refusal, nothing stored.
            let backwards = try await manager.post(
                "/console/vehicles/\(vehicleId)/lots",
                [("caseId", disposal.caseId), ("startsAt", ends), ("endsAt", starts), ("step", "save")], from: casePage)
            #expect(backwards.status == .unprocessableContent && backwards.text.contains("form-error") || backwards.text.contains("field-error"))
            #expect(try await gavel.count("lots") == 0)
            let saved = try await manager.post("/console/vehicles/\(vehicleId)/lots", fields + [("step", "save")], from: casePage)
            #expect(saved.status == .seeOther)
            #expect(try await gavel.count("lots") == 1)
            let lot = try await gavel.request(.get, "/v1/vehicles/\(vehicleId)", token: disposal.manager.token).json["lots"]?.elements?.first
            let previewed = try preview.json
            #expect(lot?["startingPrice"] == previewed["startingPrice"] && lot?["reserve"] == previewed["reserve"])
        }
    }

    @Test("a lot's end from its case page: a below-reserve decision, a relist previewed then saved, a cancel needing its reason, the vehicle returned; notices and an expense")
    func lotEnds() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 2)
            #expect(try await lot.bid(0, 6_500_000).status == .created)
            _ = try await gavel.sql { connection in
                try await connection.query("UPDATE lots SET ends_at = clock_timestamp() WHERE id = \(UUID(uuidString: lot.lotId)!)", logger: quietLogger)
            }
            #expect(try await ClosingTests.waitForClose(gavel, lot.lotId)["status"] == .string("pending-approval"))
            let manager = try await Browser.signIn(gavel, token: lot.disposal.manager.token)
            let casePage = "/console/cases/\(lot.disposal.caseId)"
            let page = try await manager.get(casePage)
            #expect(page.text.contains("Below reserve: decide") && page.text.contains(#"action="/console/lots/\#(lot.lotId)/decision""#))
            let declined = try await manager.post(
                "/console/lots/\(lot.lotId)/decision", [("caseId", lot.disposal.caseId), ("accept", "false")], from: casePage)
            #expect(declined.status == .seeOther)
            #expect(try await gavel.request(.get, "/v1/lots/\(lot.lotId)", token: gavel.adminToken).json["status"] == .string("unsold"))

            let starts = String(Date().addingTimeInterval(3_600).rfc3339.prefix(16))
            let ends = String(Date().addingTimeInterval(3 * 86_400).rfc3339.prefix(16))
            let relist = [("caseId", lot.disposal.caseId), ("format", ""), ("startsAt", starts), ("endsAt", ends)]
            let preview = try await manager.post("/console/lots/\(lot.lotId)/relist", relist + [("step", "preview")], from: casePage)
            #expect(preview.status == .ok && preview.text.contains(#"class="preview span""#), "\(Self.errors(preview.text))")
            #expect(try await gavel.count("lots") == 1)
            let relisted = try await manager.post("/console/lots/\(lot.lotId)/relist", relist + [("step", "save")], from: casePage)
            #expect(relisted.status == .seeOther)
            #expect(try await gavel.count("lots") == 2)
            let vehicleId = try #require(Self.string(try await gavel.request(.get, "/v1/lots/\(lot.lotId)", token: gavel.adminToken).json["vehicleId"]))
            let rounds = try await gavel.request(.get, "/v1/vehicles/\(vehicleId)", token: gavel.adminToken).json["lots"]?.elements ?? []
            let second = try #require(Self.string(rounds.last?["id"]))
            #expect(rounds.last?["round"] == .integer(2))

            let notices = try await manager.post("/console/cases/\(lot.disposal.caseId)/notices", [("lang", "zh-CN")], from: casePage)
            #expect(notices.status == .ok && notices.text.contains("Notices sent") && notices.text.contains("/console/notices/"))
            let noticeId = try #require(notices.text.components(separatedBy: "/console/notices/").dropFirst().first?.prefix(36))
            let notice = try await manager.get("/console/notices/\(noticeId)")
            #expect(notice.status == .ok && notice.text.contains("通知书"))
            #expect(notice.headers[.contentSecurityPolicy]?.contains("unsafe-inline") == false)
            let expense = try await manager.post(
                "/console/cases/\(lot.disposal.caseId)/expenses",
                [("kind", "storage"), ("amount", "1,200.00"), ("incurredOn", Self.today()), ("vendor", "Lot 7 yard")], from: casePage)
            #expect(expense.status == .seeOther)
            let listed = try await gavel.request(.get, "/v1/cases/\(lot.disposal.caseId)/expenses", token: gavel.adminToken)
            #expect(try listed.json["items"]?.elements?.contains { $0["amount"] == .integer(120_000) && $0["vendor"] == .string("Lot 7 yard") } == true)

            // Returning the vehicle while its round 2 is scheduled is the API's 409, shown on the page.
            let early = try await manager.post("/console/vehicles/\(vehicleId)/return", [("caseId", lot.disposal.caseId), ("reason", "lender asks")], from: casePage)
            #expect(early.status == .unprocessableContent && early.text.contains("form-error"), "\(Self.errors(early.text))")
            let noReason = try await manager.post("/console/lots/\(second)/cancel", [("caseId", lot.disposal.caseId), ("reason", "")], from: casePage)
            #expect(noReason.status == .unprocessableContent && noReason.text.contains("reason"))
            #expect(try await gavel.request(.get, "/v1/lots/\(second)", token: gavel.adminToken).json["status"] == .string("scheduled"))
            let cancelled = try await manager.post("/console/lots/\(second)/cancel", [("caseId", lot.disposal.caseId), ("reason", "lender settled")], from: casePage)
            #expect(cancelled.status == .seeOther)
            let returned = try await manager.post("/console/vehicles/\(vehicleId)/return", [("caseId", lot.disposal.caseId), ("reason", "lender asks")], from: casePage)
            #expect(returned.status == .seeOther)
            #expect(try await gavel.request(.get, "/v1/vehicles/\(vehicleId)", token: gavel.adminToken).json["status"] == .string("returned"))

        }
    }

    @Test("every action form without the page's CSRF token is refused and changes nothing")
    func forgedForms() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 1)
            let admin = try await Browser.signIn(gavel, token: gavel.adminToken)
            let counts = { try await [gavel.count("cases"), gavel.count("vehicles"), gavel.count("users"), gavel.count("bids"), gavel.count("payments")] }
            let before = try await counts()
            let actions: [(String, [(String, String)])] = [
                ("/console/cases", [("loanNumber", "X")]),
                ("/console/cases/\(lot.disposal.caseId)/vehicles", [("vin", "JH4KA7561PC008269")]),
                ("/console/lots/\(lot.lotId)/cancel", [("caseId", lot.disposal.caseId), ("reason", "forged")]),
                ("/console/admin/users/new/create", [("name", "Forged"), ("role", "admin")]),
                ("/console/finance/lots/\(lot.lotId)/deposits", [("bidderId", lot.bidders[0].id), ("amount", "1"), ("reference", "F")]),
            ]
            for (action, fields) in actions {
                let reply = try await admin.post(action, fields, from: "/console", csrf: "forged")
                #expect(reply.status == .forbidden && reply.text.contains("Form refused"), "\(action)")
            }
            let bidder = try await Browser.signIn(gavel, token: lot.bidders[0].token)
            let bid = try await bidder.post("/console/lots/\(lot.lotId)/bids", [("maxAmount", "70000")], from: "/console/lots", csrf: "forged")
            #expect(bid.status == .forbidden)
            #expect(try await counts() == before)
            #expect(try await gavel.request(.get, "/v1/lots/\(lot.lotId)", token: gavel.adminToken).json["status"] == .string("open"))
        }
    }

    @Test("each role opens only its pages: a bidder gets 403 pages for staff ones and no reserve anywhere; a manager sees no other consignor's case")
    func rolesAndPages() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 1)
            let bidder = try await Browser.signIn(gavel, token: lot.bidders[0].token)
            for path in ["/console/cases", "/console/cases/new", "/console/cases/\(lot.disposal.caseId)", "/console/finance", "/console/admin"] {
                let page = try await bidder.get(path)
                #expect(page.status == .forbidden && page.text.contains("Not for your role"), "\(path) for a bidder")
            }
            let lotPage = try await bidder.get("/console/lots/\(lot.lotId)")
            #expect(lotPage.status == .ok && lotPage.text.contains(#"action="/console/lots/\#(lot.lotId)/bids""#))
            #expect(!lotPage.text.contains("75,800.00") && !lotPage.text.contains("Reserve</dt>"), "a reserve in the bidder's lot page")
            // A bid too low: the API's refusal beside the amount, naming the minimum.
            let low = try await bidder.post("/console/lots/\(lot.lotId)/bids", [("maxAmount", "100")], from: "/console/lots/\(lot.lotId)")
            #expect(low.status == .unprocessableContent && low.text.contains(#"id="f-maxAmount-error""#) && low.text.contains("59,000.00"))
            let placed = try await bidder.post("/console/lots/\(lot.lotId)/bids", [("maxAmount", "62,000")], from: "/console/lots/\(lot.lotId)")
            #expect(placed.status == .ok && placed.text.contains("Bid accepted"))
            #expect(try await gavel.count("bids") == 1)
            let mine = try await bidder.get("/console/mine")
            #expect(mine.status == .ok && mine.text.contains("62,000.00") && mine.text.contains("59,000.00"), "\(mine.text)")
            #expect(!mine.text.contains("75,800.00"))

            let manager = try await Browser.signIn(gavel, token: lot.disposal.manager.token)
            let staffLot = try await manager.get("/console/lots/\(lot.lotId)")
            #expect(staffLot.text.contains("75,800.00") && !staffLot.text.contains("62,000.00"), "staff see the reserve, never a maximum")
            #expect(try await manager.get("/console/finance").status == .forbidden)
            #expect(try await manager.get("/console/admin").status == .forbidden)
            let stranger = try await Disposal.start(gavel, loanNumber: "LN-OTHER")
            let foreign = try await manager.get("/console/cases/\(stranger.caseId)")
            #expect(foreign.status == .notFound)
            let finance = try await Browser.signIn(gavel, token: lot.finance.token)
            #expect(try await finance.get("/console/admin").status == .forbidden)
            // A mistyped ID is a page a browser shows, not problem+json.
            let mistyped = try await finance.get("/console/cases/not-a-case")
            #expect(mistyped.status == .notFound && mistyped.headers[.contentType]?.hasPrefix("text/html") == true)
            // A payment for an invoice the desk no longer lists: the refusal at the top of the desk.
            let gone = try await finance.post(
                "/console/finance/invoices/\(UUID())/payments", [("amount", "10"), ("reference", "R"), ("receivedOn", Self.today())],
                from: "/console/finance")
            #expect(gone.status == .unprocessableContent && gone.text.contains(#"<p class="form-error" role="alert">Not Found: no invoice"#))
            #expect(try await finance.get("/console/cases/\(lot.disposal.caseId)").status == .ok)
        }
    }

    @Test("finance uploads a bank statement file and sees matched and unmatched lines; a payment and a deposit from the desk")
    func financeDesk() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 1)
            let finance = try await Browser.signIn(gavel, token: lot.finance.token)
            let desk = try await finance.get("/console/finance")
            #expect(desk.status == .ok && desk.text.contains("Trial balance") && desk.text.contains("Bank reconciliation"))
            let csrf = try #require(ConsoleTests.csrf(in: desk.text))
            let boundary = "----gavel-test-boundary"
            let statement = "date,amount,reference,counterparty\n\(Self.today()),5900.00,BANK-1,Dealer 1\n\(Self.today()),12.34,NOBODY,Stranger\n"
            let body = [
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n\(csrf)\r\n",
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bank.csv\"\r\nContent-Type: text/csv\r\n\r\n\(statement)\r\n",
                "--\(boundary)--\r\n",
            ].joined()
            let upload = try await gavel.request(.post, "/console/finance/bank-lines", json: body, headers: [
                .contentType: "multipart/form-data; boundary=\(boundary)", .cookie: "gavel_session=\(finance.session)",
            ])
            #expect(upload.status == .ok)
            let matched = upload.text.components(separatedBy: #"<tr class="matched">"#).count - 1
            let unmatched = upload.text.components(separatedBy: #"<tr class="unmatched">"#).count - 1
            #expect(matched == 1 && unmatched == 1, "matched \(matched), unmatched \(unmatched)")
            #expect(upload.text.contains("NOBODY") && upload.text.contains("BANK-1"))
            #expect(try await gavel.count("bank_lines") == 2)
            // A file without its CSRF token stores nothing.
            let forged = try await gavel.request(.post, "/console/finance/bank-lines", json: body.replacingOccurrences(of: csrf, with: "forged"), headers: [
                .contentType: "multipart/form-data; boundary=\(boundary)", .cookie: "gavel_session=\(finance.session)",
            ])
            let linesAfter = try await gavel.count("bank_lines")
            #expect(forged.status == .forbidden && linesAfter == 2)

            // A second deposit from the desk; a bad amount is refused beside it.
            let other = try await gavel.createUser(.bidder, name: "Dealer 2")
            let bad = try await finance.post(
                "/console/finance/lots/\(lot.lotId)/deposits", [("bidderId", other.id), ("amount", "5,900.001"), ("reference", "D2")],
                from: "/console/finance")
            #expect(bad.status == .unprocessableContent && bad.text.contains(#"id="f-deposit-\#(lot.lotId)-amount-error""#))
            let fields = [("bidderId", other.id), ("amount", "5,900.00"), ("reference", "D2"), ("idem", "page-key-1")]
            let deposit = try await finance.post("/console/finance/lots/\(lot.lotId)/deposits", fields, from: "/console/finance")
            #expect(deposit.status == .seeOther, "\(Self.errors(deposit.text))")
            #expect(try await gavel.count("deposits") == 2)
            // The same form sent twice (a double click, a reload) is recorded once; another
            // form of the same page, with the page's same key, is its own request.
            let again = try await finance.post("/console/finance/lots/\(lot.lotId)/deposits", fields, from: "/console/finance")
            #expect(again.status == .seeOther)
            #expect(try await gavel.count("deposits") == 2)
            let depositId = try #require(try await gavel.sql { connection in
                var id: UUID?
                for try await found in try await connection.query("SELECT id FROM deposits WHERE reference = 'D2'", logger: quietLogger)
                    .decode(UUID.self) { id = found }
                return id
            })
            // Owed back (as after a close it did not win): the desk lists it with a refund form.
            _ = try await gavel.sql { connection in
                try await connection.query("UPDATE deposits SET status = 'refund-due' WHERE id = \(depositId)", logger: quietLogger)
            }
            #expect(try await finance.get("/console/finance").text.contains("/console/finance/deposits/\(depositId.uuidString.lowercased())/refund"))
            let refund = try await finance.post(
                "/console/finance/deposits/\(depositId.uuidString.lowercased())/refund", [("reference", "BACK-D2"), ("idem", "page-key-1")],
                from: "/console/finance")
            #expect(refund.status == .seeOther, "\(Self.errors(refund.text))")
        }
    }

    @Test("the admin creates a user (token shown once), revokes one, and changes a policy; a bad policy is refused with its reason")
    func administration() async throws {
        try await withGavel { gavel in
            let admin = try await Browser.signIn(gavel, token: gavel.adminToken)
            let created = try await admin.post("/console/admin/users/new/create", [("name", "Dealer Qian"), ("role", "bidder"), ("consignorId", "")], from: "/console/admin")
            #expect(created.status == .ok && created.text.contains(#"<code class="token">"#))
            let token = try #require(created.text.components(separatedBy: #"<code class="token">"#).last?.prefix { $0 != "<" })
            #expect(try await gavel.request(.get, "/v1/me", token: String(token)).json["name"] == .string("Dealer Qian"))
            #expect(!(try await admin.get("/console/admin")).text.contains(String(token)), "the token is shown once")

            let consignor = try await admin.post("/console/admin/consignors/new/create", [("name", "Console Lender"), ("currency", "CNY")], from: "/console/admin")
            #expect(consignor.status == .seeOther)
            let listed = try await gavel.request(.get, "/v1/consignors", token: gavel.adminToken)
            let consignorId = try #require(Self.string(try listed.json["items"]?.elements?.first?["id"]))
            let notJSON = try await admin.post("/console/admin/consignors/\(consignorId)/policy", [("policy", "{minDays")], from: "/console/admin")
            #expect(notJSON.status == .unprocessableContent && notJSON.text.contains("This is not JSON"))
            let wrong = try await admin.post("/console/admin/consignors/\(consignorId)/policy", [("policy", #"{"pricing": {"startBp": -5}}"#)], from: "/console/admin")
            #expect(wrong.status == .unprocessableContent && wrong.text.contains("pricing.startBp"))
            let changed = try await admin.post("/console/admin/consignors/\(consignorId)/policy", [("policy", #"{"notice": {"minDays": 14}}"#)], from: "/console/admin")
            #expect(changed.status == .seeOther)
            let policy = try await gavel.request(.get, "/v1/consignors/\(consignorId)", token: gavel.adminToken)
            #expect(try policy.json["policy"]?["notice"]?["minDays"] == .integer(14))
        }
    }

    @Test("every word a template or page uses exists in English and in Chinese")
    func words() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Console/templates")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".mustache") }
        #expect(names.count >= 15)
        var used: Set<String> = []
        for name in names {
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            for match in text.matches(of: #/\{\{[#^\/]?t\.([A-Za-z0-9_.\-]+)\}\}/#) { used.insert(String(match.1)) }
        }
        #expect(used.count > 150)
        for word in used.sorted() {
            #expect(ConsoleLanguage.en.words[word] != nil, "no English for \(word)")
            #expect(ConsoleLanguage.zhCN.words[word] != nil, "no Chinese for \(word)")
        }
        #expect(Set(ConsoleLanguage.en.words.keys) == Set(ConsoleLanguage.zhCN.words.keys))
    }

    @Test("form values become the API's JSON: amounts as minor units, paths as objects and arrays, blanks left out")
    func formsToJSON() {
        #expect(ConsoleForms.minorUnits("1,234.56") == 123_456)
        #expect(ConsoleForms.minorUnits("1234.5") == 123_450)
        #expect(ConsoleForms.minorUnits("7") == 700)
        for bad in ["", "1.234", "-5", "12a", "1..2", "١٢"] { #expect(ConsoleForms.minorUnits(bad) == nil, "\(bad)") }
        let fields = [
            ConsoleField(name: "borrower.name", label: ""), ConsoleField(name: "balances.principal", label: "", kind: .money),
            ConsoleField(name: "comparables[1].year", label: "", kind: .integer), ConsoleField(name: "hasKeys", label: "", kind: .checkbox),
            ConsoleField(name: "startsAt", label: "", kind: .datetime), ConsoleField(name: "color", label: ""),
        ]
        let (body, errors) = ConsoleForms.body(fields, [
            "borrower.name": " Wang Li ", "balances.principal": "60,000", "comparables[1].year": "2019", "startsAt": "2026-12-01T10:00",
            "color": "  ",
        ], words: ConsoleLanguage.en.words)
        #expect(errors.isEmpty)
        #expect(body == .object([
            "borrower": .object(["name": .string("Wang Li")]), "balances": .object(["principal": .integer(6_000_000)]),
            "comparables": .array([.object([:]), .object(["year": .integer(2019)])]), "hasKeys": .bool(false),
            "startsAt": .string("2026-12-01T10:00:00Z"),
        ]))
        let (_, refused) = ConsoleForms.body(fields, ["balances.principal": "lots"], words: ConsoleLanguage.en.words)
        #expect(refused["balances.principal"] != nil)
    }
}
