import Foundation
import GavelCore
import HTTPTypes
import Testing

/// `GET /v1/reports/pipeline` and `GET /v1/reports/recovery` through real disposals.
@Suite("Disposal reports through the API")
struct ReportsHTTPTests {
    /// Days from the fixtures' repossession day (2026-10-15) to today (UTC).
    static var daysSinceRepossession: Int64 {
        let repossessed = Date(timeIntervalSince1970: TimeInterval(CalendarDate(iso: "2026-10-15")!.dayNumber) * 86_400)
        return Int64((Date().timeIntervalSince1970 / 86_400).rounded(.down) - repossessed.timeIntervalSince1970 / 86_400)
    }

    static func stages(_ reply: Harness.Reply) throws -> [String: Int64] {
        var counts: [String: Int64] = [:]
        for stage in try reply.json["stages"]?.array ?? [] {
            if case .string(let name)? = stage["stage"], case .integer(let count)? = stage["count"] { counts[name] = count }
        }
        return counts
    }

    @Test("the pipeline places each vehicle at its stage with its age, page by page, for its consignor's managers and finance")
    func pipeline() async throws {
        try await withGavel { gavel in
            let sold = try await SoldLot.start(gavel)
            let disposal = sold.open.disposal
            let inStock = try await disposal.addVehicle(vin: "JH4KA7561PC008269")
            _ = try await disposal.appraisedVehicle(vin: "1M8GDM9AXKP042788")
            let manager = disposal.manager.token
            let report = try await gavel.request(.get, "/v1/reports/pipeline", token: manager)
            #expect(report.status == .ok, "\(report.text)")
            #expect(try Self.stages(report) == [
                "in-stock": 1, "appraised": 1, "listed": 0, "sold-unpaid": 1, "paid": 0, "settled": 0, "closed": 0, "returned": 0,
            ])
            let items = try #require(try report.json["items"]?.array)
            #expect(items.map { $0["stage"] } == [.string("sold-unpaid"), .string("in-stock"), .string("appraised")])
            #expect(items.allSatisfy { $0["days"] == .integer(Self.daysSinceRepossession) })
            #expect(try report.json["consignorId"] == .string(disposal.consignorId))

            // Page by page, the stages always over every vehicle.
            let first = try await gavel.request(.get, "/v1/reports/pipeline?limit=2", token: manager)
            #expect(try first.json["items"]?.array?.count == 2)
            let cursor = try #require(try first.json["nextCursor"]?.stringValue)
            let second = try await gavel.request(.get, "/v1/reports/pipeline?limit=2&cursor=\(cursor)", token: manager)
            #expect(try second.json["items"]?.array?.map { $0["stage"] } == [.string("appraised")])
            #expect(try Self.stages(second) == Self.stages(first))

            // Paid, the others returned: the case settles and so does the pipeline.
            #expect(try await sold.pay(7_840_000).status == .created)
            let paid = try await gavel.request(.get, "/v1/reports/pipeline", token: sold.open.finance.token)
            #expect(try Self.stages(paid)["paid"] == 1)
            for vehicle in [inStock, try #require(items.last?["vehicleId"]?.stringValue)] {
                let returned = try await gavel.request(
                    .post, "/v1/vehicles/\(vehicle)/return", token: manager, json: #"{"reason": "consignor recalls it"}"#)
                #expect(returned.status == .ok, "\(returned.text)")
            }
            #expect(try Self.stages(try await gavel.request(.get, "/v1/reports/pipeline", token: manager))["returned"] == 2)
            let settled = try await gavel.request(
                .post, "/v1/cases/\(disposal.caseId)/settlement", token: sold.open.finance.token, json: "{}")
            #expect(settled.status == .created, "\(settled.text)")
            #expect(try Self.stages(try await gavel.request(.get, "/v1/reports/pipeline", token: manager))["settled"] == 3)

            let csv = try await gavel.request(.get, "/v1/reports/pipeline", token: manager, headers: [.accept: "text/csv"])
            #expect(csv.headers[.contentType]?.hasPrefix("text/csv") == true)
            #expect(csv.text.hasPrefix("stage,vehicles,averageDays,oldestDays\n"))
            #expect(csv.text.contains("settled,3,"))

            // Another consignor's manager sees its own, empty, and not this one's.
            let other = try await Disposal.start(gavel, loanNumber: "LN-OTHER")
            let theirs = try await gavel.request(.get, "/v1/reports/pipeline", token: other.manager.token)
            #expect(try Self.stages(theirs).values.allSatisfy { $0 == 0 })
            #expect(try await gavel.request(
                .get, "/v1/reports/pipeline?consignorId=\(disposal.consignorId)", token: other.manager.token).status == .notFound)
            #expect(try await gavel.request(.get, "/v1/reports/pipeline?consignorId=nope", token: manager).status == .unprocessableContent)
            #expect(try await gavel.request(.get, "/v1/reports/pipeline", token: sold.winner.token).status == .forbidden)
        }
    }

    @Test("recovery per consignor and month adds up to the statements, with days to sale and settlement")
    func recovery() async throws {
        try await withGavel { gavel in
            let sold = try await SoldLot.start(gavel)
            let finance = sold.open.finance.token
            #expect(try await sold.pay(7_840_000).status == .created)
            let settled = try await gavel.request(
                .post, "/v1/cases/\(sold.open.disposal.caseId)/settlement", token: finance, json: "{}")
            #expect(settled.status == .created, "\(settled.text)")
            guard case .integer(let obligation)? = try settled.json["obligation"]?["total"],
                  case .integer(let proceeds)? = try settled.json["proceeds"]?["total"],
                  case .string(let day)? = try settled.json["settlementDate"]
            else { Issue.record("no totals in \(settled.text)"); return }

            let report = try await gavel.request(.get, "/v1/reports/recovery", token: finance)
            #expect(report.status == .ok, "\(report.text)")
            let rows = try #require(try report.json["items"]?.array)
            #expect(rows.count == 1)
            let row = try #require(rows.first)
            #expect(row["consignorId"] == .string(sold.open.disposal.consignorId))
            #expect(row["month"] == .string(String(day.prefix(7))))
            #expect(row["cases"] == .integer(1) && row["obligation"] == .integer(obligation) && row["proceeds"] == .integer(proceeds))
            #expect(row["recoveryBp"] == .integer((proceeds * 10_000 + obligation / 2) / obligation))
            let settlementDays = Int64(CalendarDate(iso: day)!.dayNumber - CalendarDate(iso: "2026-10-15")!.dayNumber)
            #expect(row["averageDaysToSettlement"] == .integer(settlementDays))
            #expect(row["averageDaysToSale"] == .integer(Self.daysSinceRepossession), "sold today")

            // Outside the period: nothing. The manager: its own.
            let before = try await gavel.request(.get, "/v1/reports/recovery?from=2026-01-01&to=2026-01-31", token: finance)
            #expect(try before.json["items"]?.array?.isEmpty == true)
            let mine = try await gavel.request(.get, "/v1/reports/recovery", token: sold.open.disposal.manager.token)
            #expect(try mine.json["items"]?.array?.count == 1)
            let csv = try await gavel.request(.get, "/v1/reports/recovery", token: finance, headers: [.accept: "text/csv"])
            #expect(csv.text.hasPrefix("consignorId,consignor,currency,month,cases,obligation,proceeds,recoveryBp,"))
            #expect(csv.text.contains(",\(obligation),\(proceeds),"))
            // Bad periods.
            #expect(try await gavel.request(.get, "/v1/reports/recovery?from=2026-12-01&to=2026-11-01", token: finance).status == .unprocessableContent)
            #expect(try await gavel.request(.get, "/v1/reports/recovery?from=yesterday", token: finance).status == .unprocessableContent)
            // Parameters the route does not take (found by the fuzzer: `?=` was taken as none).
            #expect(try await gavel.request(.get, "/v1/reports/recovery?=", token: finance).status == .unprocessableContent)
            #expect(try await gavel.request(.get, "/v1/reports/pipeline?stage=listed", token: finance).status == .unprocessableContent)
        }
    }
}
