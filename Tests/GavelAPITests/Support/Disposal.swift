import Foundation
import GavelCore
import Testing

/// Builds the chain a disposal goes through (consignor, manager, case, vehicle,
/// appraisal, approval) through the API, with the vehicle and comparables of test
/// vector A.
struct Disposal: Sendable {
    let gavel: Harness
    let consignorId: String
    let manager: (id: String, token: String)
    let appraiser: (id: String, token: String)
    let caseId: String
    /// The consignor's policy is `prc-judicial`: lots are announced 15 days ahead.
    var judicial = false

    static let vectorAComparables = """
        [{"price": 9200000, "year": 2019, "mileageKm": 80000, "soldOn": "2026-10-01"},
         {"price": 10500000, "year": 2020, "mileageKm": 60000, "soldOn": "2026-09-15"},
         {"price": 7800000, "year": 2018, "mileageKm": 110000, "soldOn": "2026-08-20"}]
        """

    static let vectorAAppraisal = """
        {"valuationDate": "2026-11-01", "conditionGrade": 3.5,
         "damages": [{"item": "front bumper", "repairCost": 180000}, {"item": "windscreen", "repairCost": 120000}],
         "comparables": \(vectorAComparables)}
        """

    static func start(
        _ gavel: Harness, policy: String? = nil, loanNumber: String = "LN-2026-0001", credits: Bool = true, borrower: String = "Wang Li"
    ) async throws -> Disposal {
        let policyPart = #", "policy": \#(Self.withoutNoticePeriod(policy))"#
        let consignor = try await gavel.request(
            .post, "/v1/consignors", token: gavel.adminToken, json: #"{"name": "First Auto Finance"\#(policyPart)}"#)
        guard consignor.status == .created else { throw TestSetupError("consignor: \(consignor.text)") }
        let consignorId = try consignor.string("id")
        let manager = try await gavel.createUser(.manager, consignorId: consignorId, name: "Disposal manager")
        let appraiser = try await gavel.createUser(.appraiser, name: "Appraiser")
        let reply = try await gavel.request(.post, "/v1/cases", token: manager.token, json: caseBody(consignorId: consignorId, loanNumber: loanNumber, credits: credits, borrower: borrower))
        guard reply.status == .created else { throw TestSetupError("case: \(reply.text)") }
        return Disposal(
            gavel: gavel, consignorId: consignorId, manager: manager, appraiser: appraiser, caseId: try reply.string("id"),
            judicial: policy?.contains("prc-judicial") == true)
    }

    /// Most tests list a vehicle at once: their consignor needs no notice period unless the
    /// policy names one (the notice tests do).
    static func withoutNoticePeriod(_ policy: String?) -> String {
        guard let policy else { return #"{"notice": {"minDays": 0}}"# }
        guard !policy.contains(#""notice""#), let last = policy.lastIndex(of: "}") else { return policy }
        let head = policy[..<last].trimmingCharacters(in: .whitespaces)
        return head + (head.hasSuffix("{") ? "" : ", ") + #""notice": {"minDays": 0}}"#
    }

    static func caseBody(consignorId: String, loanNumber: String = "LN-2026-0001", credits: Bool = true, borrower: String = "Wang Li") -> String {
        """
        {"consignorId": "\(consignorId)", "loanNumber": "\(loanNumber)",
         "borrower": {"name": "\(borrower)", "idNumber": "110101199003071234", "address": "1 Chang'an Ave, Beijing"},
         "guarantors": [{"name": "Zhang Wei"}],
         "balances": {"principal": 6000000, "interest": 350000, "fees": 20000, "perDiemInterest": 1500, "asOf": "2026-10-01"},
         "lienholders": [{"name": "Second Bank", "amount": 300000, "priority": 2, "eligible": true}],
         "credits": \(credits ? #"[{"label": "unearned interest rebate", "amount": 12000}]"# : "[]")}
        """
    }

    static func vehicleBody(vin: String = "1HGCM82633A004352") -> String {
        """
        {"vin": "\(vin)", "make": "Honda", "model": "Accord", "year": 2019, "mileageKm": 86000, "color": "silver",
         "location": "Yard 3", "hasKeys": true, "titleStatus": "clean", "repossessedOn": "2026-10-15"}
        """
    }

    func addVehicle(vin: String = "1HGCM82633A004352") async throws -> String {
        let reply = try await gavel.request(.post, "/v1/cases/\(caseId)/vehicles", token: manager.token, json: Self.vehicleBody(vin: vin))
        guard reply.status == .created else { throw TestSetupError("vehicle: \(reply.text)") }
        return try reply.string("id")
    }

    /// A vehicle with test vector A's appraisal approved by the manager.
    func appraisedVehicle(vin: String = "1HGCM82633A004352") async throws -> (vehicleId: String, appraisalId: String) {
        let vehicleId = try await addVehicle(vin: vin)
        let appraisal = try await gavel.request(
            .post, "/v1/vehicles/\(vehicleId)/appraisals", token: appraiser.token, json: Self.vectorAAppraisal)
        guard appraisal.status == .created else { throw TestSetupError("appraisal: \(appraisal.text)") }
        let appraisalId = try appraisal.string("id")
        let approval = try await gavel.request(.post, "/v1/appraisals/\(appraisalId)/approve", token: manager.token)
        guard approval.status == .ok else { throw TestSetupError("approval: \(approval.text)") }
        return (vehicleId, appraisalId)
    }

    static func timestamp(_ offset: TimeInterval) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date().addingTimeInterval(offset))
    }

    func lotBody(vehicleId: String, format: String = "english", startsIn: TimeInterval = 3_600, lasting: TimeInterval = 2 * 86_400, extra: String = "") -> String {
        """
        {"vehicleId": "\(vehicleId)", "format": "\(format)", "startsAt": "\(Self.timestamp(startsIn))",
         "endsAt": "\(Self.timestamp(startsIn + lasting))"\(extra)}
        """
    }

    /// Lists the vehicle in a lot open since a minute ago. Under prc-judicial the case's
    /// notices are sent and the lot announced 15 days ahead first; then its times are
    /// moved as if the announcement period had run (the tests' stand-in for the clock).
    func openLot(vehicleId: String, format: String = "english", lasting: TimeInterval = 2 * 86_400, extra: String = "") async throws -> Harness.Reply {
        guard judicial else {
            return try await gavel.request(
                .post, "/v1/lots", token: manager.token,
                json: lotBody(vehicleId: vehicleId, format: format, startsIn: -60, lasting: lasting, extra: extra))
        }
        let notices = try await gavel.request(.post, "/v1/cases/\(caseId)/notices", token: manager.token, json: "{}")
        guard notices.status == .created else { throw TestSetupError("notices: \(notices.text)") }
        let announced = try await gavel.request(
            .post, "/v1/lots", token: manager.token,
            json: lotBody(vehicleId: vehicleId, format: format, startsIn: 15 * 86_400 + 600, lasting: lasting, extra: extra))
        guard announced.status == .created, let lotId = UUID(uuidString: try announced.string("id")) else { return announced }
        try await gavel.sql { connection in
            try await connection.query(
                """
                UPDATE lots SET starts_at = now() - interval '60 seconds',
                                ends_at = now() - interval '60 seconds' + make_interval(secs => \(lasting))
                WHERE id = \(lotId)
                """, logger: quietLogger)
        }
        return try await gavel.request(.get, "/v1/lots/\(lotId.uuidString.lowercased())", token: manager.token)
    }

    /// Plays the end of a round that issue 4's closer will perform: the lot ends unsold.
    func markUnsold(_ lotId: String) async throws {
        _ = try await gavel.sql { client in
            try await client.query("UPDATE lots SET status = 'unsold' WHERE id = \(UUID(uuidString: lotId)!)", logger: quietLogger)
        }
    }
}
