import Foundation
import GavelCore
@testable import GavelStore
import Testing

/// The jsonb columns' formats belong to the store (`StoredDocuments.swift`), not to the
/// API's shapes: these pin each format as rows hold it, so that a change to an answer
/// cannot make a stored row unreadable, and a change to a format shows up here (it
/// needs a migration).
@Suite("Stored documents")
struct StoredDocumentsTests {
    @Test("each format is pinned: the text written today is the text rows already hold")
    func pinnedFormats() throws {
        #expect(FeesDocument.text(Policy.defaults.fees) == #"{"buyerPremiumBp":500,"buyerPremiumMax":500000,"buyerPremiumMin":50000,"docFee":30000,"paymentDueDays":3,"sellerFeeBp":200}"#)
        #expect(IncrementsDocument.text([.init(below: 1_000_000, step: 20_000), .init(below: nil, step: 500_000)])
            == #"[{"below":1000000,"step":20000},{"below":null,"step":500000}]"#)
        #expect(BorrowerDocument.text(.init(name: "Li Wei", idNumber: nil, address: "1 Road"))
            == #"{"address":"1 Road","idNumber":null,"name":"Li Wei"}"#)
        #expect(GuarantorsDocument.text([.init(name: "Zhang San", guaranteeType: .joint, cap: 1_000_000)])
            == #"[{"cap":1000000,"guaranteeType":"joint","name":"Zhang San"}]"#)
        #expect(GuarantorsDocument.text([.init(name: "Li Si")]) == #"[{"guaranteeType":"general","name":"Li Si"}]"#)
        // Cases stored before the second round hold names only: general guarantees (art. 686).
        #expect(try GuarantorsDocument.read(#"[{"name":"Zhang San"}]"#, "guarantors") == [.init(name: "Zhang San", guaranteeType: .general)])
        #expect(LienholdersDocument.text([.init(name: "Bank B", amount: 5, priority: 2, eligible: true)])
            == #"[{"amount":5,"eligible":true,"name":"Bank B","priority":2}]"#)
        #expect(CreditsDocument.text([.init(label: "insurance rebate", amount: 7)]) == #"[{"amount":7,"label":"insurance rebate"}]"#)
        #expect(DamagesDocument.text([.init(item: "bumper", repairCost: 120_000)]) == #"[{"item":"bumper","repairCost":120000}]"#)
        let soldOn = try #require(CalendarDate(iso: "2026-10-01"))
        let comparable = Valuation.Comparable(price: 9_000_000, year: 2021, mileageKm: 40_000, soldOn: soldOn)
        #expect(ComparablesDocument.text([
            .init(comparable: comparable, adjustedPrice: nil, used: false, reason: "older than 180 days"),
            .init(comparable: comparable, adjustedPrice: 8_800_000, used: true, reason: nil),
        ]) == #"[{"adjustedPrice":null,"mileageKm":40000,"price":9000000,"reason":"older than 180 days","soldOn":"2026-10-01","used":false,"year":2021},{"adjustedPrice":8800000,"mileageKm":40000,"price":9000000,"soldOn":"2026-10-01","used":true,"year":2021}]"#)
        // The policy's document as the default consignor's row holds it (grades as decimals).
        #expect(PolicyDocument.text(Policy.defaults) == #"{"bidding":{"approvalHours":48,"extensionSeconds":300,"extensionWindowSeconds":300,"increments":[{"below":1000000,"step":20000},{"below":5000000,"step":50000},{"below":10000000,"step":100000},{"below":50000000,"step":200000},{"below":null,"step":500000}],"requireVerifiedBidder":false},"fees":{"buyerPremiumBp":500,"buyerPremiumMax":500000,"buyerPremiumMin":50000,"docFee":30000,"paymentDueDays":3,"sellerFeeBp":200},"notice":{"minDays":10},"pricing":{"depositBp":1000,"maxRounds":2,"relistAfterDefault":"step-down","reserveBp":9000,"roundingUnit":10000,"startBp":7000,"stepDownBp":2000},"ruleset":"commercial","settlement":{"allocationOrder":["fees","interest","principal"],"contact":"the disposal department of the lender named on this statement"},"valuation":{"conditionCurve":[{"bp":4500,"grade":0},{"bp":6500,"grade":1},{"bp":8000,"grade":2},{"bp":9200,"grade":3},{"bp":10000,"grade":4},{"bp":10500,"grade":5}],"depreciationBpPerYear":1200,"liquidationBp":7500,"maxComparableAgeDays":180,"mileageRatePerKm":20,"minComparables":3}}"#)
        // A policy stored before notices and relisting rules reads their defaults.
        let verifiedRound = #"{"bidding":{"approvalHours":48,"extensionSeconds":300,"extensionWindowSeconds":300,"increments":[{"below":1000000,"step":20000},{"below":5000000,"step":50000},{"below":10000000,"step":100000},{"below":50000000,"step":200000},{"below":null,"step":500000}],"requireVerifiedBidder":false},"fees":{"buyerPremiumBp":500,"buyerPremiumMax":500000,"buyerPremiumMin":50000,"docFee":30000,"paymentDueDays":3,"sellerFeeBp":200},"pricing":{"depositBp":1000,"maxRounds":2,"reserveBp":9000,"roundingUnit":10000,"startBp":7000,"stepDownBp":2000},"ruleset":"commercial","settlement":{"allocationOrder":["fees","interest","principal"],"contact":"the disposal department of the lender named on this statement"},"valuation":{"conditionCurve":[{"bp":4500,"grade":0},{"bp":6500,"grade":1},{"bp":8000,"grade":2},{"bp":9200,"grade":3},{"bp":10000,"grade":4},{"bp":10500,"grade":5}],"depreciationBpPerYear":1200,"liquidationBp":7500,"maxComparableAgeDays":180,"mileageRatePerKm":20,"minComparables":3}}"#
        #expect(try PolicyDocument.read(verifiedRound, "policy") == Policy.defaults)
        #expect(throws: (any Error).self) {
            try PolicyDocument.read(verifiedRound.replacingOccurrences(of: #""maxRounds":2,"#, with: #""maxRounds":2,"relistAfterDefault":"down","#), "policy")
        }
        // A policy stored before the second round has no contact: it reads the default.
        let firstRound = #"{"bidding":{"approvalHours":48,"extensionSeconds":300,"extensionWindowSeconds":300,"increments":[{"below":1000000,"step":20000},{"below":5000000,"step":50000},{"below":10000000,"step":100000},{"below":50000000,"step":200000},{"below":null,"step":500000}]},"fees":{"buyerPremiumBp":500,"buyerPremiumMax":500000,"buyerPremiumMin":50000,"docFee":30000,"paymentDueDays":3,"sellerFeeBp":200},"pricing":{"depositBp":1000,"maxRounds":2,"reserveBp":9000,"roundingUnit":10000,"startBp":7000,"stepDownBp":2000},"ruleset":"commercial","settlement":{"allocationOrder":["fees","interest","principal"]},"valuation":{"conditionCurve":[{"bp":4500,"grade":0},{"bp":6500,"grade":1},{"bp":8000,"grade":2},{"bp":9200,"grade":3},{"bp":10000,"grade":4},{"bp":10500,"grade":5}],"depreciationBpPerYear":1200,"liquidationBp":7500,"maxComparableAgeDays":180,"mileageRatePerKm":20,"minComparables":3}}"#
        #expect(try PolicyDocument.read(firstRound, "policy") == Policy.defaults)
        var curve = Policy.defaults
        curve.valuation.conditionCurve = [.init(gradeTenths: 0, bp: 4_000), .init(gradeTenths: 35, bp: 9_000), .init(gradeTenths: 50, bp: 10_000)]
        #expect(PolicyDocument.text(curve).contains(#""conditionCurve":[{"bp":4000,"grade":0},{"bp":9000,"grade":3.5},{"bp":10000,"grade":5}]"#))
    }

    @Test("every document reads back the value it was written from")
    func roundTrips() throws {
        var policy = Policy.defaults
        policy.valuation.conditionCurve = [.init(gradeTenths: 0, bp: 5_000), .init(gradeTenths: 35, bp: 9_000), .init(gradeTenths: 50, bp: 10_000)]
        policy.pricing.maxRounds = 3
        policy.pricing.relistAfterDefault = .same
        policy.notice.minDays = 21
        policy.fees.docFee = 12_345
        policy.settlement.allocationOrder = [.principal, .interest, .fees]
        policy.bidding.increments = [.init(below: 500_000, step: 10_000), .init(below: nil, step: 100_000)]
        #expect(try PolicyDocument.read(PolicyDocument.text(policy), "policy") == policy)
        #expect(try FeesDocument.read(FeesDocument.text(policy.fees), "fees") == policy.fees)
        let borrower = LoanCase.Borrower(name: "王伟", idNumber: "110101199003070000", address: nil)
        #expect(try BorrowerDocument.read(BorrowerDocument.text(borrower), "borrower") == borrower)
        let lienholders = [LoanCase.Lienholder(name: "Bank B", amount: 100, priority: 1, eligible: false)]
        #expect(try LienholdersDocument.read(LienholdersDocument.text(lienholders), "lienholders") == lienholders)
        let soldOn = try #require(CalendarDate(iso: "2026-09-30"))
        let comparables = [Valuation.AdjustedComparable(
            comparable: .init(price: 1, year: 2020, mileageKm: 2, soldOn: soldOn), adjustedPrice: 3, used: true, reason: nil)]
        #expect(try ComparablesDocument.read(ComparablesDocument.text(comparables), "comparables") == comparables)
    }

    @Test("a document altered outside Gavel is refused as corrupt, not read as something else")
    func alteredDocuments() {
        for (text, read) in [
            (#"{"buyerPremiumBp":500}"#, { try _ = FeesDocument.read($0, "fees") }),
            (#"{"buyerPremiumBp":500,"buyerPremiumMax":500000,"buyerPremiumMin":50000,"docFee":30000,"paymentDueDays":0,"sellerFeeBp":200}"#,
             { try _ = FeesDocument.read($0, "fees") }),
            (#"[]"#, { try _ = IncrementsDocument.read($0, "increments") }),
            (#"[{"below":null,"step":0}]"#, { try _ = IncrementsDocument.read($0, "increments") }),
            (#"[{"price":1,"year":2020,"mileageKm":2,"soldOn":"2026-02-30","adjustedPrice":null,"used":true}]"#,
             { try _ = ComparablesDocument.read($0, "comparables") }),
            (PolicyDocument.text(Policy.defaults).replacingOccurrences(of: #""liquidationBp":7500"#, with: #""liquidationBp":-1"#),
             { try _ = PolicyDocument.read($0, "policy") }),
        ] as [(String, (String) throws -> Void)] {
            #expect(throws: StoredDataCorrupt.self, "\(text)") { try read(text) }
        }
    }

    @Test("repeated documents are read through a cache of their text: same values, refusals every time, bounded")
    func repeatedDocumentsCached() throws {
        var fees = Policy.defaults.fees
        fees.docFee = 4_321
        let text = FeesDocument.text(fees)
        let key = DocumentCache.Key(document: ObjectIdentifier(FeesDocument.self), text: text)
        #expect(try FeesDocument.read(text, "fees") == fees)
        #expect(DocumentCache.shared.value(for: key) as? Policy.Fees == fees)
        #expect(try FeesDocument.read(text, "fees") == fees)
        // The same text as another document is another entry: increments are not fees.
        let bands = [Policy.Increment(below: nil, step: 4_321)]
        let bandsText = IncrementsDocument.text(bands)
        #expect(try IncrementsDocument.read(bandsText, "increments") == bands)
        #expect(DocumentCache.shared.value(for: .init(document: ObjectIdentifier(FeesDocument.self), text: bandsText)) == nil)
        // A text that does not read is refused each time and never kept.
        let corrupt = text.replacingOccurrences(of: #""paymentDueDays":3"#, with: #""paymentDueDays":0"#)
        for _ in 0..<2 {
            #expect(throws: StoredDataCorrupt.self) { try FeesDocument.read(corrupt, "fees") }
        }
        #expect(DocumentCache.shared.value(for: .init(document: ObjectIdentifier(FeesDocument.self), text: corrupt)) == nil)

        let small = DocumentCache(capacity: 2)
        let keys = (0..<3).map { DocumentCache.Key(document: ObjectIdentifier(FeesDocument.self), text: "\($0)") }
        for (index, key) in keys.enumerated() { small.store(index, for: key) }
        #expect(small.value(for: keys[0]) == nil)
        #expect(small.value(for: keys[2]) as? Int == 2)
    }
}
