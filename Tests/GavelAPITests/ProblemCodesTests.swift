import Foundation
import GavelCore
@testable import GavelAPI
import HTTPTypes
import Testing

/// Every problem code the contract, the domain rules and D2 name is answered by exactly
/// one mapping, at the status they give it; and Gavel answers with no code they do not name.
@Suite("Problem codes")
struct ProblemCodesTests {
    /// One of every refusal.
    static let refusals: [Refusal] = [
        .notFound("no lot"), .forbidden("not yours"), .conflict("taken"),
        .lotNotOpen, .bidderBarred("defaulted before"), .depositRequired(amount: 590_000),
        .bidTooLow(minimumNextBid: 6_000_000), .bidNotHigher(myMaxAmount: 7_000_000), .notTheFixedPrice(price: 5_000_000),
        .rateLimited("too many", retryAfterSeconds: 1),
        .appraisalNotApproved("none approved"), .caseSettled("settled"),
        .caseNotReady("not disposed of yet", undisposedVehicles: ["1HGCM82633A004352"], openInvoices: 1),
        .settlementLocked("paid out"), .invoiceNotOpen("paid"), .invoiceNotDue("not yet"),
        .depositNotRefundable("held"), .refundNotPending("paid"), .claimNotOpen("settled"),
        .overpayment("more than owed", outstanding: 1), .currencyMismatch(expected: "CNY", sent: "USD"),
        .idempotencyKeyReused, .collateralDisposed("every vehicle sold"), .bidderNotVerified("no identity"),
        .bidderRelatedParty("the lender's own"),
        .noticePeriod("too soon", earliestStartsAt: Date(timeIntervalSince1970: 1_800_000_000), latestStartsAt: nil),
    ]

    /// No default: a new refusal does not compile until it has a place here, and then
    /// `everyRefusal` wants an example of it above.
    static func position(_ refusal: Refusal) -> Int {
        switch refusal {
        case .notFound: 0
        case .forbidden: 1
        case .conflict: 2
        case .lotNotOpen: 3
        case .bidderBarred: 4
        case .depositRequired: 5
        case .bidTooLow: 6
        case .bidNotHigher: 7
        case .notTheFixedPrice: 8
        case .rateLimited: 9
        case .appraisalNotApproved: 10
        case .caseSettled: 11
        case .caseNotReady: 12
        case .settlementLocked: 13
        case .invoiceNotOpen: 14
        case .invoiceNotDue: 15
        case .depositNotRefundable: 16
        case .refundNotPending: 17
        case .claimNotOpen: 18
        case .overpayment: 19
        case .currencyMismatch: 20
        case .idempotencyKeyReused: 21
        case .collateralDisposed: 22
        case .bidderNotVerified: 23
        case .bidderRelatedParty: 24
        case .noticePeriod: 25
        }
    }

    /// Every problem Gavel can answer with: each refusal, each kind of field error, and
    /// the problems of HTTP itself.
    static var answers: [Problem] {
        refusals.map(Problem.refusal)
            + FieldError.Code.allCases.map { Problem.validation([FieldError(field: "x", message: "wrong", code: $0)]) }
            + [
                .validation([FieldError(field: "x", message: "wrong")]),
                .unauthorized("no token"), .forbidden("role"), .notFound("no route"),
                .methodNotAllowed(.put, allowed: [.get]), .malformedJSON("not JSON"), .unsupportedMediaType("CSV"),
                .payloadTooLarge(), .requestTimeout("slow"), .clientDisconnected(),
                .clientError(.badRequest, detail: "bad"), .clientError(.uriTooLong, detail: "long"),
                .serviceUnavailable("away"), .internalError(),
            ]
    }

    /// Codes the documents name that later issues bring (no route answers them yet).
    static let owedByLaterIssues: [String: String] = [:]

    /// Code -> status as the documents give them ("409 `case-settled`", D2's table; the
    /// contract's list of general codes has no statuses, so nil).
    static func documented() throws -> [String: String?] {
        let contract = try bindingDocument("api-contract.md")
        let rules = try bindingDocument("domain-rules.md")
        let decisions = try String(contentsOfFile: repositoryRoot + "/Docs/decisions.md", encoding: .utf8)
        var codes: [String: String?] = [:]
        func add(_ code: String, _ status: String?) {
            if codes[code] == nil || status != nil { codes[code] = status }
        }
        // "409 `case-settled`", also across a line break.
        let pair = /([0-9]{3})\s+`([a-z][a-z0-9-]+)`/
        for text in [contract, rules] {
            for match in text.matches(of: pair) { add(String(match.output.2), String(match.output.1)) }
        }
        // The contract's general codes: "(the codes named in domain-rules.md plus `validation-failed`, ...)".
        let general = try #require(contract.firstRange(of: "the codes named in"))
        let listEnd = try #require(contract[general.upperBound...].firstIndex(of: ")"))
        for match in contract[general.upperBound..<listEnd].matches(of: /`([a-z][a-z0-9-]+)`/) {
            add(String(match.output.1), nil)
        }
        // "New codes: `case-settled`, ..." and the bidding order of domain-rules section 5.
        for line in contract.split(separator: "\n") where line.hasPrefix("New codes:") {
            for match in line.matches(of: /`([a-z][a-z0-9-]+)`/) { add(String(match.output.1), nil) }
        }
        // D2's table: "| `code` | status | when |".
        let d2 = try #require(decisions.firstRange(of: "## D2."))
        let d2End = try #require(decisions[d2.upperBound...].firstRange(of: "\n## "))
        for match in decisions[d2.upperBound..<d2End.lowerBound].matches(of: /\| `([a-z][a-z0-9-]+)` \| ([0-9x]{3}) \|/) {
            add(String(match.output.1), String(match.output.2))
        }
        return codes
    }

    @Test("the copies in Docs/contract are the shared documents", arguments: ["api-contract.md", "domain-rules.md"])
    func copiesAreCurrent(name: String) throws {
        let shared = repositoryRoot + "/../shared/" + name
        // A clone on its own has only the copies; the check is made where both are.
        guard FileManager.default.fileExists(atPath: shared) else { return }
        let copy = try String(contentsOfFile: repositoryRoot + "/Docs/contract/" + name, encoding: .utf8)
        #expect(try String(contentsOfFile: shared, encoding: .utf8) == copy, "Docs/contract/\(name) differs from ../shared/\(name)")
    }

    @Test("every refusal has an example here")
    func everyRefusal() {
        #expect(Self.refusals.map(Self.position) == Array(0..<Self.refusals.count))
    }

    @Test("each code Gavel answers with is documented, at the documented status; each documented code is answered")
    func documentedAndAnswered() throws {
        let documented = try Self.documented()
        #expect(documented.count >= 30, "read \(documented.count) codes: the documents' shape changed")
        let answers = Self.answers
        for problem in answers {
            let status = try #require(documented[problem.code], "\(problem.code) is not in the contract, the rules or D2")
            if let status {
                let expected = status.hasSuffix("xx") ? String(problem.status.code / 100) + "xx" : String(problem.status.code)
                #expect(status == expected, "\(problem.code): documented \(status), answered \(problem.status.code)")
            }
        }
        let answered = Set(answers.map(\.code))
        for code in documented.keys.sorted() where !answered.contains(code) {
            #expect(Self.owedByLaterIssues[code] != nil, "\(code) is documented and nothing answers it")
        }
        for code in Self.owedByLaterIssues.keys {
            #expect(!answered.contains(code), "\(code) is answered now: take it off the list of codes owed")
        }
    }

    /// The modules that decide what a caller is told. Not counted: `gavel demo`, a client
    /// that checks the codes it is answered with, and the store's reading of `place_bid`'s
    /// outcome, whose words PL/pgSQL writes (Docs/architecture.md, rules in two languages).
    @Test("each code is written once in GavelCore and GavelAPI, in the mapping (or the field errors' codes)")
    func namedOnce() throws {
        let documented = try Self.documented()
        let sources = try Self.swiftFiles(under: repositoryRoot + "/Sources/GavelCore")
            + Self.swiftFiles(under: repositoryRoot + "/Sources/GavelAPI")
        let homes = ["Sources/GavelAPI/ErrorMapping.swift", "Sources/GavelCore/FieldError.swift"]
        for code in documented.keys.sorted() where Self.owedByLaterIssues[code] == nil {
            let places = sources.flatMap { file in
                Array(repeating: file.path, count: file.text.components(separatedBy: "\"\(code)\"").count - 1)
            }
            #expect(places.count == 1, "\"\(code)\" is written \(places.count) times: \(places)")
            #expect(places.allSatisfy(homes.contains), "\"\(code)\" is written outside the mapping: \(places)")
        }
    }

    static func swiftFiles(under directory: String) throws -> [(path: String, text: String)] {
        let root = URL(fileURLWithPath: repositoryRoot).standardizedFileURL.path + "/"
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return [] }
        return try walker.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }.map { relative in
            let path = directory + "/" + relative
            let full = URL(fileURLWithPath: path).standardizedFileURL.path
            return (String(full.dropFirst(root.count)), try String(contentsOfFile: path, encoding: .utf8))
        }
    }
}

/// A binding document: the shared one beside the repository where it exists, else the
/// copy in Docs/contract (Docs/contract/README.md).
func bindingDocument(_ name: String) throws -> String {
    let shared = repositoryRoot + "/../shared/" + name
    let path = FileManager.default.fileExists(atPath: shared) ? shared : repositoryRoot + "/Docs/contract/" + name
    return try String(contentsOfFile: path, encoding: .utf8)
}
