import Foundation
import GavelCore
import Testing

@Suite("From a defaulted loan to a priced lot")
struct DisposalTests {
    @Test("test vectors A and B through the API: appraisal, approval, round 1, round 2")
    func vectorsAandB() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel)
            let vehicleId = try await disposal.addVehicle()
            let appraisal = try await gavel.request(
                .post, "/v1/vehicles/\(vehicleId)/appraisals", token: disposal.appraiser.token, json: Disposal.vectorAAppraisal)
            #expect(appraisal.status == .created)
            let body = try appraisal.json
            #expect(body["status"] == .string("draft"))
            #expect(body["baseValue"] == .integer(9_080_000))
            #expect(body["conditionBp"] == .integer(9_600))
            #expect(body["damageTotal"] == .integer(300_000))
            #expect(body["marketValue"] == .integer(8_416_800))
            #expect(body["liquidationValue"] == .integer(6_312_600))
            #expect(body["comparables"]?.array?.map { $0["adjustedPrice"] } == [.integer(9_080_000), .integer(8_720_000), .integer(9_216_000)])
            #expect(body["comparables"]?.array?.map { $0["used"] } == [.bool(true), .bool(true), .bool(true)])

            let appraisalId = try appraisal.string("id")
            let approved = try await gavel.request(.post, "/v1/appraisals/\(appraisalId)/approve", token: disposal.manager.token)
            #expect(approved.status == .ok)
            #expect(try approved.json["status"] == .string("approved"))

            let lot = try await gavel.request(.post, "/v1/lots", token: disposal.manager.token, json: disposal.lotBody(vehicleId: vehicleId))
            #expect(lot.status == .created, "\(lot.text)")
            let round1 = try lot.json
            #expect(round1["round"] == .integer(1))
            #expect(round1["startingPrice"] == .integer(5_900_000))
            #expect(round1["reserve"] == .integer(7_580_000))
            #expect(round1["depositAmount"] == .integer(590_000))
            #expect(round1["status"] == .string("scheduled"))
            #expect(round1["minimumNextBid"] == .integer(5_900_000))
            #expect(round1["increments"]?.array?.count == 5)

            let lotId = try lot.string("id")
            // A live lot cannot be followed by another round.
            let early = try await gavel.request(
                .post, "/v1/lots/\(lotId)/relist", token: disposal.manager.token,
                json: #"{"startsAt": "\#(Disposal.timestamp(3_600))", "endsAt": "\#(Disposal.timestamp(90_000))"}"#)
            #expect(early.status == .conflict)

            try await disposal.markUnsold(lotId)
            let relisted = try await gavel.request(
                .post, "/v1/lots/\(lotId)/relist", token: disposal.manager.token,
                json: #"{"startsAt": "\#(Disposal.timestamp(3_600))", "endsAt": "\#(Disposal.timestamp(90_000))"}"#)
            #expect(relisted.status == .created, "\(relisted.text)")
            let round2 = try relisted.json
            #expect(round2["round"] == .integer(2))
            #expect(round2["startingPrice"] == .integer(4_720_000))
            #expect(round2["reserve"] == .integer(6_320_000))
            #expect(round2["depositAmount"] == .integer(480_000))
            #expect(round2["previousLotId"] == .string(lotId))

            // After maxRounds (2) only a fixed-price sale at the last round's start is possible.
            let round2Id = try relisted.string("id")
            try await disposal.markUnsold(round2Id)
            let english = try await gavel.request(
                .post, "/v1/lots/\(round2Id)/relist", token: disposal.manager.token,
                json: #"{"startsAt": "\#(Disposal.timestamp(3_600))", "endsAt": "\#(Disposal.timestamp(90_000))"}"#)
            #expect(english.status == .unprocessableContent)
            #expect(try english.json["errors"]?.array?.first?["field"] == .string("format"))
            let fixed = try await gavel.request(
                .post, "/v1/lots/\(round2Id)/relist", token: disposal.manager.token,
                json: #"{"format": "fixed", "startsAt": "\#(Disposal.timestamp(3_600))", "endsAt": "\#(Disposal.timestamp(90_000))"}"#)
            #expect(fixed.status == .created, "\(fixed.text)")
            #expect(try fixed.json["round"] == .integer(3))
            #expect(try fixed.json["startingPrice"] == .integer(4_720_000))
            #expect(try fixed.json["reserve"] == .integer(4_720_000))

            // The vehicle shows its appraisal and all three rounds.
            let vehicle = try await gavel.request(.get, "/v1/vehicles/\(vehicleId)", token: disposal.manager.token)
            #expect(try vehicle.json["appraisals"]?.array?.count == 1)
            #expect(try vehicle.json["lots"]?.array?.map { $0["round"] } == [.integer(1), .integer(2), .integer(3)])
        }
    }

    @Test("a lot needs an approved appraisal: 409 appraisal-not-approved")
    func needsApproval() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel)
            let vehicleId = try await disposal.addVehicle()
            let none = try await gavel.request(.post, "/v1/lots", token: disposal.manager.token, json: disposal.lotBody(vehicleId: vehicleId))
            #expect(none.status == .conflict)
            #expect(try none.problemCode == "appraisal-not-approved")
            _ = try await gavel.request(
                .post, "/v1/vehicles/\(vehicleId)/appraisals", token: disposal.appraiser.token, json: Disposal.vectorAAppraisal)
            let draftOnly = try await gavel.request(.post, "/v1/lots", token: disposal.manager.token, json: disposal.lotBody(vehicleId: vehicleId))
            #expect(try draftOnly.problemCode == "appraisal-not-approved")
            #expect(try await gavel.count("lots") == 0)
        }
    }

    @Test("maker-checker: the author cannot approve; a newer approval supersedes the older")
    func makerChecker() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel)
            let (vehicleId, firstId) = try await disposal.appraisedVehicle()
            // A manager's manual valuation, with its reason.
            let manual = try await gavel.request(
                .post, "/v1/vehicles/\(vehicleId)/appraisals", token: disposal.manager.token,
                json: #"{"valuationDate": "2026-11-10", "conditionGrade": 3.0, "marketValue": 8000000, "liquidationValue": 6000000, "reason": "auction house quote"}"#)
            #expect(manual.status == .created, "\(manual.text)")
            #expect(try manual.json["method"] == .string("manual"))
            let manualId = try manual.string("id")
            let byAuthor = try await gavel.request(.post, "/v1/appraisals/\(manualId)/approve", token: disposal.manager.token)
            #expect(byAuthor.status == .forbidden)
            #expect(try byAuthor.problemCode == "forbidden")
            let rejectByAuthor = try await gavel.request(
                .post, "/v1/appraisals/\(manualId)/reject", token: disposal.manager.token, json: #"{"reason": "mine"}"#)
            #expect(rejectByAuthor.status == .forbidden)

            let byAdmin = try await gavel.request(.post, "/v1/appraisals/\(manualId)/approve", token: gavel.adminToken)
            #expect(byAdmin.status == .ok)
            let vehicle = try await gavel.request(.get, "/v1/vehicles/\(vehicleId)", token: gavel.adminToken)
            let statuses = try vehicle.json["appraisals"]?.array?.map { ($0["id"], $0["status"]) } ?? []
            #expect(statuses.first { $0.0 == .string(firstId) }?.1 == .string("superseded"))
            #expect(statuses.first { $0.0 == .string(manualId) }?.1 == .string("approved"))
            // Deciding again is a conflict.
            let twice = try await gavel.request(.post, "/v1/appraisals/\(manualId)/approve", token: gavel.adminToken)
            #expect(twice.status == .conflict)
            // The new lot is priced from the manual value: start ceilTo(5 600 000), reserve 7 200 000.
            let lot = try await gavel.request(.post, "/v1/lots", token: disposal.manager.token, json: disposal.lotBody(vehicleId: vehicleId))
            #expect(try lot.json["startingPrice"] == .integer(5_600_000))
            #expect(try lot.json["reserve"] == .integer(7_200_000))
        }
    }

    @Test("a rejection needs a reason and ends the draft")
    func reject() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel)
            let vehicleId = try await disposal.addVehicle()
            let draft = try await gavel.request(
                .post, "/v1/vehicles/\(vehicleId)/appraisals", token: disposal.appraiser.token, json: Disposal.vectorAAppraisal)
            let id = try draft.string("id")
            let noReason = try await gavel.request(.post, "/v1/appraisals/\(id)/reject", token: disposal.manager.token, json: "{}")
            #expect(noReason.status == .unprocessableContent)
            let rejected = try await gavel.request(
                .post, "/v1/appraisals/\(id)/reject", token: disposal.manager.token, json: #"{"reason": "comparables too old"}"#)
            #expect(rejected.status == .ok)
            #expect(try rejected.json["status"] == .string("rejected"))
            let approveAfter = try await gavel.request(.post, "/v1/appraisals/\(id)/approve", token: disposal.manager.token)
            #expect(approveAfter.status == .conflict)
        }
    }

    @Test("appraisal refusals: insufficient comparables, a refused comparable, manual values by an appraiser")
    func appraisalRefusals() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel)
            let vehicleId = try await disposal.addVehicle()
            let path = "/v1/vehicles/\(vehicleId)/appraisals"
            let old = try await gavel.request(.post, path, token: disposal.appraiser.token, json: """
                {"valuationDate": "2026-11-01", "conditionGrade": 3.5, "comparables": [
                 {"price": 9200000, "year": 2019, "mileageKm": 80000, "soldOn": "2026-01-01"},
                 {"price": 9200000, "year": 2019, "mileageKm": 80000, "soldOn": "2026-10-01"},
                 {"price": 9200000, "year": 2019, "mileageKm": 80000, "soldOn": "2026-12-01"}]}
                """)
            #expect(old.status == .unprocessableContent)
            #expect(try old.problemCode == "insufficient-comparables")
            let newer = try await gavel.request(.post, path, token: disposal.appraiser.token, json: """
                {"valuationDate": "2026-11-01", "conditionGrade": 3.5, "comparables": [
                 {"price": 9200000, "year": 2019, "mileageKm": 80000, "soldOn": "2026-10-01"},
                 {"price": 9200000, "year": 2028, "mileageKm": 80000, "soldOn": "2026-10-01"},
                 {"price": 9200000, "year": 2019, "mileageKm": 80000, "soldOn": "2026-10-01"}]}
                """)
            #expect(newer.status == .unprocessableContent)
            #expect(try newer.json["errors"]?.array?.first?["field"] == .string("comparables[1]"))
            let manual = try await gavel.request(.post, path, token: disposal.appraiser.token,
                json: #"{"valuationDate": "2026-11-01", "conditionGrade": 3.5, "marketValue": 1, "liquidationValue": 1, "reason": "x"}"#)
            #expect(manual.status == .forbidden)
            let noReason = try await gavel.request(.post, path, token: disposal.manager.token,
                json: #"{"valuationDate": "2026-11-01", "conditionGrade": 3.5, "marketValue": 10, "liquidationValue": 20}"#)
            #expect(noReason.status == .unprocessableContent)
            #expect(Set(try noReason.json["errors"]?.array?.compactMap { $0["field"] } ?? []) == [.string("reason"), .string("liquidationValue")])
            let grade = try await gavel.request(.post, path, token: disposal.appraiser.token,
                json: #"{"valuationDate": "2026-11-01", "conditionGrade": 3.55, "comparables": \#(Disposal.vectorAComparables)}"#)
            #expect(try grade.json["errors"]?.array?.first?["field"] == .string("conditionGrade"))
            #expect(try await gavel.count("appraisals") == 0)
        }
    }

    @Test("VIN: each failure is 422 invalid-vin naming its rule; an in-stock VIN is unique")
    func vins() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel)
            let cases: [(String, String)] = [
                ("1HGCM82633A00435", "length"), ("1HGCM82633A0043521", "length"),
                ("1HGCM8263IA004352", "forbidden-letter"), ("QHGCM82633A004352", "forbidden-letter"),
                ("1HGCM82633A00435#", "invalid-character"), ("1HGCM82643A004352", "check-digit"),
            ]
            for (vin, rule) in cases {
                let reply = try await gavel.request(
                    .post, "/v1/cases/\(disposal.caseId)/vehicles", token: disposal.manager.token, json: Disposal.vehicleBody(vin: vin))
                #expect(reply.status == .unprocessableContent, "\(vin)")
                #expect(try reply.problemCode == "invalid-vin", "\(vin)")
                #expect(try reply.json["errors"]?.array?.first?["rule"] == .string(rule), "\(vin)")
            }
            _ = try await disposal.addVehicle(vin: "JH4KA7561PC008269")
            let again = try await gavel.request(
                .post, "/v1/cases/\(disposal.caseId)/vehicles", token: disposal.manager.token,
                json: Disposal.vehicleBody(vin: "jh4ka7561pc008269"))
            #expect(again.status == .conflict)
            #expect(try await gavel.count("vehicles") == 1)
        }
    }

    @Test("vehicle bounds: year 1980 to next year, mileage up to 2 000 000 km, no future repossession")
    func vehicleBounds() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel)
            let nextYear = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: Date()).year! + 1
            let bad = """
                {"vin": "1HGCM82633A004352", "make": "Honda", "model": "Accord", "year": \(nextYear + 1), "mileageKm": 2000001,
                 "hasKeys": "yes", "titleStatus": "clean", "repossessedOn": "2999-01-01"}
                """
            let reply = try await gavel.request(.post, "/v1/cases/\(disposal.caseId)/vehicles", token: disposal.manager.token, json: bad)
            #expect(reply.status == .unprocessableContent)
            let fields = Set(try reply.json["errors"]?.array?.compactMap { $0["field"] } ?? [])
            #expect(fields == [.string("year"), .string("mileageKm"), .string("hasKeys"), .string("repossessedOn")])
            let oldest = Disposal.vehicleBody().replacingOccurrences(of: "\"year\": 2019", with: "\"year\": 1980")
            #expect(try await gavel.request(.post, "/v1/cases/\(disposal.caseId)/vehicles", token: disposal.manager.token, json: oldest).status == .created)
        }
    }

    @Test("cases: every bad field listed, loan numbers unique per consignor, amounts bounded")
    func caseValidation() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel)
            let empty = try await gavel.request(.post, "/v1/cases", token: disposal.manager.token, json: "{}")
            #expect(empty.status == .unprocessableContent)
            #expect(Set(try empty.json["errors"]?.array?.compactMap { $0["field"] } ?? [])
                    == [.string("consignorId"), .string("loanNumber"), .string("borrower"), .string("balances")])
            let duplicate = try await gavel.request(
                .post, "/v1/cases", token: disposal.manager.token, json: Disposal.caseBody(consignorId: disposal.consignorId))
            #expect(duplicate.status == .conflict)
            let huge = Disposal.caseBody(consignorId: disposal.consignorId, loanNumber: "LN-2")
                .replacingOccurrences(of: "\"principal\": 6000000", with: "\"principal\": 10000000000001")
            let outOfRange = try await gavel.request(.post, "/v1/cases", token: disposal.manager.token, json: huge)
            #expect(try outOfRange.problemCode == "amount-out-of-range")
            let samePriority = Disposal.caseBody(consignorId: disposal.consignorId, loanNumber: "LN-3")
                .replacingOccurrences(of: #""lienholders": [{"name": "Second Bank", "amount": 300000, "priority": 2, "eligible": true}]"#,
                                      with: #""lienholders": [{"name": "A", "amount": 1, "priority": 2, "eligible": true}, {"name": "B", "amount": 1, "priority": 2, "eligible": false}]"#)
            #expect(try await gavel.request(.post, "/v1/cases", token: disposal.manager.token, json: samePriority).status == .unprocessableContent)
            #expect(try await gavel.count("cases") == 1)

            let fetched = try await gavel.request(.get, "/v1/cases/\(disposal.caseId)", token: disposal.manager.token)
            let body = try fetched.json
            #expect(body["loanNumber"] == .string("LN-2026-0001"))
            #expect(body["currency"] == .string("CNY"))
            #expect(body["balances"]?["perDiemInterest"] == .integer(1_500))
            #expect(body["guarantors"] == .array([.object(["name": .string("Zhang Wei"), "guaranteeType": .string("general"), "cap": .null])]))
            #expect(body["vehicles"] == .array([]))
        }
    }

    @Test("managers see only their consignor's cases, vehicles and lots")
    func isolation() async throws {
        try await withGavel { gavel in
            let x = try await Disposal.start(gavel)
            let (vehicleId, appraisalId) = try await x.appraisedVehicle()
            let lot = try await gavel.request(.post, "/v1/lots", token: x.manager.token, json: x.lotBody(vehicleId: vehicleId))
            let lotId = try lot.string("id")
            let y = try await gavel.request(.post, "/v1/consignors", token: gavel.adminToken, json: #"{"name": "Y"}"#)
            let other = try await gavel.createUser(.manager, consignorId: try y.string("id"))
            for path in ["/v1/cases/\(x.caseId)", "/v1/vehicles/\(vehicleId)", "/v1/lots/\(lotId)"] {
                #expect(try await gavel.request(.get, path, token: other.token).status == .notFound, "\(path)")
            }
            #expect(try await gavel.request(.post, "/v1/appraisals/\(appraisalId)/reject", token: other.token, json: #"{"reason": "x"}"#).status == .notFound)
            #expect(try await gavel.request(.post, "/v1/cases/\(x.caseId)/vehicles", token: other.token, json: Disposal.vehicleBody(vin: "2T1BURHE0JC014702")).status == .notFound)
            #expect(try await gavel.request(.post, "/v1/lots", token: other.token, json: x.lotBody(vehicleId: vehicleId)).status == .notFound)
            let foreignCase = try await gavel.request(.post, "/v1/cases", token: other.token, json: Disposal.caseBody(consignorId: x.consignorId, loanNumber: "Z"))
            #expect(foreignCase.status == .forbidden)
            #expect(try await gavel.request(.get, "/v1/cases", token: other.token).json["items"] == .array([]))
            #expect(try await gavel.request(.get, "/v1/lots", token: other.token).json["items"] == .array([]))
            #expect(try await gavel.request(.get, "/v1/cases", token: x.manager.token).json["items"]?.array?.count == 1)
        }
    }

    @Test("bidders never see the reserve, and see lots only from seven days before they open")
    func bidderView() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel)
            let (soon, _) = try await disposal.appraisedVehicle()
            let (later, _) = try await disposal.appraisedVehicle(vin: "JH4KA7561PC008269")
            let soonLot = try await gavel.request(.post, "/v1/lots", token: disposal.manager.token, json: disposal.lotBody(vehicleId: soon))
            let laterLot = try await gavel.request(
                .post, "/v1/lots", token: disposal.manager.token, json: disposal.lotBody(vehicleId: later, startsIn: 10 * 86_400))
            #expect(laterLot.status == .created)
            let bidder = try await gavel.createUser(.bidder, name: "Dealer 7")
            let seen = try await gavel.request(.get, "/v1/lots/\(try soonLot.string("id"))", token: bidder.token)
            #expect(seen.status == .ok)
            #expect(try seen.json["reserve"] == nil)
            #expect(try seen.json["startingPrice"] == .integer(5_900_000))
            #expect(try seen.json["leading"] == .bool(false))
            #expect(try seen.json["myMaxAmount"] == .null)
            #expect(try seen.json["vehicle"]?["vin"] == .string("1HGCM82633A004352"))
            #expect(!seen.text.contains("7580000"))
            let hidden = try await gavel.request(.get, "/v1/lots/\(try laterLot.string("id"))", token: bidder.token)
            #expect(hidden.status == .notFound)
            let list = try await gavel.request(.get, "/v1/lots", token: bidder.token)
            #expect(try list.json["items"]?.array?.map { $0["id"] } == [.string(try soonLot.string("id"))])
            #expect(!list.text.contains(#""reserve":"#))
            #expect(!list.text.contains("7580000"))
            // Staff see both, with the reserve.
            let staff = try await gavel.request(.get, "/v1/lots", token: gavel.adminToken)
            #expect(try staff.json["items"]?.array?.count == 2)
            #expect(try staff.json["items"]?.array?.first?["reserve"] == .integer(7_580_000))
        }
    }

    @Test("a scheduled lot is open from startsAt by the database clock; status filters")
    func openByClock() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel)
            let (vehicleId, _) = try await disposal.appraisedVehicle()
            let lot = try await gavel.request(
                .post, "/v1/lots", token: disposal.manager.token, json: disposal.lotBody(vehicleId: vehicleId, startsIn: -60))
            #expect(try lot.json["status"] == .string("open"))
            let open = try await gavel.request(.get, "/v1/lots?status=open", token: gavel.adminToken)
            #expect(try open.json["items"]?.array?.count == 1)
            let scheduled = try await gavel.request(.get, "/v1/lots?status=scheduled", token: gavel.adminToken)
            #expect(try scheduled.json["items"]?.array?.count == 0)
            #expect(try await gavel.request(.get, "/v1/lots?status=bogus", token: gavel.adminToken).status == .unprocessableContent)
            // A second live lot for the same vehicle is refused.
            let second = try await gavel.request(.post, "/v1/lots", token: disposal.manager.token, json: disposal.lotBody(vehicleId: vehicleId))
            #expect(second.status == .conflict)
        }
    }

    @Test("lot timing and overrides are checked; prc-judicial rules are named")
    func lotRules() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel, policy: #"{"ruleset": "prc-judicial"}"#)
            let (vehicleId, _) = try await disposal.appraisedVehicle()
            let short = try await gavel.request(
                .post, "/v1/lots", token: disposal.manager.token, json: disposal.lotBody(vehicleId: vehicleId, lasting: 3_600))
            #expect(short.status == .unprocessableContent)
            #expect(try short.json["errors"]?.array?.first?["rule"] == .string("prc-judicial.bidding-window-24-hours"))
            let fastClose = try await gavel.request(
                .post, "/v1/lots", token: disposal.manager.token,
                json: disposal.lotBody(vehicleId: vehicleId, extra: #", "extensionSeconds": 5"#))
            #expect(try fastClose.json["errors"]?.array?.first?["rule"] == .string("prc-judicial.soft-close-300-seconds"))
            let lowStart = try await gavel.request(
                .post, "/v1/lots", token: disposal.manager.token,
                json: disposal.lotBody(vehicleId: vehicleId, extra: #", "override": {"startingPrice": 5000000, "reserve": 6000000, "reason": "quick sale"}"#))
            #expect(try lowStart.json["errors"]?.array?.first?["rule"] == .string("prc-judicial.start-at-least-70-percent"))
            let backwards = try await gavel.request(
                .post, "/v1/lots", token: disposal.manager.token, json: disposal.lotBody(vehicleId: vehicleId, lasting: -60))
            #expect(try backwards.json["errors"]?.array?.first?["field"] == .string("endsAt"))
            // Ascending bids only in an auction round (art. 20).
            let sealed = try await gavel.request(
                .post, "/v1/lots", token: disposal.manager.token, json: disposal.lotBody(vehicleId: vehicleId, format: "sealed"))
            #expect(try sealed.json["errors"]?.array?.first?["rule"] == .string("prc-judicial.english-auction-only"))
            // No announcement yet: 15 days from now at the earliest, once the parties are told.
            let unannounced = try await gavel.request(.post, "/v1/lots", token: disposal.manager.token, json: disposal.lotBody(vehicleId: vehicleId))
            #expect(unannounced.status == .unprocessableContent)
            #expect(try unannounced.problemCode == "notice-period")
            #expect(try await gavel.count("lots") == 0)
            // Judicial lots have no hidden reserve.
            let judicial = try await disposal.openLot(vehicleId: vehicleId)
            #expect(try judicial.json["reserve"] == .integer(5_900_000))
            #expect(try judicial.json["startingPrice"] == .integer(5_900_000))
        }
    }

    @Test("a commercial override with a reason sets the prices; start above reserve is refused")
    func override() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel)
            let (vehicleId, _) = try await disposal.appraisedVehicle()
            let inverted = try await gavel.request(
                .post, "/v1/lots", token: disposal.manager.token,
                json: disposal.lotBody(vehicleId: vehicleId, extra: #", "override": {"startingPrice": 7000000, "reserve": 6000000, "reason": "x"}"#))
            #expect(try inverted.json["errors"]?.array?.first?["field"] == .string("override.startingPrice"))
            let fine = try await gavel.request(
                .post, "/v1/lots", token: disposal.manager.token,
                json: disposal.lotBody(vehicleId: vehicleId, extra: #", "override": {"startingPrice": 5000000, "reserve": 6000000, "reason": "dealer interest"}"#))
            #expect(fine.status == .created)
            #expect(try fine.json["startingPrice"] == .integer(5_000_000))
            #expect(try fine.json["depositAmount"] == .integer(500_000))
            #expect(try fine.json["overrideReason"] == .string("dealer interest"))
        }
    }
}
