import Foundation
import GavelCore
import PostgresNIO

extension DemoScenario {
    /// A disposal under the `prc-judicial` ruleset: notices in Chinese, the lot announced
    /// 15 days ahead (the period moved past as the due date is in case 2), real-name
    /// bidders only, and a priority holder who wins at the same price (test vector J),
    /// then the sale confirmation (成交确认书) and the case to its close.
    mutating func judicialCase(_ shared: Parties, run: String) async throws {
        print("\nCase 4: a judicial sale: announced 15 days ahead, real-name bidders, a priority holder wins at the same price\n")
        var parties = shared
        let consignor = try await api.expect(201, .POST, "/v1/consignors", token: admin, json: """
            {"name": "Third Auto Finance \(run)", "currency": "CNY", "policy": {"ruleset": "prc-judicial"}}
            """)
        parties.consignorId = Self.string(consignor["id"])
        parties.manager = Self.string(try await api.expect(201, .POST, "/v1/users", token: admin, json: """
            {"name": "Judicial sale manager", "role": "manager", "consignorId": "\(parties.consignorId)"}
            """)["token"])
        let holder = try await api.expect(201, .POST, "/v1/users", token: admin, json: #"{"name": "Dai Min", "role": "bidder"}"#)
        parties.bidders.append((Self.string(holder["id"]), Self.string(holder["token"]), "Dai Min (co-owner)"))
        let (ana, bo, dai) = (0, 1, parties.bidders.count - 1)
        step("Admin creates a consignor under prc-judicial (no hidden reserve, deposit 5-20%, English auctions only, 24 h bidding, 5 min soft close) and its manager")
        let (caseId, vehicleId) = try await intake(parties, loanNumber: "LN-\(run)-4", vin: Self.vin("1M8GDM9A", 4))

        for (index, legalName, idNumber) in [(ana, "Ana Motors Co., Ltd.", "91110000MA01ANA001"), (dai, "戴敏", "110101198505050021")] {
            try await api.expect(200, .POST, "/v1/bidders/\(parties.bidders[index].id)/verification", token: parties.finance, json: """
                {"legalName": "\(legalName)", "idNumber": "\(idNumber)", "dealerLicence": "DL-\(run)-\(index)", "licenceExpiresOn": "\(today.adding(days: 300))"}
                """)
        }
        step("Finance verifies the real names of \(parties.bidders[ana].name) and \(parties.bidders[dai].name) (\(parties.bidders[bo].name) is not verified)")

        let unannounced = """
            {"vehicleId": "\(vehicleId)", "startsAt": "\(Self.timestamp(3_600))", "endsAt": "\(Self.timestamp(30 * 3_600))"}
            """
        let (early, refusal) = try await api.call(.POST, "/v1/lots", token: parties.manager, json: unannounced)
        check(early == 422 && refusal["code"] == .string("notice-period"),
              "no auction before the parties are told and 15 days announced: 422 notice-period, earliest \(Self.string(refusal["earliestStartsAt"]))")
        let sent = try await api.expect(201, .POST, "/v1/cases/\(caseId)/notices", token: parties.manager, json: #"{"lang": "zh-CN"}"#)
        let notices = sent["items"]?.elements ?? []
        step("Manager sends the notices in Chinese (拍卖通知书) to \(notices.map { "\(Self.string($0["party"])) \(Self.string($0["name"]))" }.joined(separator: ", "))")
        if let first = notices.first {
            let (status, page) = try await api.page("/v1/notices/\(Self.string(first["id"]))", token: parties.manager)
            check(status == 200 && page.contains("拍卖通知书") && page.contains("Wang Li"),
                  "the borrower's notice prints as a 拍卖通知书 naming the borrower")
        }
        let (tooSoon, soonRefusal) = try await api.call(.POST, "/v1/lots", token: parties.manager, json: unannounced)
        check(tooSoon == 422 && soonRefusal["code"] == .string("notice-period"),
              "an auction 1 hour away is still refused: announced 15 days ahead, earliest \(Self.string(soonRefusal["earliestStartsAt"]))")
        let startsIn: TimeInterval = 15 * 86_400 + 120
        let (lotId, start) = try await openLot(parties, path: "/v1/lots", json: """
            {"vehicleId": "\(vehicleId)", "format": "english", "startsAt": "\(Self.timestamp(startsIn))",
             "endsAt": "\(Self.timestamp(startsIn + 25 * 3_600))", "priorityHolders": ["\(parties.bidders[dai].id)"]}
            """, dealers: [ana, dai])
        check(start == 5_900_000, "vector B under prc-judicial: start = reserve = 59,000.00")
        let (visible, _) = try await api.call(.GET, "/v1/lots/\(lotId)", token: parties.bidders[bo].token)
        check(visible == 200, "the lot is its own public announcement: bidders see it from today, 15 days before it opens")
        try await PostgresConnection.with(location, logger: logger) { connection in
            try await connection.query(
                """
                UPDATE lots SET starts_at = now() - interval '1 second', ends_at = now() + interval '1 hour'
                WHERE id = \(UUID(uuidString: lotId)!)
                """, logger: logger)
        }
        step("(demo: the 15-day announcement period is waited out by moving the lot's start to now)")

        let (unverified, notVerified) = try await api.call(.POST, "/v1/lots/\(lotId)/bids", token: parties.bidders[bo].token, json: #"{"maxAmount": 6000000}"#)
        check(unverified == 403 && notVerified["code"] == .string("bidder-not-verified"), "a bidder without a verified real name is refused")
        let steps: [(Int, Int64, Int64, Bool)] = [
            (ana, 7_000_000, 5_900_000, true), (dai, 6_900_000, 7_000_000, false), (dai, 7_000_000, 7_000_000, true),
            (ana, 7_100_000, 7_100_000, true), (dai, 7_100_000, 7_100_000, true),
        ]
        var vectorJ = true
        for (index, amount, price, leading) in steps {
            let placed = try await bid(parties, lotId, index, amount)
            vectorJ = vectorJ && Self.integer(placed["currentPrice"]) == price && placed["leading"] == .bool(leading)
        }
        check(vectorJ, "vector J: the priority holder meets the current price and leads on equal maxima")
        try await PostgresConnection.with(location, logger: logger) { connection in
            try await connection.query("UPDATE lots SET ends_at = now() WHERE id = \(UUID(uuidString: lotId)!)", logger: logger)
        }
        step("(demo: the 24-hour bidding window is cut short)")
        let closed = try await waitForClose(lotId)
        step("Closed \(Self.string(closed["status"])) at \(Self.money(closed["currentPrice"]))")
        check(Self.string(closed["status"]) == "sold" && Self.integer(closed["currentPrice"]) == 7_100_000, "vector J: sold at 71,000.00")

        let confirmation = try await api.expect(200, .GET, "/v1/lots/\(lotId)/confirmation?lang=zh-CN", token: parties.bidders[dai].token)
        let (pageStatus, page) = try await api.page("/v1/lots/\(lotId)/confirmation?lang=zh-CN", token: parties.bidders[dai].token)
        step("成交确认书: buyer \(Self.string(confirmation["buyer"]?["name"])), price \(Self.money(confirmation["price"])), due \(Self.money(confirmation["amountDue"])) by \(Self.string(confirmation["dueAt"]))")
        check(confirmation["buyer"]?["name"] == .string("戴敏") && confirmation["buyerNamePublished"] == .bool(true)
              && pageStatus == 200 && page.contains("成交确认书") && page.contains("戴敏"),
              "the confirmation names the priority holder by its real name, published under the judicial rules")
        let invoice = try await api.expect(200, .GET, "/v1/lots/\(lotId)/invoice", token: parties.finance)
        try await api.expect(201, .POST, "/v1/invoices/\(Self.string(invoice["id"]))/payments", token: parties.finance, json: """
            {"amount": \(Self.integer(invoice["amountDue"])), "reference": "WIRE-D1", "receivedOn": "\(today)"}
            """)
        step("Finance records Dai Min's payment of \(Self.money(invoice["amountDue"]))")
        try await expenses(parties, caseId, [("repossession", 450_000)])
        _ = try await settle(parties, caseId)
        let refunds = try await api.expect(200, .GET, "/v1/surplus-refunds", token: parties.finance)
        for refund in refunds["items"]?.elements ?? [] where refund["caseId"] == .string(caseId) && refund["status"] == .string("pending") {
            let paid = try await api.expect(200, .POST, "/v1/surplus-refunds/\(Self.string(refund["id"]))/pay", token: parties.finance,
                                            json: #"{"reference": "SURPLUS-\#(run)-4"}"#)
            step("Finance pays the surplus of \(Self.money(paid["amount"])) to \(Self.string(paid["borrower"]))")
        }
        _ = try await payEverythingOut(parties, caseId, run: run)
        try await expectClosed(caseId)
    }
}
