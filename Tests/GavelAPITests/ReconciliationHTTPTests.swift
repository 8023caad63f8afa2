import Foundation
import GavelCore
import HTTPTypes
import PostgresNIO
import Testing

@Suite("Bank reconciliation through the API")
struct ReconciliationHTTPTests {
    static func upload(_ gavel: Harness, _ csv: String, token: String, contentType: String = "text/csv") async throws -> Harness.Reply {
        try await gavel.request(
            .post, "/v1/reconciliation/bank-lines", token: token, json: csv, headers: [.contentType: contentType])
    }

    static func today(_ gavel: Harness, plus days: Int = 0) async throws -> String {
        try await gavel.sql { connection in
            for try await day in try await connection.query(
                "SELECT (current_date + \(days)::int)::text", logger: quietLogger).decode(String.self) { return day }
            return ""
        }
    }

    @Test("exact and fuzzy matches, quoted fields with commas; a second upload of the same lines matches nothing twice")
    func matching() async throws {
        try await withGavel { gavel in
            let sold = try await SoldLot.start(gavel)
            let finance = sold.open.finance.token
            #expect(try await sold.pay(840_000).status == .created)  // reference WIRE-840000, received 2026-11-20
            let deposits = try await gavel.request(.get, "/v1/deposits?lotId=\(sold.open.lotId)", token: finance).json
            guard case .string(let loserDeposit) = deposits["items"]?.array?.first(where: { $0["bidderId"] == .string(sold.open.bidders[0].id) })?["id"] else {
                Issue.record("no deposit")
                return
            }
            #expect(try await gavel.request(
                .post, "/v1/deposits/\(loserDeposit)/refund", token: finance, json: #"{"reference": "PAYOUT-1"}"#).status == .ok)
            let today = try await Self.today(gavel)
            let twoDaysAgo = try await Self.today(gavel, plus: -2)
            let longAgo = try await Self.today(gavel, plus: -10)
            let csv = """
                date,amount,reference,counterparty
                \(today),5900.00,BANK-1,"Dealer 1, Ltd."
                \(twoDaysAgo),5900.00,,"Dealer ""Two"" Motors, Inc."
                2026-11-21,8400.00,wire-840000,Buyer
                \(today),-5900.00,PAYOUT-1,Dealer 1
                \(longAgo),5900.00,,Someone

                """
            let first = try await Self.upload(gavel, csv, token: finance)
            #expect(first.status == .ok, "\(first.text)")
            let answer = try first.json
            let matched = answer["matched"]?.array ?? []
            #expect(matched.count == 4)
            #expect(matched.map { $0["bankLine"]?["line"] } == [2, 4, 5, 3].map { JSONValue.integer($0) })
            #expect(matched.map { $0["rule"] } == ["reference", "reference", "reference", "amount-and-date"].map { JSONValue.string($0) })
            #expect(matched.map { $0["bookItem"]?["kind"] } == ["deposit", "payment", "deposit-refund", "deposit"].map { JSONValue.string($0) })
            #expect(matched.last?["bankLine"]?["counterparty"] == .string(#"Dealer "Two" Motors, Inc."#))
            #expect(answer["unmatchedBankLines"]?.array?.map { $0["line"] } == [.integer(6)])
            #expect(answer["unmatchedBookItems"]?.array?.count == 1)
            #expect(answer["alreadyImported"] == .array([]))

            let again = try await Self.upload(gavel, csv, token: finance).json
            #expect(again["matched"] == .array([]))
            #expect(again["alreadyImported"] == .array([2, 3, 4, 5, 6].map { JSONValue.integer($0) }))
            #expect(again["unmatchedBankLines"]?.array?.count == 1)
            #expect(again["unmatchedBookItems"] == answer["unmatchedBookItems"])
            #expect(try await gavel.count("bank_lines") == 5)
            #expect(try await gavel.count("reconciliation_matches") == 4)

            // The last deposit's bank line arrives in a later statement, without a header.
            let late = try await Self.upload(gavel, "\(today),5900.00,BANK-3,Dealer 3\n", token: finance).json
            #expect(late["matched"]?.array?.count == 1)
            #expect(late["unmatchedBookItems"] == .array([]))
        }
    }

    @Test("malformed lines are each named by line number and nothing is stored")
    func malformed() async throws {
        try await withGavel { gavel in
            let finance = try await gavel.createUser(.finance, name: "Finance")
            let csv = """
                2026-11-20,590000,REF,minor units
                2026-13-01,1.00,REF,bad date
                2026-11-20,1.00,REF
                2026-11-20,0.00,REF,zero
                "2026-11-20","12.34","REF, quoted","fine"

                2026-11-20,1.0,REF,one place
                """
            let reply = try await Self.upload(gavel, csv, token: finance.token)
            #expect(reply.status == .unprocessableContent)
            #expect(try reply.problemCode == "validation-failed")
            let fields = try reply.json["errors"]?.array?.map { $0["field"] } ?? []
            #expect(fields == ["line 1", "line 2", "line 3", "line 4", "line 7"].map { JSONValue.string($0) })
            #expect(reply.text.contains("not minor units"))
            #expect(try await gavel.count("bank_lines") == 0)
            #expect(try await Self.upload(gavel, "", token: finance.token).status == .unprocessableContent)
            #expect(try await Self.upload(gavel, "date,amount,reference,counterparty\n", token: finance.token).status == .unprocessableContent)
            let json = try await Self.upload(gavel, #"{"lines": []}"#, token: finance.token, contentType: "application/json")
            #expect(json.status == .unsupportedMediaType)
            #expect(try json.problemCode == "unsupported-media-type")
            let bidder = try await gavel.createUser(.bidder)
            #expect(try await Self.upload(gavel, "2026-11-20,1.00,R,X", token: bidder.token).status == .forbidden)
            #expect(try await gavel.count("bank_lines") == 0)
        }
    }
}
