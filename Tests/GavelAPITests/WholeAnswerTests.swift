import Foundation
import GavelCore
import Synchronization
import Testing

/// With the seam pinned (`Seam`: IDs numbered 1, 2, 3 in the order Gavel asks for them,
/// the application's clock fixed), a disposal's answers are known to the last member,
/// problem bodies and their request IDs included, and are compared whole.
@Suite("Whole answers, with IDs and the clock pinned")
struct WholeAnswerTests {
    static func id(_ number: Int) -> String { String(format: "00000000-0000-0000-0000-%012d", number) }

    static func json(_ text: String) -> JSONValue {
        (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) ?? .string("not JSON: \(text)")
    }

    /// Counts the IDs handed out; each request without an X-Request-ID takes one first.
    final class Numbering: Sendable {
        let issued = Mutex(0)
        func next() -> UUID { UUID(uuidString: WholeAnswerTests.id(issued.withLock { $0 += 1; return $0 }))! }
        var count: Int { issued.withLock { $0 } }
    }

    @Test("a case, its vehicle and appraisal, and the refusals on the way: every answer whole")
    func disposal() async throws {
        let numbering = Numbering()
        // 2026-11-20 10:00:00 UTC: input dates are bounded by this "today".
        let today = Date(timeIntervalSince1970: 1_795_168_800)
        try await withGavel(newID: { numbering.next() }, configure: { $0.now = { today } }) { gavel in
            let disposal = try await Disposal.start(gavel)

            // The case, read back: everything the manager sent, the consignor's currency, no vehicle yet.
            var before = numbering.count
            let caseAnswer = try await gavel.request(.get, "/v1/cases/\(disposal.caseId)", token: disposal.manager.token)
            #expect(numbering.count == before + 1, "a read takes the request ID only")
            #expect(try caseAnswer.json == Self.json("""
                {"id": "\(disposal.caseId)", "consignorId": "\(disposal.consignorId)", "loanNumber": "LN-2026-0001",
                 "currency": "CNY",
                 "borrower": {"name": "Wang Li", "idNumber": "110101199003071234", "address": "1 Chang'an Ave, Beijing"},
                 "guarantors": [{"name": "Zhang Wei", "guaranteeType": "general", "cap": null}],
                 "collateralOwner": null, "excludedIdNumbers": [],
                 "balances": {"principal": 6000000, "interest": 350000, "fees": 20000, "perDiemInterest": 1500, "asOf": "2026-10-01"},
                 "lienholders": [{"name": "Second Bank", "amount": 300000, "priority": 2, "eligible": true}],
                 "credits": [{"label": "unearned interest rebate", "amount": 12000}],
                 "status": "open", "vehicles": []}
                """), "\(caseAnswer.text)")

            // A vehicle: the request ID first, then the vehicle's.
            before = numbering.count
            let vehicle = try await gavel.request(
                .post, "/v1/cases/\(disposal.caseId)/vehicles", token: disposal.manager.token, json: Disposal.vehicleBody())
            #expect(vehicle.status == .created)
            #expect(vehicle.headers[.init("X-Request-ID")!] == Self.id(before + 1))
            let vehicleId = Self.id(before + 2)
            #expect(try vehicle.json == Self.json("""
                {"id": "\(vehicleId)", "caseId": "\(disposal.caseId)", "vin": "1HGCM82633A004352", "make": "Honda",
                 "model": "Accord", "year": 2019, "mileageKm": 86000, "color": "silver", "location": "Yard 3", "hasKeys": true,
                 "titleStatus": "clean", "repossessedOn": "2026-10-15", "status": "in-stock"}
                """), "\(vehicle.text)")

            // Test vector A (domain-rules section 3), whole.
            before = numbering.count
            let appraisal = try await gavel.request(
                .post, "/v1/vehicles/\(vehicleId)/appraisals", token: disposal.appraiser.token, json: Disposal.vectorAAppraisal)
            #expect(try appraisal.json == Self.json("""
                {"id": "\(Self.id(before + 2))", "vehicleId": "\(vehicleId)", "authorId": "\(disposal.appraiser.id)",
                 "method": "comparables", "status": "draft", "valuationDate": "2026-11-01", "conditionGrade": 3.5,
                 "damages": [{"item": "front bumper", "repairCost": 180000}, {"item": "windscreen", "repairCost": 120000}],
                 "comparables": [
                    {"price": 9200000, "year": 2019, "mileageKm": 80000, "soldOn": "2026-10-01", "adjustedPrice": 9080000, "used": true},
                    {"price": 10500000, "year": 2020, "mileageKm": 60000, "soldOn": "2026-09-15", "adjustedPrice": 8720000, "used": true},
                    {"price": 7800000, "year": 2018, "mileageKm": 110000, "soldOn": "2026-08-20", "adjustedPrice": 9216000, "used": true}],
                 "baseValue": 9080000, "conditionBp": 9600, "damageTotal": 300000,
                 "marketValue": 8416800, "liquidationValue": 6312600, "reason": null}
                """), "\(appraisal.text)")

            // The same loan again: 409, the whole problem.
            before = numbering.count
            let duplicate = try await gavel.request(
                .post, "/v1/cases", token: disposal.manager.token, json: Disposal.caseBody(consignorId: disposal.consignorId))
            #expect(duplicate.status == .conflict)
            #expect(duplicate.headers[.contentType] == "application/problem+json")
            #expect(try duplicate.json == Self.json("""
                {"type": "https://gavel.example/problems/conflict", "title": "Conflict", "status": 409, "code": "conflict",
                 "detail": "consignor First Auto Finance already has a case for loan LN-2026-0001",
                 "requestId": "\(Self.id(before + 1))"}
                """), "\(duplicate.text)")

            // A VIN whose check digit is wrong: 422 `invalid-vin`, the rule and the digit it should be.
            before = numbering.count
            let bad = try await gavel.request(
                .post, "/v1/cases/\(disposal.caseId)/vehicles", token: disposal.manager.token,
                json: Disposal.vehicleBody(vin: "1HGCM82633A004353"))
            #expect(try bad.json == Self.json("""
                {"type": "https://gavel.example/problems/invalid-vin", "title": "Validation Failed", "status": 422,
                 "code": "invalid-vin", "detail": "invalid: vin",
                 "errors": [{"field": "vin", "code": "invalid-vin", "rule": "check-digit",
                             "message": "the check digit (position 9) is 3 but the other characters make it 5"}],
                 "requestId": "\(Self.id(before + 1))"}
                """), "\(bad.text)")
            #expect(try await gavel.count("vehicles") == 1, "the refused vehicle was not stored")
        }
    }
}
