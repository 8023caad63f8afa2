import Foundation
@testable import GavelAPI
import GavelCore
import GavelStore
import HTTPTypes
import Testing

/// Property: whatever amounts (0 ... 2^63, negative, past Int64) and whatever Unicode
/// text a caller sends to any route that changes something, the answer is never a 5xx.
@Suite("Random amounts and text on every changing route")
struct RandomInputTests {
    /// A route with a body whose `$A` (amount), `$T` (text), `$I` (small integer) and `$D`
    /// (date) are filled in at random, and whose path names records that exist.
    struct Shape: Sendable {
        var method: HTTPRequest.Method = .post
        var template: String
        var path: String
        var body: String
        var role: Role = .admin
        var csv = false
    }

    /// Every POST and PATCH route in the route table must have a shape here.
    static func shapes(_ world: World) -> [Shape] {
        let lot = world.sold.open.lotId, caseId = world.sold.open.disposal.caseId
        let consignor = world.sold.open.disposal.consignorId
        return [
            Shape(template: "/v1/users", path: "/v1/users", body: #"{"name": $T, "role": "bidder"}"#),
            Shape(template: "/v1/consignors", path: "/v1/consignors", body: #"{"name": $T, "currency": $T}"#),
            Shape(method: .patch, template: "/v1/consignors/{id}/policy", path: "/v1/consignors/\(consignor)/policy",
                  body: #"{"fees": {"docFee": $A, "buyerPremiumMin": $A, "buyerPremiumBp": $I}, "valuation": {"mileageRatePerKm": $A}}"#),
            Shape(template: "/v1/cases", path: "/v1/cases", body: """
                {"consignorId": "\(consignor)", "loanNumber": $T, "borrower": {"name": $T, "idNumber": $T, "address": $T},
                 "guarantors": [{"name": $T}], "balances": {"principal": $A, "interest": $A, "fees": $A, "perDiemInterest": $A, "asOf": $D},
                 "lienholders": [{"name": $T, "amount": $A, "priority": $I, "eligible": true}], "credits": [{"label": $T, "amount": $A}]}
                """),
            Shape(template: "/v1/cases/{id}/notices", path: "/v1/cases/\(caseId)/notices",
                  body: #"{"lang": $T, "disposeAfter": $D}"#),
            Shape(template: "/v1/cases/{id}/vehicles", path: "/v1/cases/\(caseId)/vehicles", body: """
                {"vin": $T, "make": $T, "model": $T, "year": $I, "mileageKm": $A, "color": $T, "location": $T, "hasKeys": true,
                 "titleStatus": $T, "repossessedOn": $D}
                """),
            Shape(template: "/v1/vehicles/{id}/appraisals", path: "/v1/vehicles/\(world.vehicleId)/appraisals", body: """
                {"valuationDate": $D, "conditionGrade": 3.5, "damages": [{"item": $T, "repairCost": $A}],
                 "comparables": [{"price": $A, "year": $I, "mileageKm": $A, "soldOn": $D}, {"price": $A, "year": 2019, "mileageKm": 1, "soldOn": $D},
                                 {"price": $A, "year": 2020, "mileageKm": $A, "soldOn": "2026-10-01"}]}
                """),
            Shape(template: "/v1/vehicles/{id}/appraisals", path: "/v1/vehicles/\(world.vehicleId)/appraisals",
                  body: #"{"valuationDate": $D, "conditionGrade": 2.0, "marketValue": $A, "liquidationValue": $A, "reason": $T}"#),
            Shape(template: "/v1/appraisals/{id}/approve", path: "/v1/appraisals/\(world.appraisalId)/approve", body: "{}"),
            Shape(template: "/v1/appraisals/{id}/reject", path: "/v1/appraisals/\(world.appraisalId)/reject", body: #"{"reason": $T}"#),
            Shape(template: "/v1/lots", path: "/v1/lots", body: """
                {"vehicleId": "\(world.vehicleId)", "startsAt": "2026-12-01T00:00:00Z", "endsAt": "2026-12-09T00:00:00Z",
                 "extensionWindowSeconds": $I, "override": {"startingPrice": $A, "reserve": $A, "reason": $T}, "priorityHolders": [$T]}
                """),
            Shape(template: "/v1/lots/{id}/relist", path: "/v1/lots/\(lot)/relist",
                  body: #"{"startsAt": "2026-12-01T00:00:00Z", "endsAt": "2026-12-09T00:00:00Z", "extensionSeconds": $I}"#),
            Shape(template: "/v1/lots/{id}/decision", path: "/v1/lots/\(lot)/decision", body: #"{"accept": true}"#),
            Shape(template: "/v1/lots/{id}/deposits", path: "/v1/lots/\(world.openLotId)/deposits",
                  body: #"{"bidderId": "\#(world.sold.open.bidders[0].id)", "amount": $A, "reference": $T}"#),
            Shape(template: "/v1/lots/{id}/bids", path: "/v1/lots/\(world.openLotId)/bids", body: #"{"maxAmount": $A}"#, role: .bidder),
            Shape(template: "/v1/invoices/{id}/payments", path: "/v1/invoices/\(world.sold.invoiceId)/payments",
                  body: #"{"amount": $A, "reference": $T, "receivedOn": $D, "currency": $T}"#),
            Shape(template: "/v1/invoices/{id}/default", path: "/v1/invoices/\(world.sold.invoiceId)/default", body: "{}"),
            Shape(template: "/v1/deposits/{id}/refund", path: "/v1/deposits/\(world.refundDueDeposit)/refund", body: #"{"reference": $T}"#),
            Shape(template: "/v1/cases/{id}/expenses", path: "/v1/cases/\(caseId)/expenses",
                  body: #"{"kind": "storage", "amount": $A, "incurredOn": $D, "vendor": $T, "reference": $T}"#),
            Shape(template: "/v1/reconciliation/bank-lines", path: "/v1/reconciliation/bank-lines", body: "", csv: true),
            Shape(template: "/v1/cases/{id}/settlement", path: "/v1/cases/\(world.settledCaseId)/settlement", body: #"{"settlementDate": $D}"#),
            Shape(template: "/v1/surplus-refunds/{id}/pay", path: "/v1/surplus-refunds/\(UUID())/pay", body: #"{"reference": $T}"#),
            Shape(template: "/v1/deficiency-claims/{id}/recoveries", path: "/v1/deficiency-claims/\(world.claimId)/recoveries",
                  body: #"{"amount": $A, "reference": $T, "receivedOn": $D}"#),
            Shape(template: "/v1/deficiency-claims/{id}/write-off", path: "/v1/deficiency-claims/\(world.claimId)/write-off",
                  body: #"{"reason": $T}"#),
            Shape(template: "/v1/cases/{id}/borrower-payments", path: "/v1/cases/\(caseId)/borrower-payments",
                  body: #"{"amount": $A, "reference": $T, "receivedOn": $D, "currency": $T}"#),
            Shape(template: "/v1/cases/{id}/consignor-payments", path: "/v1/cases/\(world.settledCaseId)/consignor-payments",
                  body: #"{"amount": $A, "reference": $T, "receivedOn": $D}"#),
            Shape(template: "/v1/payouts", path: "/v1/payouts", body: """
                {"kind": "consignor", "caseId": "\(world.settledCaseId)", "payee": $T, "amount": $A, "reference": $T, "paidOn": $D}
                """),
            Shape(template: "/v1/cases/{id}/reopen", path: "/v1/cases/\(world.settledCaseId)/reopen", body: #"{"reason": $T}"#),
            Shape(template: "/v1/cases/{id}/redemption", path: "/v1/cases/\(caseId)/redemption",
                  body: #"{"amount": $A, "reference": $T, "receivedOn": $D}"#),
            Shape(template: "/v1/users/{id}/revoke", path: "/v1/users/\(UUID())/revoke", body: "{}"),
            Shape(template: "/v1/bidders/{id}/verification", path: "/v1/bidders/\(world.sold.open.bidders[1].id)/verification",
                  body: #"{"legalName": $T, "idNumber": $T, "dealerLicence": $T, "licenceExpiresOn": $D}"#),
            Shape(method: .patch, template: "/v1/cases/{id}", path: "/v1/cases/\(caseId)", body: """
                {"borrower": {"address": $T}, "guarantors": [{"name": $T, "guaranteeType": "joint", "cap": $A, "address": $T}],
                 "collateralOwner": {"name": $T, "idNumber": $T}, "excludedIdNumbers": [$T], "credits": [{"label": $T, "amount": $A}],
                 "lienholders": [{"priority": $I, "demandReceivedAt": $D, "address": $T}]}
                """),
            Shape(template: "/v1/cases/import", path: "/v1/cases/import?consignorId=\(consignor)", body: "", csv: true),
            // Last: a valid reason ends the lot and hands the vehicle back.
            Shape(template: "/v1/lots/{id}/cancel", path: "/v1/lots/\(world.openLotId)/cancel", body: #"{"reason": $T}"#),
            Shape(template: "/v1/vehicles/{id}/return", path: "/v1/vehicles/\(world.vehicleId)/return", body: #"{"reason": $T}"#),
        ]
    }

    struct World: Sendable {
        var sold: SoldLot
        var openLotId: String
        var vehicleId: String
        var appraisalId: String
        var refundDueDeposit: String
        var settledCaseId: String
        var claimId: String
    }

    static func world(_ gavel: Harness) async throws -> World {
        let sold = try await SoldLot.start(gavel)
        let open = try await OpenLot.start(gavel, bidders: 1, vin: "JH4KA7561PC008269")
        let vehicleId = try await sold.open.disposal.addVehicle(vin: "1M8GDM9AXKP042788")
        let appraisal = try await gavel.request(
            .post, "/v1/vehicles/\(vehicleId)/appraisals", token: sold.open.disposal.appraiser.token, json: Disposal.vectorAAppraisal)
        let deposits = try await gavel.request(.get, "/v1/deposits?lotId=\(sold.open.lotId)", token: sold.open.finance.token).json
        let refundDue = deposits["items"]?.elements?.first { $0["status"] == .string("refund-due") }?["id"]
        let settled = try await HardeningTests.settledCase(gavel)
        let claims = try await gavel.request(.get, "/v1/deficiency-claims", token: settled.finance.token).json
        guard case .string(let refundId)? = refundDue, case .string(let claimId)? = claims["items"]?.elements?.first?["id"] else {
            throw TestSetupError("no refund-due deposit or claim: \(deposits) \(claims)")
        }
        return World(
            sold: sold, openLotId: open.lotId, vehicleId: vehicleId, appraisalId: try appraisal.string("id"),
            refundDueDeposit: refundId, settledCaseId: settled.disposal.caseId, claimId: claimId)
    }

    static func amount(_ random: inout some RandomNumberGenerator) -> String {
        switch Int.random(in: 0..<12, using: &random) {
        case 0: "0"
        case 1: "-1"
        case 2: String(Money.inputMaximum)
        case 3: String(Money.inputMaximum + 1)
        case 4: String(Money.maximum)
        case 5: String(Int64.max)
        case 6: "100000000000000000000"
        case 7: String(-Int64.random(in: 1...Int64.max, using: &random))
        case 8: "1.5"
        case 9: String(Int64.random(in: 0...1_000_000_000, using: &random))
        default: String(Int64.random(in: 0...Int64.max, using: &random))
        }
    }

    /// Scalars from the places that have hurt before: control characters and NUL, emoji
    /// with joiners (several code points a character), combining marks, right-to-left
    /// and CJK text, and plain ASCII (spreadsheet formula starters included).
    static let alphabets: [ClosedRange<UInt32>] = [
        0x00...0x1F, 0x20...0x7E, 0x300...0x36F, 0x5D0...0x5EA, 0x4E00...0x4FFF, 0x1F468...0x1F469, 0x200D...0x200D,
        0x1F300...0x1F5FF, 0xFE0F...0xFE0F, 0xFFF0...0xFFFF,
    ]

    static func text(_ random: inout some RandomNumberGenerator) -> String {
        let length = [0, 1, 3, 17, 64, 199, 200, 201, 250, 1_001].randomElement(using: &random)!
        var scalars = String.UnicodeScalarView()
        for _ in 0..<length {
            let range = alphabets.randomElement(using: &random)!
            if let scalar = Unicode.Scalar(UInt32.random(in: range, using: &random)) { scalars.append(scalar) }
        }
        return JSONText.encode(JSONValue.string(String(scalars)))
    }

    static func fill(_ template: String, _ random: inout some RandomNumberGenerator) -> String {
        var out = ""
        var rest = Substring(template)
        while let marker = rest.firstIndex(of: "$") {
            out += rest[..<marker]
            let kind = rest[rest.index(after: marker)]
            rest = rest[rest.index(marker, offsetBy: 2)...]
            switch kind {
            case "A": out += amount(&random)
            case "T": out += Int.random(in: 0..<20, using: &random) == 0 ? #""\ud800""# : text(&random)
            case "I": out += [String(Int.random(in: -5...3_000, using: &random)), amount(&random)].randomElement(using: &random)!
            default:
                let dates = ["\"2026-11-01\"", "\"1979-12-31\"", "\"9999-12-31\"", "\"2026-02-30\"", text(&random), "\"2026-11-20\""]
                out += dates.randomElement(using: &random)!
            }
        }
        return out + rest
    }

    static func csv(_ random: inout some RandomNumberGenerator) -> String {
        (0..<Int.random(in: 1...4, using: &random)).map { _ in
            let amount = ["100.00", "-5.25", "99999999999999.99", "1e5", "0.00", "12"].randomElement(using: &random)!
            func field() -> String {
                let raw = text(&random)
                let inner = (try? JSONDecoder().decode(String.self, from: Data(raw.utf8))) ?? ""
                return "\"" + inner.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            }
            return "2026-11-\(Int.random(in: 1...31, using: &random)),\(amount),\(field()),\(field())"
        }.joined(separator: "\n")
    }

    @Test("no 5xx for random amounts and Unicode text on any POST or PATCH route", arguments: [UInt64(13), 77])
    func neverServerError(seed: UInt64) async throws {
        try await withGavel { gavel in
            let world = try await Self.world(gavel)
            let shapes = Self.shapes(world)
            let changing = Set(registeredEndpoints().filter { [.post, .patch].contains($0.method) }.map { "\($0.method.rawValue) \($0.path)" })
            #expect(changing == Set(shapes.map { "\($0.method.rawValue) \($0.template)" }), "a changing route has no shape here")
            var random = SeededRandom(seed: seed)
            var answered: [Int: Int] = [:]
            for shape in shapes {
                let token = shape.role == .bidder ? world.sold.open.bidders[0].token : gavel.adminToken
                for _ in 0..<12 {
                    let body = shape.csv ? Self.csv(&random) : Self.fill(shape.body, &random)
                    let headers: HTTPFields = shape.csv ? [.contentType: "text/csv"] : [:]
                    let reply = try await gavel.request(shape.method, shape.path, token: token, json: body, headers: headers)
                    answered[reply.status.code, default: 0] += 1
                    #expect(reply.status.code < 500, "\(shape.method) \(shape.path) \(body) -> \(reply.text)")
                }
            }
            // The inputs reached past parsing: some were taken, most refused field by field.
            #expect((answered[422] ?? 0) > 50 && answered.keys.contains { (200..<300).contains($0) }, "\(answered)")
        }
    }
}

