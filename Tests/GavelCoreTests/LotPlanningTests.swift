import Foundation
import GavelCore
import Testing

/// Planning a vehicle's next lot under each ruleset (domain rules section 4): formats by
/// stage, the fixed-price sale after the last round, and relisting after a default.
@Suite("Lot planning")
struct LotPlanningTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let market: Int64 = 8_416_800
    static let liquidation: Int64 = 6_312_600

    static func schedule(_ format: Lot.Format) -> LotPlanning.Schedule {
        .init(format: format, startsAt: now.addingTimeInterval(86_400), endsAt: now.addingTimeInterval(3 * 86_400),
              extensionWindowSeconds: nil, extensionSeconds: nil)
    }

    static var judicial: Policy {
        var policy = Policy.defaults
        policy.ruleset = .prcJudicial
        return policy
    }

    static func plan(
        _ format: Lot.Format, after previous: Lot? = nil, roundsHeld: Int64? = nil, policy: Policy
    ) throws(LotPlanning.Refusal) -> LotPlanning.Plan {
        try LotPlanning.plan(
            schedule: schedule(format), override: nil, previous: previous, roundsHeld: roundsHeld, marketValue: market,
            liquidationValue: liquidation, policy: policy, now: now)
    }

    /// The vehicle's lot of a plan, ended with `status`.
    static func lot(_ plan: LotPlanning.Plan, _ format: Lot.Format, _ status: Lot.Status) -> Lot {
        Lot(id: UUID(), vehicleId: UUID(), consignorId: UUID(), appraisalId: UUID(), previousLotId: nil, round: plan.round,
            format: format, status: status, currency: "CNY", startsAt: now, endsAt: now, extensionWindowSeconds: 300,
            extensionSeconds: 300, prices: plan.prices, increments: Policy.defaults.bidding.increments, overrideReason: nil)
    }

    static func rules(_ body: () throws(LotPlanning.Refusal) -> LotPlanning.Plan) -> [String?] {
        do {
            _ = try body()
            return []
        } catch {
            guard case .invalid(let failure) = error else { return ["\(error)"] }
            return failure.errors.map(\.rule)
        }
    }

    @Test("prc-judicial: auction rounds are English only (no sealed, no fixed price), a 422 naming the rule")
    func englishOnly() throws {
        #expect(Self.rules { () throws(LotPlanning.Refusal) in try Self.plan(.sealed, policy: Self.judicial) } == ["prc-judicial.english-auction-only"])
        #expect(Self.rules { () throws(LotPlanning.Refusal) in try Self.plan(.fixed, policy: Self.judicial) } == ["prc-judicial.english-auction-only"])
        let first = try Self.plan(.english, policy: Self.judicial)
        let unsold = Self.lot(first, .english, .unsold)
        #expect(Self.rules { () throws(LotPlanning.Refusal) in try Self.plan(.sealed, after: unsold, policy: Self.judicial) } == ["prc-judicial.english-auction-only"])
        // The commercial ruleset takes any format in a round.
        #expect(Self.rules { () throws(LotPlanning.Refusal) in try Self.plan(.sealed, policy: .defaults) } == [])
    }

    @Test("prc-judicial: after two auctions only a fixed-price sale (变卖) at the last round's start")
    func fixedAfterTwo() throws {
        let policy = Self.judicial
        let first = try Self.plan(.english, policy: policy)
        let second = try Self.plan(.english, after: Self.lot(first, .english, .unsold), policy: policy)
        #expect(second.round == 2 && second.prices.start == 4_720_000 && second.prices.reserve == 4_720_000)
        let secondLot = Self.lot(second, .english, .unsold)
        #expect(Self.rules { () throws(LotPlanning.Refusal) in try Self.plan(.english, after: secondLot, policy: policy) }
                == ["prc-judicial.sale-at-fixed-price-after-two-auctions"])
        let sale = try Self.plan(.fixed, after: secondLot, policy: policy)
        #expect(sale.round == 3 && sale.prices.start == 4_720_000 && sale.prices.reserve == 4_720_000)
    }

    @Test("prc-judicial: a relisting after a default is a re-auction at the same prices, not counted as a round")
    func reauctionAfterDefault() throws {
        let policy = Self.judicial
        let first = try Self.plan(.english, policy: policy)
        let defaulted = Self.lot(first, .english, .defaulted)
        let again = try Self.plan(.english, after: defaulted, policy: policy)
        #expect(again.round == 2)
        #expect(again.prices == first.prices, "the defaulted round's prices, not a step down")
        // Held as the defaulted round was.
        #expect(Self.rules { () throws(LotPlanning.Refusal) in try Self.plan(.fixed, after: defaulted, policy: policy) }
                == ["prc-judicial.reauction-after-default"])
        // The re-auction is not counted: after it fails unsold, a second auction (stepped
        // down) still comes before the fixed-price sale.
        let lots = [defaulted, Self.lot(again, .english, .unsold)]
        let held = LotPlanning.roundsHeld(lots, policy: policy)
        #expect(held == 1)
        let second = try Self.plan(.english, after: lots[1], roundsHeld: held, policy: policy)
        #expect(second.round == 3 && second.prices.start == 4_720_000)
    }

    @Test("commercial: relistAfterDefault step-down (the default, vector F) or same")
    func commercialRelistAfterDefault() throws {
        var policy = Policy.defaults
        let first = try Self.plan(.english, policy: policy)
        let defaulted = Self.lot(first, .english, .defaulted)
        let stepped = try Self.plan(.english, after: defaulted, policy: policy)
        #expect(stepped.prices == .init(start: 4_720_000, reserve: 6_320_000, deposit: 480_000))
        #expect(LotPlanning.roundsHeld([defaulted], policy: policy) == 1)
        policy.pricing.relistAfterDefault = .same
        let same = try Self.plan(.sealed, after: defaulted, policy: policy)
        #expect(same.prices == first.prices)
        #expect(LotPlanning.roundsHeld([defaulted, Self.lot(same, .sealed, .unsold)], policy: policy) == 1)
    }

    @Test("the policy's relistAfterDefault and notice period parse and print in the contract's shape")
    func policyShape() throws {
        let policy = try Policy.defaults.applying(.object([
            "pricing": .object(["relistAfterDefault": .string("same")]), "notice": .object(["minDays": .integer(0)]),
        ]))
        #expect(policy.pricing.relistAfterDefault == .same && policy.notice.minDays == 0)
        #expect(policy.json["pricing"]?["relistAfterDefault"] == .string("same"))
        #expect(policy.json["notice"]?["minDays"] == .integer(0))
        #expect(throws: ValidationFailure.self) {
            try Policy.defaults.applying(.object(["pricing": .object(["relistAfterDefault": .string("down")])]))
        }
        #expect(throws: ValidationFailure.self) { try Policy.defaults.applying(.object(["notice": .object(["minDays": .integer(-1)])])) }
    }
}
