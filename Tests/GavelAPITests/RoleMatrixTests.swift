import Foundation
import GavelAPI
import GavelCore
import HTTPTypes
import Testing

@Suite("Roles: 401 and 403 for every guarded route")
struct RoleMatrixTests {
    @Test("every route answers 401 without a token and 403 to each role it does not admit")
    func matrix() async throws {
        try await withGavel { gavel in
            let consignor = try await gavel.createConsignor()
            var tokens: [Role: String] = [.admin: gavel.adminToken]
            for role in Role.allCases where role != .admin {
                tokens[role] = try await gavel.createUser(role, consignorId: role == .manager ? consignor : nil).token
            }
            let endpoints = registeredEndpoints()
            #expect(endpoints.count >= 9)
            for endpoint in endpoints {
                var path = endpoint.path.replacingOccurrences(of: "{id}", with: consignor)
                // The board's stream would stay open for those who may follow it: a parameter
                // it does not take makes it answer (422) once the caller is let in.
                if endpoint.path == "/v1/board/events" { path += "?probe=1" }
                let body = [.post, .patch].contains(endpoint.method) ? "{}" : nil
                guard case .roles(let allowed) = endpoint.access else {
                    let reply = try await gavel.request(endpoint.method, path)
                    #expect(reply.status == .ok, "\(endpoint.method) \(endpoint.path) is public")
                    continue
                }
                let anonymous = try await gavel.request(endpoint.method, path, json: body)
                #expect(anonymous.status == .unauthorized, "\(endpoint.method) \(endpoint.path) without a token")
                for role in Role.allCases {
                    let reply = try await gavel.request(endpoint.method, path, token: tokens[role], json: body)
                    if allowed.contains(role) {
                        #expect(![.unauthorized, .forbidden].contains(reply.status),
                                "\(role) may \(endpoint.method) \(endpoint.path): \(reply.status)")
                    } else {
                        #expect(reply.status == .forbidden, "\(role) may not \(endpoint.method) \(endpoint.path): \(reply.status)")
                        #expect(try reply.problemCode == "forbidden")
                    }
                }
            }
        }
    }

    @Test("the role matrix is the one the contract gives, route for route")
    func declaredAccess() {
        let access = Dictionary(uniqueKeysWithValues: registeredEndpoints().map { ("\($0.method.rawValue) \($0.path)", $0.access) })
        let contract: [String: Access] = [
            "GET /health": .anyone,
            "GET /ready": .anyone,
            "GET /metrics": .anyone,
            "GET /openapi.yaml": .anyone,
            "POST /v1/users": .roles([.admin]),
            "POST /v1/consignors": .roles([.admin]),
            "GET /v1/consignors/{id}": .roles([.admin, .manager]),
            "PATCH /v1/consignors/{id}/policy": .roles([.admin]),
            "GET /v1/audit": .roles([.admin]),
            "POST /v1/cases": .roles([.manager, .admin]),
            "GET /v1/cases": .roles([.manager, .finance, .admin]),
            "GET /v1/cases/{id}": .roles([.manager, .finance, .admin]),
            "POST /v1/cases/{id}/vehicles": .roles([.manager, .admin]),
            "GET /v1/vehicles/{id}": .roles([.admin, .manager, .appraiser, .finance]),
            "POST /v1/vehicles/{id}/appraisals": .roles([.appraiser, .manager, .admin]),
            "POST /v1/appraisals/{id}/approve": .roles([.manager, .admin]),
            "POST /v1/appraisals/{id}/reject": .roles([.manager, .admin]),
            "POST /v1/lots": .roles([.manager, .admin]),
            "GET /v1/lots": .roles(Set(Role.allCases)),
            "GET /v1/lots/{id}": .roles(Set(Role.allCases)),
            "POST /v1/lots/{id}/relist": .roles([.manager, .admin]),
            "POST /v1/lots/{id}/decision": .roles([.manager, .admin]),
            "POST /v1/lots/{id}/deposits": .roles([.finance, .admin]),
            "GET /v1/deposits": .roles([.finance, .admin, .bidder]),
            "POST /v1/lots/{id}/bids": .roles([.bidder]),
            "GET /v1/lots/{id}/bids": .roles(Set(Role.allCases)),
            "GET /v1/lots/{id}/events": .roles(Set(Role.allCases)),
            "GET /v1/lots/{id}/invoice": .roles([.bidder, .finance, .admin]),
            "POST /v1/invoices/{id}/payments": .roles([.finance, .admin]),
            "POST /v1/invoices/{id}/default": .roles([.finance, .admin]),
            "POST /v1/deposits/{id}/refund": .roles([.finance, .admin]),
            "POST /v1/cases/{id}/expenses": .roles([.finance, .manager, .admin]),
            "GET /v1/ledger/trial-balance": .roles([.finance, .admin]),
            "GET /v1/ledger/entries": .roles([.finance, .admin]),
            "POST /v1/reconciliation/bank-lines": .roles([.finance, .admin]),
            "POST /v1/cases/{id}/settlement": .roles([.finance, .admin]),
            "GET /v1/cases/{id}/settlement": .roles([.finance, .manager, .admin]),
            "GET /v1/surplus-refunds": .roles([.finance, .admin]),
            "POST /v1/surplus-refunds/{id}/pay": .roles([.finance, .admin]),
            "GET /v1/deficiency-claims": .roles([.finance, .admin]),
            "POST /v1/deficiency-claims/{id}/recoveries": .roles([.finance, .admin]),
            "POST /v1/deficiency-claims/{id}/write-off": .roles([.finance, .admin]),
            // Added in the second round (domain rules section 10).
            "POST /v1/lots/{id}/cancel": .roles([.manager, .admin]),
            "GET /v1/vehicles": .roles([.admin, .manager, .appraiser, .finance]),
            "POST /v1/vehicles/{id}/return": .roles([.manager, .admin]),
            "POST /v1/cases/{id}/reopen": .roles([.finance, .admin]),
            "GET /v1/cases/{id}/payoff": .roles([.manager, .finance, .admin]),
            "POST /v1/cases/{id}/redemption": .roles([.finance, .admin]),
            "POST /v1/cases/{id}/borrower-payments": .roles([.finance, .admin]),
            "POST /v1/cases/{id}/consignor-payments": .roles([.finance, .admin]),
            "GET /v1/cases/{id}/payments": .roles([.manager, .finance, .admin]),
            "GET /v1/payables": .roles([.finance, .admin]),
            "POST /v1/payouts": .roles([.finance, .admin]),
            "GET /v1/payouts": .roles([.finance, .admin]),
            "GET /v1/me": .roles(Set(Role.allCases)),
            "POST /v1/cases/import": .roles([.manager, .admin]),
            "PATCH /v1/cases/{id}": .roles([.manager, .admin]),
            "POST /v1/bidders/{id}/verification": .roles([.finance, .admin]),
            "GET /v1/lots/{id}/confirmation": .roles(Set(Role.allCases)),
            "GET /v1/consignors/{id}/remittance": .roles([.finance, .admin, .manager]),
            "GET /v1/users": .roles([.admin]),
            "GET /v1/consignors": .roles([.admin]),
            "POST /v1/users/{id}/revoke": .roles([.admin]),
            "GET /v1/invoices": .roles([.finance, .admin, .bidder]),
            "GET /v1/cases/{id}/expenses": .roles([.manager, .finance, .admin]),
            "POST /v1/cases/{id}/notices": .roles([.manager, .admin]),
            "GET /v1/notices/{id}": .roles([.manager, .admin]),
            "GET /v1/reports/pipeline": .roles([.manager, .finance, .admin]),
            "GET /v1/board/events": .roles(Set(Role.allCases)),
            "GET /v1/reports/recovery": .roles([.manager, .finance, .admin]),
        ]
        for (route, expected) in contract { #expect(access[route] == expected, "\(route)") }
        // A route added without a row here is a route nobody decided the roles of.
        #expect(Set(access.keys) == Set(contract.keys))
    }

    @Test("a manager of consignor X sees X, gets 404 for Y, and cannot change policies")
    func managerScope() async throws {
        try await withGavel { gavel in
            let x = try await gavel.createConsignor("X Finance")
            let y = try await gavel.createConsignor("Y Finance")
            let manager = try await gavel.createUser(.manager, consignorId: x)
            let own = try await gavel.request(.get, "/v1/consignors/\(x)", token: manager.token)
            #expect(own.status == .ok)
            #expect(try own.string("name") == "X Finance")
            let other = try await gavel.request(.get, "/v1/consignors/\(y)", token: manager.token)
            #expect(other.status == .notFound)
            #expect(try other.problemCode == "not-found")
            // The same answer as for an ID that exists nowhere: no existence leak.
            let nowhere = try await gavel.request(.get, "/v1/consignors/\(UUID())", token: manager.token)
            #expect(nowhere.status == other.status)
            let patch = try await gavel.request(.patch, "/v1/consignors/\(x)/policy", token: manager.token, json: #"{"fees": {"docFee": 1}}"#)
            #expect(patch.status == .forbidden)
        }
    }
}
