import Foundation
import GavelCore
import HTTPTypes
import PostgresNIO
import Testing

/// Notices of disposition and the periods before a sale (domain rules section 11), and
/// the judicial ruleset's rounds (section 4), through the API.
@Suite("Notices of disposition and judicial rounds")
struct NoticesTests {
    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    /// The tests' stand-in for the clock: every notice sent `days` earlier, its first day
    /// of sale with it.
    static func backdateNotices(days: Int, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            UPDATE notices SET sent_at = sent_at - make_interval(days => \(days)::integer),
                content = jsonb_set(content, '{disposeAfter}', to_jsonb(((content ->> 'disposeAfter')::date - \(days)::integer)::text))
            """, logger: quietLogger)
    }

    /// 2026-12-20 as 2026年12月20日.
    static func chineseDay(_ iso: String) -> String {
        let parts = iso.split(separator: "-").map { Int($0) ?? 0 }
        return "\(parts[0])年\(parts[1])月\(parts[2])日"
    }

    static func secondsFromNow(_ value: JSONValue?) -> TimeInterval {
        guard case .string(let text)? = value, let date = date(text) else { return .nan }
        return date.timeIntervalSinceNow
    }

    @Test("notice-period: no lot before the notices, none before minDays after the last one; then the lot is taken")
    func commercialPeriod() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel, policy: #"{"notice": {"minDays": 10}}"#)
            let (vehicleId, _) = try await disposal.appraisedVehicle()
            let manager = disposal.manager.token
            let early = try await gavel.request(.post, "/v1/lots", token: manager, json: disposal.lotBody(vehicleId: vehicleId))
            #expect(early.status == .unprocessableContent)
            #expect(try early.problemCode == "notice-period")
            #expect(abs(Self.secondsFromNow(try early.json["earliestStartsAt"]) - 10 * 86_400) < 120, "\(early.text)")
            #expect(try await gavel.count("lots") == 0)

            // Bad requests change nothing.
            let tooSoon = try await gavel.request(
                .post, "/v1/cases/\(disposal.caseId)/notices", token: manager, json: #"{"disposeAfter": "\#(Disposal.timestamp(0).prefix(10))"}"#)
            #expect(tooSoon.status == .unprocessableContent)
            #expect(try tooSoon.json["errors"]?.array?.first?["field"] == .string("disposeAfter"))
            let badLanguage = try await gavel.request(.post, "/v1/cases/\(disposal.caseId)/notices", token: manager, json: #"{"lang": "fr"}"#)
            #expect(badLanguage.status == .unprocessableContent)
            #expect(try await gavel.count("notices") == 0)

            let sent = try await gavel.request(.post, "/v1/cases/\(disposal.caseId)/notices", token: manager, json: "{}")
            #expect(sent.status == .created, "\(sent.text)")
            let items = try #require(try sent.json["items"]?.array)
            #expect(items.map { $0["party"] } == [.string("borrower"), .string("guarantor"), .string("lienholder")])
            #expect(items.map { $0["name"] } == [.string("Wang Li"), .string("Zhang Wei"), .string("Second Bank")])
            #expect(items.allSatisfy { $0["kind"] == .string("disposition") && $0["lang"] == .string("en") })
            #expect(items.allSatisfy { abs(Self.secondsFromNow($0["sentAt"])) < 120 })
            let audit = try await gavel.request(.get, "/v1/audit?entityId=\(try #require(items.first?["id"]?.stringValue))", token: gavel.adminToken)
            #expect(try audit.json["items"]?.array?.first?["action"] == .string("notice.send"))

            let nineDays = try await gavel.request(
                .post, "/v1/lots", token: manager, json: disposal.lotBody(vehicleId: vehicleId, startsIn: 9 * 86_400))
            #expect(try nineDays.problemCode == "notice-period")
            #expect(abs(Self.secondsFromNow(try nineDays.json["earliestStartsAt"]) - 10 * 86_400) < 120)
            let tenDays = try await gavel.request(
                .post, "/v1/lots", token: manager, json: disposal.lotBody(vehicleId: vehicleId, startsIn: 10 * 86_400 + 300))
            #expect(tenDays.status == .created, "\(tenDays.text)")
        }
    }

    @Test("the notices render per party, in English and in Chinese (处置通知书), with every fact they must state")
    func rendering() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel, policy: #"{"notice": {"minDays": 10}, "settlement": {"contact": "+86 10 5555 0100"}}"#)
            _ = try await disposal.addVehicle()
            let manager = disposal.manager.token
            let owner = try await gavel.request(.patch, "/v1/cases/\(disposal.caseId)", token: manager, json: """
                {"collateralOwner": {"name": "Li Na", "address": "9 Jinqiao Rd, Shanghai"},
                 "guarantors": [{"name": "Zhang Wei", "guaranteeType": "joint", "address": "5 Nanjing Rd, Shanghai"}]}
                """)
            #expect(owner.status == .ok, "\(owner.text)")
            // Twenty days on, later than the period's end: the notices may name a later first day.
            let day = String(Disposal.timestamp(20 * 86_400).prefix(10))
            let english = try #require(try await gavel.request(
                .post, "/v1/cases/\(disposal.caseId)/notices", token: manager, json: #"{"disposeAfter": "\#(day)"}"#).json["items"]?.array)
            #expect(english.map { $0["party"] } == [.string("borrower"), .string("guarantor"), .string("lienholder"), .string("owner")])
            #expect(english.allSatisfy { $0["disposeAfter"] == .string(day) })
            func page(_ item: JSONValue, accept: String = "text/html") async throws -> Harness.Reply {
                try await gavel.request(
                    .get, "/v1/notices/\(try #require(item["id"]?.stringValue))", token: manager,
                    headers: [.accept: accept])
            }
            let borrower = try await page(english[0])
            #expect(borrower.headers[.contentType]?.hasPrefix("text/html") == true)
            for fact in ["Notice of our plan to sell property", "Wang Li", "Ave, Beijing", "First Auto Finance",
                         "LN-2026-0001", "1HGCM82633A004352", "2019 Honda Accord", "on or after \(day)",
                         "you will still owe us the difference", "get the property back", "+86 10 5555 0100",
                         "We will charge you nothing for the explanation"] {
                #expect(borrower.text.contains(fact), "the borrower's notice lacks \(fact)")
            }
            let guarantor = try await page(english[1])
            #expect(guarantor.text.contains("Zhang Wei") && guarantor.text.contains("a joint and several guarantee"))
            #expect(guarantor.text.contains("5 Nanjing Rd, Shanghai"))
            let lienholder = try await page(english[2])
            #expect(lienholder.text.contains("authenticated demand") && !lienholder.text.contains("still owe"))
            let ownerPage = try await page(english[3])
            #expect(ownerPage.text.contains("Li Na") && ownerPage.text.contains("goes to you"))
            let facts = try await page(english[0], accept: "application/json")
            #expect(try facts.json["notice"]?["disposeAfter"] == .string(day))
            #expect(try facts.json["notice"]?["collateral"]?.array?.first?["vin"] == .string("1HGCM82633A004352"))

            let chinese = try #require(try await gavel.request(
                .post, "/v1/cases/\(disposal.caseId)/notices", token: manager, json: #"{"lang": "zh-CN", "disposeAfter": "\#(day)"}"#)
                .json["items"]?.array)
            let 处置 = try await page(chinese[0])
            for fact in ["处置通知书", "致", "Wang Li", "借款合同编号", "LN-2026-0001", Self.chineseDay(day), "网络公开拍卖", "不足部分，您仍应继续清偿",
                         "赎回", "不收取任何费用", "+86 10 5555 0100", "lang=\"zh-CN\""] {
                #expect(处置.text.contains(fact), "the Chinese notice lacks \(fact)")
            }
            let 保证人 = try await page(chinese[1])
            #expect(保证人.text.contains("连带责任保证人"))
            // The English notice keeps its language after the Chinese ones were sent.
            #expect(try await page(english[0]).text.contains("Notice of our plan to sell property"))
        }
    }

    @Test("who may send and read notices; a finished case sends none")
    func access() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel)
            _ = try await disposal.addVehicle()
            let path = "/v1/cases/\(disposal.caseId)/notices"
            let other = try await Disposal.start(gavel, loanNumber: "LN-OTHER")
            #expect(try await gavel.request(.post, path, token: other.manager.token, json: "{}").status == .notFound)
            let bidder = try await gavel.createUser(.bidder)
            #expect(try await gavel.request(.post, path, token: bidder.token, json: "{}").status == .forbidden)
            let sent = try await gavel.request(.post, path, token: gavel.adminToken, json: "{}")
            #expect(sent.status == .created)
            let noticeId = try #require(try sent.json["items"]?.array?.first?["id"]?.stringValue)
            #expect(try await gavel.request(.get, "/v1/notices/\(noticeId)", token: other.manager.token).status == .notFound)
            #expect(try await gavel.request(.get, "/v1/notices/\(noticeId)", token: bidder.token).status == .forbidden)
            #expect(try await gavel.request(.get, "/v1/notices/\(UUID())", token: gavel.adminToken).status == .notFound)
            _ = try await gavel.sql { connection in
                try await connection.query(
                    "UPDATE cases SET status = 'withdrawn' WHERE id = \(UUID(uuidString: disposal.caseId)!)", logger: quietLogger)
            }
            let finished = try await gavel.request(.post, path, token: disposal.manager.token, json: "{}")
            #expect(finished.status == .conflict)
            #expect(try finished.problemCode == "case-settled")
        }
    }

    @Test("prc-judicial: a lot is public from its creation; a later round 7 days ahead and within 30 days of the failed one; two auctions, then 变卖")
    func judicialRounds() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel, policy: #"{"ruleset": "prc-judicial"}"#)
            let (vehicleId, _) = try await disposal.appraisedVehicle()
            let manager = disposal.manager.token
            _ = try await gavel.request(.post, "/v1/cases/\(disposal.caseId)/notices", token: manager, json: #"{"lang": "zh-CN"}"#)
            let fourteen = try await gavel.request(
                .post, "/v1/lots", token: manager, json: disposal.lotBody(vehicleId: vehicleId, startsIn: 14 * 86_400))
            #expect(try fourteen.problemCode == "notice-period")
            let first = try await gavel.request(
                .post, "/v1/lots", token: manager, json: disposal.lotBody(vehicleId: vehicleId, startsIn: 15 * 86_400 + 300))
            #expect(first.status == .created, "\(first.text)")
            let firstId = try first.string("id")
            // The announcement is public at once; a commercial lot 15 days away is not yet.
            let bidder = try await gavel.createUser(.bidder)
            #expect(try await gavel.request(.get, "/v1/lots/\(firstId)", token: bidder.token).status == .ok)
            let listed = try await gavel.request(.get, "/v1/lots", token: bidder.token)
            #expect(try listed.json["items"]?.array?.map { $0["id"] } == [.string(firstId)])
            let commercial = try await Disposal.start(gavel, loanNumber: "LN-COMMERCIAL")
            let (otherVehicle, _) = try await commercial.appraisedVehicle(vin: "JH4KA7561PC008269")
            let catalogue = try await gavel.request(
                .post, "/v1/lots", token: commercial.manager.token, json: commercial.lotBody(vehicleId: otherVehicle, startsIn: 15 * 86_400))
            #expect(try await gavel.request(.get, "/v1/lots/\(try catalogue.string("id"))", token: bidder.token).status == .notFound)

            // Round 1 fails now; round 2 is announced 7 days ahead, within 30 days of the failure.
            // (The notices' 15 days are moved past, as round 1 would have started after them.)
            _ = try await gavel.sql { connection in
                try await connection.query(
                    "UPDATE lots SET status = 'unsold', closed_at = now() WHERE id = \(UUID(uuidString: firstId)!)", logger: quietLogger)
                try await Self.backdateNotices(days: 16, on: connection)
            }
            func relist(_ lotId: String, startsIn: TimeInterval, format: String? = nil) async throws -> Harness.Reply {
                let formatPart = format.map { #", "format": "\#($0)""# } ?? ""
                return try await gavel.request(.post, "/v1/lots/\(lotId)/relist", token: manager, json: """
                    {"startsAt": "\(Disposal.timestamp(startsIn))", "endsAt": "\(Disposal.timestamp(startsIn + 2 * 86_400))"\(formatPart)}
                    """)
            }
            let sixDays = try await relist(firstId, startsIn: 6 * 86_400)
            #expect(try sixDays.problemCode == "notice-period")
            #expect(abs(Self.secondsFromNow(try sixDays.json["earliestStartsAt"]) - 7 * 86_400) < 120)
            let late = try await relist(firstId, startsIn: 31 * 86_400)
            #expect(try late.problemCode == "notice-period")
            #expect(abs(Self.secondsFromNow(try late.json["latestStartsAt"]) - 30 * 86_400) < 120, "\(late.text)")
            let sealed = try await relist(firstId, startsIn: 8 * 86_400, format: "sealed")
            #expect(try sealed.json["errors"]?.array?.first?["rule"] == .string("prc-judicial.english-auction-only"))
            let second = try await relist(firstId, startsIn: 8 * 86_400)
            #expect(second.status == .created, "\(second.text)")
            #expect(try second.json["round"] == .integer(2) && second.json["startingPrice"] == .integer(4_720_000))
            let secondId = try second.string("id")
            _ = try await gavel.sql { connection in
                try await connection.query(
                    "UPDATE lots SET status = 'unsold', closed_at = now() WHERE id = \(UUID(uuidString: secondId)!)", logger: quietLogger)
            }
            let third = try await relist(secondId, startsIn: 8 * 86_400)
            #expect(try third.json["errors"]?.array?.first?["rule"] == .string("prc-judicial.sale-at-fixed-price-after-two-auctions"))
            let sale = try await relist(secondId, startsIn: 8 * 86_400, format: "fixed")
            #expect(sale.status == .created, "\(sale.text)")
            #expect(try sale.json["format"] == .string("fixed") && sale.json["startingPrice"] == .integer(4_720_000))
        }
    }

    @Test("prc-judicial: after a buyer's default the re-auction keeps the defaulted round's prices and the defaulter is barred")
    func judicialReauction() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel, policy: #"{"ruleset": "prc-judicial"}"#)
            let (vehicleId, _) = try await disposal.appraisedVehicle()
            let opened = try await disposal.openLot(vehicleId: vehicleId)
            let lotId = try opened.string("id")
            let finance = try await gavel.createUser(.finance)
            let buyer = try await gavel.createUser(.bidder, name: "Defaulter")
            try await PriorityHoldersTests.verify(gavel, buyer.id, finance: finance.token, idNumber: "ID-DEFAULTER")
            let deposit = try await gavel.request(.post, "/v1/lots/\(lotId)/deposits", token: finance.token,
                                                  json: #"{"bidderId": "\#(buyer.id)", "amount": 590000, "reference": "J-DEP"}"#)
            #expect(deposit.status == .created, "\(deposit.text)")
            #expect(try await PriorityHoldersTests.bid(gavel, lotId, buyer.token, 6_000_000).status == .created)
            _ = try await gavel.sql { connection in
                try await connection.query(
                    "UPDATE lots SET ends_at = clock_timestamp() WHERE id = \(UUID(uuidString: lotId)!)", logger: quietLogger)
            }
            #expect(try await ClosingTests.waitForClose(gavel, lotId)["status"] == .string("sold"))
            let invoice = try await gavel.request(.get, "/v1/lots/\(lotId)/invoice", token: finance.token)
            // The payment days pass, and the announcement period of the notices with them.
            _ = try await gavel.sql { connection in
                try await connection.query("UPDATE invoices SET due_at = now() - interval '1 second'", logger: quietLogger)
                try await Self.backdateNotices(days: 16, on: connection)
            }
            // Finance declares the default, unless the scheduler got there first.
            let defaulted = try await gavel.request(.post, "/v1/invoices/\(try invoice.string("id"))/default", token: finance.token)
            let status = try await gavel.request(.get, "/v1/lots/\(lotId)/invoice", token: finance.token).json["status"]
            #expect(defaulted.status == .ok || defaulted.status == .conflict, "\(defaulted.text)")
            #expect(status == .string("defaulted"))
            let again = try await gavel.request(.post, "/v1/lots/\(lotId)/relist", token: disposal.manager.token, json: """
                {"startsAt": "\(Disposal.timestamp(8 * 86_400))", "endsAt": "\(Disposal.timestamp(10 * 86_400))"}
                """)
            #expect(again.status == .created, "\(again.text)")
            #expect(try again.json["round"] == .integer(2))
            #expect(try again.json["startingPrice"] == .integer(5_900_000) && again.json["reserve"] == .integer(5_900_000),
                    "a re-auction at the defaulted round's prices, not a step down")
            #expect(try again.json["depositAmount"] == .integer(590_000))
            let againId = try again.string("id")
            _ = try await gavel.sql { connection in
                try await connection.query(
                    """
                    UPDATE lots SET starts_at = now() - interval '1 minute', ends_at = now() + interval '2 days'
                    WHERE id = \(UUID(uuidString: againId)!)
                    """, logger: quietLogger)
            }
            let barred = try await PriorityHoldersTests.bid(gavel, againId, buyer.token, 6_000_000)
            #expect(barred.status == .forbidden)
            #expect(try barred.problemCode == "bidder-barred")
        }
    }
}

extension JSONValue {
    var stringValue: String? { if case .string(let text) = self { text } else { nil } }
}
