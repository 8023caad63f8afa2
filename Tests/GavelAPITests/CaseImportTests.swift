import Foundation
import GavelCore
import HTTPTypes
import Testing

/// The lender's daily hand-over (`POST /v1/cases/import`, Docs/case-import.md).
@Suite("Bulk intake: cases and vehicles from the lender's CSV file")
struct CaseImportTests {
    static var example: String {
        get throws { try String(contentsOfFile: repositoryRoot + "/Docs/examples/case-import.csv", encoding: .utf8) }
    }

    static func send(_ gavel: Harness, _ csv: String, token: String, query: String = "") async throws -> Harness.Reply {
        try await gavel.request(.post, "/v1/cases/import\(query)", token: token, json: csv, headers: [.contentType: "text/csv"])
    }

    @Test("the example file makes its two cases and three vehicles; sent again it makes nothing and says so")
    func example() async throws {
        try await withGavel { gavel in
            let consignor = try await gavel.createConsignor()
            let manager = try await gavel.createUser(.manager, consignorId: consignor)
            let reply = try await Self.send(gavel, try Self.example, token: manager.token)
            #expect(reply.status == .created, "\(reply.text)")
            let body = try reply.json
            #expect(body["cases"] == .integer(2) && body["vehicles"] == .integer(3) && body["alreadyImported"] == .bool(false))
            #expect(body["imported"]?.array?.map { $0["loanNumber"] } == [.string("LN-2026-1101"), .string("LN-2026-1102")])
            #expect(try await gavel.count("cases") == 2)
            #expect(try await gavel.count("vehicles") == 3)
            guard case .string(let caseId)? = body["imported"]?.array?.first?["id"] else { throw TestSetupError("no case") }
            let made = try await gavel.request(.get, "/v1/cases/\(caseId)", token: manager.token).json
            #expect(made["balances"]?["principal"] == .integer(6_000_000))
            #expect(made["balances"]?["perDiemInterest"] == .integer(1_500))
            #expect(made["guarantors"] == .array([
                .object(["name": .string("Zhang Wei"), "guaranteeType": .string("joint"), "cap": .integer(2_000_000)]),
                .object(["name": .string("Li Na"), "guaranteeType": .string("general"), "cap": .null]),
            ]))
            #expect(made["lienholders"]?.array?.first?["amount"] == .integer(300_000))
            #expect(made["vehicles"]?.array?.map { $0["hasKeys"] } == [.bool(true), .bool(false)])
            let again = try await Self.send(gavel, try Self.example, token: manager.token)
            #expect(again.status == .created)
            #expect(try again.json["alreadyImported"] == .bool(true))
            #expect(try again.json["imported"] == body["imported"])
            #expect(try await gavel.count("cases") == 2)
            #expect(try await gavel.count("audit_log WHERE action = 'case.import'") == 2)
        }
    }

    @Test("every bad line is reported by its number and nothing is stored")
    func badLines() async throws {
        try await withGavel { gavel in
            let consignor = try await gavel.createConsignor()
            let manager = try await gavel.createUser(.manager, consignorId: consignor)
            var lines = try Self.example.split(separator: "\n").map(String.init)
            lines[2] = lines[2].replacingOccurrences(of: "JH4KA7561PC008269", with: "JH4KA7561PC008268")  // check digit
            lines[3] = lines[3].replacingOccurrences(of: "42000.00", with: "4200000")  // minor units, or not?
            lines.append(lines[1].replacingOccurrences(of: "60000.00", with: "60001.00"))  // the same loan, other balances
            lines.append("LN-X,Someone")  // too few fields
            let reply = try await Self.send(gavel, lines.joined(separator: "\n"), token: manager.token)
            #expect(reply.status == .unprocessableContent)
            let errors = try reply.json["errors"]?.array ?? []
            let byLine = Dictionary(grouping: errors) { error -> String in if case .string(let field)? = error["field"] { field } else { "" } }
            #expect(Set(byLine.keys) == ["line 3", "line 4", "line 5", "line 6"], "\(reply.text)")
            #expect(reply.text.contains("vin:"))
            #expect(reply.text.contains("principal: must be a decimal with two places"))
            #expect(reply.text.contains("with other case fields (principal)"))
            #expect(try await gavel.count("cases") == 0)
            #expect(try await gavel.count("vehicles") == 0)
            // A header that does not name the columns.
            let header = try await Self.send(gavel, "loan,borrower\nLN-1,X", token: manager.token)
            #expect(try header.problemCode == "validation-failed")
            #expect(header.text.contains("line 1"))
            let json = try await gavel.request(.post, "/v1/cases/import", token: manager.token, json: "{}")
            #expect(json.status == .unsupportedMediaType)
        }
    }

    @Test("what the file cannot know: a loan handed over before, a car still in stock; roles and consignors")
    func againstTheBooks() async throws {
        try await withGavel { gavel in
            let consignor = try await gavel.createConsignor()
            let manager = try await gavel.createUser(.manager, consignorId: consignor)
            let example = try Self.example
            let first = example.split(separator: "\n").prefix(2).joined(separator: "\n")
            #expect(try await Self.send(gavel, first, token: manager.token).status == .created)
            let rest = try await Self.send(gavel, example, token: manager.token)
            #expect(rest.status == .unprocessableContent)
            #expect(rest.text.contains("already has a case for loan LN-2026-1101"))
            #expect(rest.text.contains("1HGCM82633A004352 belongs to a vehicle not yet disposed of"))
            #expect(try await gavel.count("cases") == 1)
            // An admin names the consignor; a finance user may not import; another consignor's manager cannot aim elsewhere.
            let admin = try await Self.send(gavel, example, token: gavel.adminToken)
            #expect(try admin.problemCode == "validation-failed" && admin.text.contains("consignorId"))
            let other = try await gavel.createConsignor("Other Bank")
            let fresh = example.replacingOccurrences(of: "LN-2026-11", with: "LN-OTHER-")
                .replacingOccurrences(of: "1HGCM82633A004352", with: "1M8GDM9AXKP042788")
            #expect(try await Self.send(gavel, fresh, token: gavel.adminToken, query: "?consignorId=\(other)").status == .created)
            let finance = try await gavel.createUser(.finance)
            #expect(try await Self.send(gavel, example, token: finance.token).status == .forbidden)
            #expect(try await Self.send(gavel, example, token: manager.token, query: "?consignorId=\(other)").status == .notFound)
        }
    }

    @Test("a thousand lines are read and checked in one pass", .timeLimit(.minutes(1)))
    func thousandLines() async throws {
        // Correctness at size; the timing is Benchmarks/import's (Docs/benchmarks.md).
        try await withGavel { gavel in
            let consignor = try await gavel.createConsignor()
            let manager = try await gavel.createUser(.manager, consignorId: consignor)
            let csv = Self.generated(lines: 1_000)
            let reply = try await Self.send(gavel, csv, token: manager.token)
            #expect(reply.status == .created, "\(reply.text.prefix(500))")
            #expect(try reply.json["vehicles"] == .integer(1_000))
            #expect(try reply.json["cases"] == .integer(500))
            #expect(try await gavel.count("vehicles") == 1_000)
        }
    }

    /// `lines` vehicles, two per loan, with VINs whose check digits are computed.
    static func generated(lines: Int) -> String {
        let header = "loan_number,borrower_name,principal,interest,fees,per_diem_interest,balances_as_of,vin,make,model,year,mileage_km,has_keys,title_status,repossessed_on"
        var rows = [header]
        for index in 0..<lines {
            rows.append("LN-BULK-\(index / 2),Borrower \(index / 2),50000.00,1200.00,100.00,10.00,2026-10-01,\(vin(index)),Toyota,Corolla,2018,90000,yes,clean,2026-10-20")
        }
        return rows.joined(separator: "\n")
    }

    static func vin(_ index: Int) -> String {
        var characters = Array("1NXBR32E07Z\(String(format: "%06d", index))")
        // The VIN's own error names the check digit it wants.
        do { _ = try VIN(String(characters)) } catch {
            if case .checkDigit(let expected, _) = error { characters[8] = expected }
        }
        return String(characters)
    }
}
