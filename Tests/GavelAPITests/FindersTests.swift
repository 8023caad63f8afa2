import Foundation
import GavelCore
import HTTPTypes
import Testing

/// The finders and account routes of the second round: who am I, users, consignors,
/// revocation, invoices, a case's expenses.
@Suite("Finders: me, users, consignors, revocation, invoices, a case's expenses")
struct FindersTests {
    @Test("GET /v1/me answers the caller, for every role")
    func me() async throws {
        try await withGavel { gavel in
            let consignor = try await gavel.createConsignor()
            for role in Role.allCases {
                let user = role == .admin
                    ? (id: "", token: gavel.adminToken)
                    : try await gavel.createUser(role, consignorId: role == .manager ? consignor : nil, name: "The \(role.rawValue)")
                let me = try await gavel.request(.get, "/v1/me", token: user.token)
                #expect(me.status == .ok)
                #expect(try me.string("role") == role.rawValue)
                if role != .admin {
                    #expect(try me.string("id") == user.id)
                    #expect(try me.string("name") == "The \(role.rawValue)")
                }
                #expect(try me.json["consignorId"] == (role == .manager ? .string(consignor) : .null))
            }
            #expect(try await gavel.request(.get, "/v1/me").status == .unauthorized)
        }
    }

    @Test("users and consignors are listed for admins, page by page")
    func lists() async throws {
        try await withGavel { gavel in
            let first = try await gavel.createConsignor("First Auto Finance")
            let second = try await gavel.createConsignor("Second Auto Finance")
            let finance = try await gavel.createUser(.finance, name: "Finance desk")
            let consignors = try await gavel.request(.get, "/v1/consignors?limit=1", token: gavel.adminToken).json
            #expect(consignors["items"]?.array?.map { $0["id"] } == [.string(first)])
            guard case .string(let cursor)? = consignors["nextCursor"] else { throw TestSetupError("no cursor") }
            let next = try await gavel.request(.get, "/v1/consignors?limit=1&cursor=\(cursor)", token: gavel.adminToken).json
            #expect(next["items"]?.array?.map { $0["id"] } == [.string(second)])
            #expect(next["items"]?.array?.first?["policy"]?["settlement"]?["contact"] != nil)
            let users = try await gavel.request(.get, "/v1/users", token: gavel.adminToken).json
            #expect(users["items"]?.array?.map { $0["name"] } == [.string("admin"), .string("Finance desk")])
            #expect(users["items"]?.array?.allSatisfy { $0["token"] == nil && $0["revoked"] == .bool(false) } == true)
            #expect(try await gavel.request(.get, "/v1/users", token: finance.token).status == .forbidden)
            #expect(try await gavel.request(.get, "/v1/consignors", token: finance.token).status == .forbidden)
        }
    }

    @Test("a revoked user's tokens stop working at once; the last admin is not revoked")
    func revoke() async throws {
        try await withGavel(callerCacheLifetime: .seconds(60)) { gavel in
            let dealer = try await gavel.createUser(.bidder, name: "Dealer")
            #expect(try await gavel.request(.get, "/v1/me", token: dealer.token).status == .ok)
            let revoked = try await gavel.request(.post, "/v1/users/\(dealer.id)/revoke", token: gavel.adminToken)
            #expect(revoked.status == .ok, "\(revoked.text)")
            #expect(try revoked.json["revoked"] == .bool(true))
            // Remembered a moment ago, refused now: the revocation empties this instance's memory.
            #expect(try await gavel.request(.get, "/v1/me", token: dealer.token).status == .unauthorized)
            #expect(try await gavel.request(.post, "/v1/users/\(UUID())/revoke", token: gavel.adminToken).status == .notFound)
            let me = try await gavel.request(.get, "/v1/me", token: gavel.adminToken)
            let last = try await gavel.request(.post, "/v1/users/\(try me.string("id"))/revoke", token: gavel.adminToken)
            #expect(last.status == .conflict, "\(last.text)")
            #expect(try await gavel.request(.get, "/v1/me", token: gavel.adminToken).status == .ok)
            let second = try await gavel.createUser(.admin, name: "Second admin")
            #expect(try await gavel.request(.post, "/v1/users/\(try me.string("id"))/revoke", token: second.token).status == .ok)
            #expect(try await gavel.request(.get, "/v1/me", token: gavel.adminToken).status == .unauthorized)
            let audit = try await gavel.request(.get, "/v1/audit?entityId=\(dealer.id)", token: second.token).json
            #expect(audit["items"]?.array?.contains { $0["action"] == .string("user.revoke") } == true)
        }
    }

    @Test("invoices by status and buyer, with overdue; a bidder sees only its own")
    func invoices() async throws {
        try await withGavel { gavel in
            let sold = try await SoldLot.start(gavel)
            let finance = sold.open.finance.token
            let open = try await gavel.request(.get, "/v1/invoices?status=open", token: finance).json
            #expect(open["items"]?.array?.map { $0["id"] } == [.string(sold.invoiceId)])
            #expect(open["items"]?.array?.first?["overdue"] == .bool(false))
            _ = try await gavel.sql { connection in
                try await connection.query(
                    "UPDATE invoices SET due_at = now() - interval '1 hour' WHERE id = \(UUID(uuidString: sold.invoiceId)!)",
                    logger: quietLogger)
            }
            let overdue = try await gavel.request(.get, "/v1/invoices?status=open&bidderId=\(sold.winner.id)", token: finance).json
            #expect(overdue["items"]?.array?.first?["overdue"] == .bool(true))
            #expect(try await gavel.request(.get, "/v1/invoices?status=paid", token: finance).json["items"] == .array([]))
            #expect(try await gavel.request(.get, "/v1/invoices?status=late", token: finance).status == .unprocessableContent)
            let mine = try await gavel.request(.get, "/v1/invoices", token: sold.winner.token).json
            #expect(mine["items"]?.array?.count == 1)
            let loser = sold.open.bidders[0]
            #expect(try await gavel.request(.get, "/v1/invoices", token: loser.token).json["items"] == .array([]))
            #expect(try await gavel.request(.get, "/v1/invoices?bidderId=\(sold.winner.id)", token: loser.token).json["items"]
                    == .array([]))
        }
    }

    @Test("a case's expenses, the seller fee among them, for its managers and finance")
    func expenses() async throws {
        try await withGavel { gavel in
            let (sold, caseId) = try await SettlementTests.surplusCase(gavel)
            let list = try await gavel.request(.get, "/v1/cases/\(caseId)/expenses", token: sold.open.disposal.manager.token).json
            #expect(list["items"]?.array?.map { $0["kind"] } == [.string("seller-fee"), .string("repossession"), .string("storage")])
            #expect(SettlementTests.amounts(list["items"]) == [160_000, 450_000, 120_000])
            let other = try await gavel.createUser(.manager, consignorId: try await gavel.createConsignor("Other Bank"))
            #expect(try await gavel.request(.get, "/v1/cases/\(caseId)/expenses", token: other.token).status == .notFound)
            #expect(try await gavel.request(.get, "/v1/cases/\(caseId)/expenses", token: sold.winner.token).status == .forbidden)
        }
    }
}
