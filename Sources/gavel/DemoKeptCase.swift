import Foundation
import GavelCore

extension DemoScenario {
    /// `gavel demo --keep`: a case left in the middle of its disposal for the console,
    /// with a live lot bid on by two dealers (a day to run) and a second vehicle whose
    /// appraisal waits for a manager's approval.
    mutating func keptCase(_ parties: Parties, run: String) async throws {
        print("\nLeft for the console (--keep): a case in the middle of its disposal\n")
        let (caseId, vehicleId) = try await intake(parties, loanNumber: "LN-\(run)-LIVE", vin: Self.vin("1FTFW1ET", 5))
        _ = try await sendNotices(parties, caseId, days: 10)
        let (lotId, start) = try await openLot(parties, path: "/v1/lots", json: """
            {"vehicleId": "\(vehicleId)", "format": "english", "startsAt": "\(Self.timestamp(-1))", "endsAt": "\(Self.timestamp(86_400))"}
            """, dealers: [0, 1])
        _ = try await bid(parties, lotId, 0, start + 400_000)
        _ = try await bid(parties, lotId, 1, start + 200_000)
        let second = try await api.expect(201, .POST, "/v1/cases/\(caseId)/vehicles", token: parties.manager, json: """
            {"vin": "\(Self.vin("2HGES165", 6))", "make": "Honda", "model": "Civic", "year": 2017, "mileageKm": 98000, "hasKeys": false,
             "titleStatus": "clean", "repossessedOn": "\(today.adding(days: -6))"}
            """)
        let draft = try await api.expect(201, .POST, "/v1/vehicles/\(Self.string(second["id"]))/appraisals", token: parties.appraiser, json: """
            {"valuationDate": "\(today)", "conditionGrade": 3.0, "damages": [{"item": "missing keys", "repairCost": 90000}],
             "comparables": [{"price": 5400000, "year": 2017, "mileageKm": 90000, "soldOn": "\(today.adding(days: -20))"},
                             {"price": 6100000, "year": 2018, "mileageKm": 70000, "soldOn": "\(today.adding(days: -45))"},
                             {"price": 4700000, "year": 2016, "mileageKm": 120000, "soldOn": "\(today.adding(days: -80))"}]}
            """)
        step("A second vehicle, 2017 Honda Civic, appraised at \(Self.money(draft["marketValue"])): the appraisal waits for the manager")
        // Without --url the demo's own server is gone when it ends: name the page, not its address.
        print("\nIn the console of the Gavel on this database (gavel serve: http://127.0.0.1:8080), open")
        print("/console/cases/\(caseId), signed in with the admin token gavel serve printed or as this")
        print("case's manager with \(parties.manager). Its lot is on the board for a day.")
    }
}
