import Foundation
import GavelCore
import GavelStore
import PostgresNIO
import Testing

/// `place_bid` (SQL/0005) decides bids on the hot path; `GavelCore.Auction` is the
/// reference. These tests give both the same bids at the same instants, edges
/// included, and require the same answer every time.
@Suite("The SQL bid decision agrees with the engine")
struct BidDecisionTests {
    /// A lot of its own (and a vehicle for it), copied from the fixture lot with the
    /// given rules; it starts a day from now so the closer leaves it alone.
    static func makeLot(
        _ connection: PostgresConnection, from template: UUID, format: Lot.Format, startsAt: Date, endsAt: Date,
        start: Int64, reserve: Int64, increments: [Policy.Increment], window: Int, extension: Int, deposit: Int64 = 0,
        priorityHolders: [UUID] = []
    ) async throws -> UUID {
        let lotId = UUID()
        let incrementsJSON = JSONText.encode(Policy.incrementsJSON(increments))
        try await connection.query(
            """
            WITH source AS (SELECT l.*, v.case_id FROM lots l JOIN vehicles v ON v.id = l.vehicle_id WHERE l.id = \(template)),
            made AS (
                INSERT INTO vehicles (id, case_id, vin, make, model, year, mileage_km, has_keys, title_status, repossessed_on)
                SELECT gen_random_uuid(), s.case_id, lpad((floor(random() * 1e15))::bigint::text, 17, '0'), 'Honda', 'Accord',
                       2019, 86000, true, 'clean', '2026-10-15'
                FROM source s RETURNING id
            )
            INSERT INTO lots (id, vehicle_id, consignor_id, appraisal_id, round, format, status, currency, starts_at, ends_at,
                              extension_window_seconds, extension_seconds, starting_price, reserve, deposit_amount, increments,
                              created_by, fees, priority_holders)
            SELECT \(lotId), made.id, s.consignor_id, s.appraisal_id, 1, \(format.rawValue), 'scheduled', s.currency,
                   \(startsAt), \(endsAt), \(window), \(`extension`), \(start), \(reserve), \(deposit), \(incrementsJSON)::jsonb, s.created_by,
                   s.fees, \(priorityHolders)::uuid[]
            FROM made, source s
            """, logger: quietLogger)
        return lotId
    }

    /// What place_bid answered, in the engine's terms.
    static func placeInSQL(
        _ connection: PostgresConnection, lot: UUID, bidder: UUID, amount: Int64, at: Date
    ) async throws -> Result<Auction.Acceptance, BidRefusal> {
        let rows = try await connection.query(
            "SELECT * FROM place_bid(gen_random_uuid(), \(lot), \(bidder), \(amount), \(at))", logger: quietLogger)
        for try await row in rows {
            let r = row.makeRandomAccess()
            let answer = try r["answer"].decode(String.self)
            let detail = try r["answer_detail"].decode(Int64?.self) ?? -1
            switch answer {
            case "accepted":
                return .success(Auction.Acceptance(
                    price: try r["new_price"].decode(Int64.self), leader: try r["new_leader"].decode(UUID.self),
                    endsAt: try r["new_ends_at"].decode(Date.self), extended: try r["was_extended"].decode(Bool.self),
                    minimumNextBid: try r["next_minimum"].decode(Int64.self),
                    closesLot: try r["lot_format"].decode(String.self) == "fixed"))
            case "lot-not-open": return .failure(.rejected(.lotNotOpen))
            case "bidder-barred": return .failure(.bidderBarred)
            case "bidder-not-verified": return .failure(.bidderNotVerified)
            case "bidder-related-party": return .failure(.bidderRelatedParty)
            case "deposit-required": return .failure(.depositRequired(amount: detail))
            case "bid-too-low": return .failure(.rejected(.bidTooLow(minimumNextBid: detail)))
            case "bid-not-higher": return .failure(.rejected(.bidNotHigher(currentMaximum: detail)))
            case "not-the-fixed-price": return .failure(.rejected(.notTheFixedPrice(price: detail)))
            default: throw TestSetupError("place_bid answered \(answer)")
            }
        }
        throw TestSetupError("place_bid answered nothing")
    }

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    /// Same decision, with times compared to the millisecond (PostgreSQL keeps
    /// microseconds, a `Date` a binary fraction; the tests only use whole milliseconds).
    static func same(_ a: Result<Auction.Acceptance, BidRefusal>, _ b: Result<Auction.Acceptance, BidRefusal>) -> Bool {
        switch (a, b) {
        case (.success(var x), .success(let y)):
            guard milliseconds(x.endsAt) == milliseconds(y.endsAt) else { return false }
            x.endsAt = y.endsAt
            return x == y
        case (.failure(let x), .failure(let y)): return x == y
        default: return false
        }
    }

    /// The engine as `place_bid` sees a lot that needs no deposit, bars nobody and stays
    /// scheduled (the edges test is about time alone).
    static let plain = BidAdmission(storedStatus: .scheduled, depositAmount: 0, barred: [], heldDeposits: [:])

    @Test("a bid exactly at endsAt is refused, a millisecond before it is taken; the window's first instant extends")
    func edges() async throws {
        try await withGavel { gavel in
            let fixture = try await OpenLot.start(gavel, bidders: 2)
            let b1 = UUID(uuidString: fixture.bidders[0].id)!, b2 = UUID(uuidString: fixture.bidders[1].id)!
            try await gavel.sql { connection in
                let startsAt = Date(timeIntervalSince1970: floor(Date().timeIntervalSince1970) + 86_400)
                let endsAt = startsAt.addingTimeInterval(3_600)
                let lot = try await Self.makeLot(
                    connection, from: UUID(uuidString: fixture.lotId)!, format: .english, startsAt: startsAt, endsAt: endsAt,
                    start: 5_900_000, reserve: 7_580_000, increments: Policy.defaults.bidding.increments, window: 300, extension: 400)
                var engine = Auction(
                    format: .english, startsAt: startsAt, endsAt: endsAt, start: 5_900_000, reserve: 7_580_000,
                    increments: Policy.defaults.bidding.increments, extensionWindowSeconds: 300, extensionSeconds: 400)
                let bids: [(UUID, Int64, Date, String)] = [
                    (b1, 6_000_000, startsAt.addingTimeInterval(-0.001), "before the start"),
                    (b1, 6_000_000, startsAt, "at the start"),
                    (b2, 6_500_000, endsAt.addingTimeInterval(-300.001), "just outside the window"),
                    (b1, 7_000_000, endsAt.addingTimeInterval(-300), "the window's first instant"),
                    (b2, 8_000_000, endsAt, "exactly at the original end, now extended"),
                ]
                var sequence: Int64 = 0
                for (bidder, amount, at, what) in bids {
                    sequence += 1
                    let sql = try await Self.placeInSQL(connection, lot: lot, bidder: bidder, amount: amount, at: at)
                    let reference = engine.decide(bidder: bidder, amount: amount, sequence: sequence, now: at, admission: Self.plain)
                    #expect(Self.same(sql, reference), "\(what): SQL \(sql), engine \(reference)")
                }
                // The window's first instant moved the end 100 s on; the bid at the original
                // end was inside it and moved it to that instant + 400 s.
                let end = engine.endsAt
                #expect(end == endsAt.addingTimeInterval(400))
                let atEnd = try await Self.placeInSQL(connection, lot: lot, bidder: b1, amount: 9_000_000, at: end)
                #expect(atEnd == .failure(.rejected(.lotNotOpen)))
                let justBefore = try await Self.placeInSQL(connection, lot: lot, bidder: b1, amount: 9_000_000, at: end.addingTimeInterval(-0.001))
                guard case .success(let taken) = justBefore else {
                    Issue.record("a bid a millisecond before the end was refused: \(justBefore)")
                    return
                }
                #expect(taken.extended)
            }
        }
    }

    @Test("what place_bid checks besides the engine (stored status, bar, deposit) is decided the same in Swift, in the same order")
    func admission() async throws {
        try await withGavel { gavel in
            let fixture = try await OpenLot.start(gavel, bidders: 3)
            let bidders = fixture.bidders.map { UUID(uuidString: $0.id)! }
            let finance = UUID(uuidString: fixture.finance.id)!
            try await gavel.sql { connection in
                let startsAt = Date(timeIntervalSince1970: floor(Date().timeIntervalSince1970) + 86_400)
                let endsAt = startsAt.addingTimeInterval(3_600)
                let lot = try await Self.makeLot(
                    connection, from: UUID(uuidString: fixture.lotId)!, format: .english, startsAt: startsAt, endsAt: endsAt,
                    start: 500_000, reserve: 700_000, increments: Policy.defaults.bidding.increments, window: 300, extension: 300,
                    deposit: 50_000)
                var engine = Auction(
                    format: .english, startsAt: startsAt, endsAt: endsAt, start: 500_000, reserve: 700_000,
                    increments: Policy.defaults.bidding.increments, extensionWindowSeconds: 300, extensionSeconds: 300)
                var admission = BidAdmission(storedStatus: .scheduled, depositAmount: 50_000, barred: [], heldDeposits: [:])
                // Bidder 0 holds enough, bidder 1 too little, bidder 2 nothing.
                for (bidder, held) in [(bidders[0], Int64(50_000)), (bidders[1], Int64(49_999))] {
                    try await connection.query(
                        """
                        INSERT INTO deposits (id, lot_id, bidder_id, amount, reference, recorded_by)
                        VALUES (gen_random_uuid(), \(lot), \(bidder), \(held), 'ADMISSION', \(finance))
                        """, logger: quietLogger)
                    admission.heldDeposits[bidder] = held
                }
                let at = startsAt.addingTimeInterval(10)
                var sequence: Int64 = 0
                func both(_ bidder: UUID, _ amount: Int64, _ expected: Result<Void, BidRefusal>, _ what: String) async throws {
                    sequence += 1
                    let sql = try await Self.placeInSQL(connection, lot: lot, bidder: bidder, amount: amount, at: at)
                    let reference = engine.decide(bidder: bidder, amount: amount, sequence: sequence, now: at, admission: admission)
                    #expect(Self.same(sql, reference), "\(what): SQL \(sql), engine \(reference)")
                    switch (reference, expected) {
                    case (.success, .success): break
                    case (.failure(let got), .failure(let wanted)): #expect(got == wanted, "\(what)")
                    default: Issue.record("\(what): \(reference)")
                    }
                }
                try await both(bidders[1], 500_000, .failure(.depositRequired(amount: 50_000)), "a deposit one short")
                try await both(bidders[2], 500_000, .failure(.depositRequired(amount: 50_000)), "no deposit")
                try await both(bidders[0], 500_000, .success(()), "enough deposit")
                try await connection.query(
                    "INSERT INTO bidder_bars (bidder_id, vehicle_id, reason) SELECT \(bidders[2]), vehicle_id, 'test' FROM lots WHERE id = \(lot)",
                    logger: quietLogger)
                admission.barred.insert(bidders[2])
                // A bar says more than a missing deposit.
                try await both(bidders[2], 600_000, .failure(.bidderBarred), "barred and without a deposit")
                // Verified bidders only (domain rules section 11): who may bid comes before
                // what a bidder did on this vehicle.
                try await connection.query("UPDATE lots SET require_verified = true WHERE id = \(lot)", logger: quietLogger)
                admission.requireVerified = true
                try await both(bidders[2], 600_000, .failure(.bidderNotVerified), "barred and not verified")
                func verify(_ user: UUID, idNumber: String, expires: String?) async throws {
                    try await connection.query(
                        """
                        INSERT INTO bidder_verifications (bidder_id, legal_name, id_number, licence_expires_on, verified_by)
                        VALUES (\(user), 'Legal Name', \(idNumber), \(expires)::date, \(finance))
                        ON CONFLICT (bidder_id) DO UPDATE SET id_number = EXCLUDED.id_number, licence_expires_on = EXCLUDED.licence_expires_on
                        """, logger: quietLogger)
                }
                try await verify(bidders[0], idNumber: "ID-ZERO", expires: "2026-01-01")
                try await both(bidders[0], 700_000, .failure(.bidderNotVerified), "a licence expired before the bid")
                try await verify(bidders[0], idNumber: "ID-ZERO", expires: "2030-01-01")
                admission.verified.insert(bidders[0])
                try await both(bidders[0], 700_000, .success(()), "verified, licence in force")
                // Related parties: an ID number on the case's exclusion list, or one of the consignor's own staff.
                try await connection.query(
                    """
                    UPDATE cases SET excluded_id_numbers = '["ID-ONE"]'
                    WHERE id = (SELECT v.case_id FROM vehicles v JOIN lots l ON l.vehicle_id = v.id WHERE l.id = \(lot))
                    """, logger: quietLogger)
                try await verify(bidders[1], idNumber: "ID-ONE", expires: nil)
                admission.verified.insert(bidders[1])
                admission.related.insert(bidders[1])
                try await both(bidders[1], 800_000, .failure(.bidderRelatedParty), "on the exclusion list, with a short deposit")
                try await verify(UUID(uuidString: fixture.disposal.manager.id)!, idNumber: "ID-TWO", expires: nil)
                try await verify(bidders[2], idNumber: "ID-TWO", expires: nil)
                admission.verified.insert(bidders[2])
                admission.related.insert(bidders[2])
                try await both(bidders[2], 800_000, .failure(.bidderRelatedParty), "the consignor's manager bidding as a dealer, barred too")
                try await connection.query("UPDATE lots SET status = 'cancelled' WHERE id = \(lot)", logger: quietLogger)
                admission.storedStatus = .cancelled
                // A lot not open says more than either.
                try await both(bidders[2], 600_000, .failure(.rejected(.lotNotOpen)), "barred, on a cancelled lot")
                try await both(bidders[0], 600_000, .failure(.rejected(.lotNotOpen)), "a good bid on a cancelled lot")
            }
        }
    }

    @Test("random bids at random instants (edges favoured) get the same answer from SQL and from the engine", arguments: 0..<12)
    func differential(seed: UInt64) async throws {
        try await withGavel { gavel in
            let fixture = try await OpenLot.start(gavel, bidders: 4)
            let bidders = fixture.bidders.map { UUID(uuidString: $0.id)! }
            var random = SeededRandom(seed: seed)
            let format: Lot.Format = [.english, .english, .sealed, .fixed][Int(seed % 4)]
            let tables: [[Policy.Increment]] = [
                Policy.defaults.bidding.increments,
                [.init(below: nil, step: 1_000)],
                [.init(below: 300_000, step: 5_000), .init(below: 600_000, step: 25_000), .init(below: nil, step: 100_000)],
            ]
            let increments = tables[Int.random(in: 0..<tables.count, using: &random)]
            let start = Int64.random(in: 100...1_000, using: &random) * 1_000
            let reserve = start + Int64.random(in: 0...400, using: &random) * 1_000
            let window = [30, 300][Int.random(in: 0...1, using: &random)]
            let extensionSeconds = [20, 300][Int.random(in: 0...1, using: &random)]
            // Half the lots want a deposit; each bidder holds enough, too little or none.
            let depositAmount: Int64 = Bool.random(using: &random) ? start / 10 : 0
            let finance = UUID(uuidString: fixture.finance.id)!
            // Section 11 too: some lots take verified bidders only, some bidders are verified
            // (one with a licence run out), one may be related to the consignor, and up to two
            // hold a priority right.
            let requireVerified = Int.random(in: 0..<3, using: &random) == 0
            let holders = Array(bidders.shuffled(using: &random).prefix(Int.random(in: 0...2, using: &random)))
            try await gavel.sql { connection in
                let startsAt = Date(timeIntervalSince1970: floor(Date().timeIntervalSince1970) + 86_400)
                let endsAt = startsAt.addingTimeInterval(600)
                let lot = try await Self.makeLot(
                    connection, from: UUID(uuidString: fixture.lotId)!, format: format, startsAt: startsAt, endsAt: endsAt,
                    start: start, reserve: reserve, increments: increments, window: window, extension: extensionSeconds,
                    deposit: depositAmount, priorityHolders: holders)
                try await connection.query("UPDATE lots SET require_verified = \(requireVerified) WHERE id = \(lot)", logger: quietLogger)
                var admission = BidAdmission(
                    storedStatus: .scheduled, depositAmount: depositAmount, barred: [], heldDeposits: [:], requireVerified: requireVerified)
                let related = Int.random(in: 0..<3, using: &random) == 0 ? bidders[Int.random(in: 1..<bidders.count, using: &random)] : nil
                if related != nil {
                    try await connection.query(
                        """
                        UPDATE cases SET excluded_id_numbers = '["DIFF-RELATED"]'
                        WHERE id = (SELECT v.case_id FROM vehicles v JOIN lots l ON l.vehicle_id = v.id WHERE l.id = \(lot))
                        """, logger: quietLogger)
                }
                for (index, bidder) in bidders.enumerated() {
                    // The first bidder is always verified and unrelated, so that some bids are taken.
                    let state = bidder == related ? 3 : index == 0 ? 0 : Int.random(in: 0..<3, using: &random)
                    guard state != 2 else { continue }
                    let (idNumber, expires) = switch state {
                    case 0: ("DIFF-\(seed)-\(index)", "2030-01-01")
                    case 1: ("DIFF-\(seed)-\(index)", "2026-01-01")
                    default: ("DIFF-RELATED", "2030-01-01")
                    }
                    try await connection.query(
                        """
                        INSERT INTO bidder_verifications (bidder_id, legal_name, id_number, licence_expires_on, verified_by)
                        VALUES (\(bidder), 'Legal Name', \(idNumber), \(expires)::date, \(finance))
                        ON CONFLICT (bidder_id) DO UPDATE SET id_number = EXCLUDED.id_number, licence_expires_on = EXCLUDED.licence_expires_on
                        """, logger: quietLogger)
                    if state != 1 { admission.verified.insert(bidder) }
                    if state == 3 { admission.related.insert(bidder) }
                }
                for (index, bidder) in bidders.enumerated() {
                    // The first bidder always holds enough, so that some bids are taken.
                    let held: Int64? = index == 0 ? depositAmount : [depositAmount, depositAmount + 1_000, max(1, depositAmount - 1), nil][
                        Int.random(in: 0..<4, using: &random)]
                    guard let held, held > 0 else { continue }
                    try await connection.query(
                        """
                        INSERT INTO deposits (id, lot_id, bidder_id, amount, reference, recorded_by)
                        VALUES (gen_random_uuid(), \(lot), \(bidder), \(held), 'DIFF', \(finance))
                        """, logger: quietLogger)
                    admission.heldDeposits[bidder] = held
                }
                var engine = Auction(
                    format: format, startsAt: startsAt, endsAt: endsAt, start: start, reserve: reserve, increments: increments,
                    extensionWindowSeconds: Int64(window), extensionSeconds: Int64(extensionSeconds), priorityHolders: holders)
                var now = startsAt.addingTimeInterval(-2)
                var sequence: Int64 = 0
                var accepted = 0
                var tally: [Substring: Int] = [:]
                for _ in 0..<60 {
                    // Mostly small steps forward in time; sometimes straight to an edge.
                    switch Int.random(in: 0..<40, using: &random) {
                    case 0...2: now = max(now, engine.endsAt.addingTimeInterval(-Double(window)))
                    case 3: now = max(now, engine.endsAt.addingTimeInterval(-0.001))
                    // Past the end only once something was taken, or the seed proves little.
                    case 4 where accepted > 0: now = max(now, engine.endsAt)
                    default: now = now.addingTimeInterval(Double(Int.random(in: 0...20_000, using: &random)) / 1000)
                    }
                    // Now and then a bidder is barred from the vehicle, or the lot is taken out
                    // of bidding and put back, as only SQL could do it under the engine.
                    switch Int.random(in: 0..<60, using: &random) {
                    case 0:
                        let barred = bidders[Int.random(in: 0..<bidders.count, using: &random)]
                        try await connection.query(
                            """
                            INSERT INTO bidder_bars (bidder_id, vehicle_id, reason)
                            SELECT \(barred), vehicle_id, 'differential test' FROM lots WHERE id = \(lot) ON CONFLICT DO NOTHING
                            """, logger: quietLogger)
                        admission.barred.insert(barred)
                    case 1...4:
                        // Out now and then, back soon after.
                        let status: Lot.Status = admission.storedStatus == .scheduled ? (Int.random(in: 1...4, using: &random) == 1 ? .cancelled : .scheduled) : .scheduled
                        try await connection.query("UPDATE lots SET status = \(status.rawValue) WHERE id = \(lot)", logger: quietLogger)
                        admission.storedStatus = status
                    default: break
                    }
                    let bidder = bidders[Int.random(in: 0..<bidders.count, using: &random)]
                    let step = Auction.increment(at: engine.minimumNextBid, in: increments)
                    // Amounts where the rules have edges: the minimum, the reserve, a tie with
                    // the top maximum, the bidder's own maximum, the start.
                    let choice = format == .fixed && Bool.random(using: &random) ? 3 : Int.random(in: 0..<9, using: &random)
                    let amount: Int64 = switch choice {
                    case 0: engine.minimumNextBid - step
                    case 1: engine.minimumNextBid
                    case 2: engine.maxima.first { $0.bidder == bidder }?.amount ?? engine.minimumNextBid
                    case 3: start
                    case 4: reserve
                    case 5: engine.ranking.first?.amount ?? reserve
                    // The current price, which only a holder may meet.
                    case 6: engine.price ?? start
                    default: engine.minimumNextBid + step * Int64.random(in: 1...6, using: &random)
                    }
                    sequence += 1
                    let sql = try await Self.placeInSQL(connection, lot: lot, bidder: bidder, amount: amount, at: now)
                    let reference = engine.decide(bidder: bidder, amount: amount, sequence: sequence, now: now, admission: admission)
                    if case .success = reference { accepted += 1 }
                    tally["\(reference)".prefix(70).suffix(40), default: 0] += 1
                    guard Self.same(sql, reference) else {
                        Issue.record("seed \(seed), bid \(sequence) (\(amount) at \(now)): SQL \(sql), engine \(reference)")
                        return
                    }
                }
                // The lot as stored ends where the engine's does.
                let rows = try await connection.query(
                    "SELECT current_price, leader_id, bid_count, ends_at FROM lots WHERE id = \(lot)", logger: quietLogger)
                for try await (price, leader, count, end) in rows.decode((Int64?, UUID?, Int, Date).self) {
                    #expect(count == accepted)
                    #expect(price == engine.price)
                    #expect(leader == engine.leader)
                    #expect(Self.milliseconds(end) == Self.milliseconds(engine.endsAt))
                }
                #expect(accepted > 0, "seed \(seed) accepted nothing: the test would prove little; \(tally)")
            }
        }
    }
}

/// A small deterministic generator, so a failing seed can be run again.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 6_364_136_223_846_793_005 &+ 1 }
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return (state ^ (state >> 29)) &* 0xBF58_476D_1CE4_E5B9
    }
}
