import Foundation
import GavelCore
import Testing

@Suite("Disposal steps under concurrency")
struct DisposalConcurrencyTests {
    @Test("twelve managers listing one vehicle at once create exactly one lot")
    func oneLiveLot() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel)
            let (vehicleId, _) = try await disposal.appraisedVehicle()
            let body = disposal.lotBody(vehicleId: vehicleId)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<12 {
                    group.addTask { try await gavel.request(.post, "/v1/lots", token: disposal.manager.token, json: body).status.code }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 201 }.count == 1)
            #expect(statuses.filter { $0 == 409 }.count == 11, "\(statuses)")
            #expect(try await gavel.count("lots") == 1)
        }
    }

    @Test("two drafts approved at once leave exactly one approved appraisal")
    func oneApproval() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel)
            let vehicleId = try await disposal.addVehicle()
            var drafts: [String] = []
            for _ in 0..<6 {
                let draft = try await gavel.request(
                    .post, "/v1/vehicles/\(vehicleId)/appraisals", token: disposal.appraiser.token, json: Disposal.vectorAAppraisal)
                drafts.append(try draft.string("id"))
            }
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for id in drafts {
                    group.addTask { try await gavel.request(.post, "/v1/appraisals/\(id)/approve", token: disposal.manager.token).status.code }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == 200 })
            let approved = try await gavel.sql { client in
                let rows = try await client.query("SELECT status, count(*)::int FROM appraisals GROUP BY status", logger: quietLogger)
                var counts: [String: Int] = [:]
                for try await (status, count) in rows.decode((String, Int).self) { counts[status] = count }
                return counts
            }
            #expect(approved == ["approved": 1, "superseded": 5])
        }
    }

    @Test("every step of a disposal is in the audit trail with its actor")
    func audited() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel)
            let (vehicleId, appraisalId) = try await disposal.appraisedVehicle()
            let lot = try await gavel.request(.post, "/v1/lots", token: disposal.manager.token, json: disposal.lotBody(vehicleId: vehicleId))
            let expectations: [(String, String, String)] = [
                (disposal.caseId, "case.create", "Disposal manager"),
                (vehicleId, "vehicle.create", "Disposal manager"),
                (appraisalId, "appraisal.create", "Appraiser"),
                (appraisalId, "appraisal.approve", "Disposal manager"),
                (try lot.string("id"), "lot.create", "Disposal manager"),
            ]
            for (entity, action, actor) in expectations {
                let trail = try await gavel.request(.get, "/v1/audit?entityId=\(entity)", token: gavel.adminToken)
                let entry = try #require(try trail.json["items"]?.array?.first { $0["action"] == .string(action) }, "\(action)")
                #expect(entry["actor"]?["name"] == .string(actor))
            }
            let approval = try await gavel.request(.get, "/v1/audit?entityId=\(appraisalId)", token: gavel.adminToken)
            let approve = try #require(try approval.json["items"]?.array?.last)
            #expect(approve["before"]?["status"] == .string("draft"))
            #expect(approve["after"]?["status"] == .string("approved"))
        }
    }
}
