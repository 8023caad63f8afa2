import ArgumentParser
import AsyncHTTPClient
import Foundation
import GavelCore
import NIOCore
import NIOHTTP1

/// The load generator of `Benchmarks/run`: sets up lots through the API, then bidders
/// place valid proxy bids as fast as the answers come, reading `minimumNextBid` from
/// each answer. Every answer is checked: a 201, or the refusal a race explains
/// (`bid-too-low`, `bid-not-higher`); anything else is an error and fails the run.
@main
struct GavelLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gavel-load", abstract: "Bid load against a running Gavel.")

    @Option(help: "Gavel's base URL.") var url = "http://127.0.0.1:8080"
    @Option(help: "An admin token.") var token: String
    @Option(help: "spread (many lots), hot (one lot), pay (the invoices in --work), settle (the cases in --work) or health (GET /health: the HTTP path's floor).")
    var mode = "spread"
    @Option(help: "Concurrent bidders (or, for pay and settle, concurrent clients).") var bidders = 16
    @Option(help: "Lots to bid on (spread).") var lots = 1_000
    @Option(help: "Seconds of bidding.") var seconds = 10
    @Option(help: "Requests a second for all bidders together (0: as fast as the answers come).") var rate: Double = 0
    @Option(help: "pay: lines 'invoiceId amountDue'; settle: lines 'caseId'.") var work: String?
    @Option(help: "spread: another Gavel instance's base URL on which to watch lots' event streams while the bids go to --url.")
    var watchURL: String?
    @Option(help: "Lots watched on --watch-url, one stream each.") var watchLots = 100
    @Option(help: "Where the watchers write each event's arrival: lines 'lotId seq epochMicroseconds'.") var watchLog = "watch.log"
    @Option(help: "spread and hot: write every answer here, a line 'epochMicroseconds status code bidId' each; a request that gets no answer (a connection refused) is status 0 and bidding goes on (scripts/failover).")
    var answerLog: String?
    @Flag(help: "Lots that take verified bidders only, bidders verified, an exclusion list on the case: place_bid's identity and related-party checks run on every bid.")
    var verified = false

    func run() async throws {
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(64, bidders * 2, watchLots + 8))))
        let api = LoadAPI(http: http, base: url)
        if mode == "pay" || mode == "settle" {
            do {
                try await runBatch(api: api)
            } catch {
                try? await http.shutdown()
                throw error
            }
            try? await http.shutdown()
            return
        }
        if mode == "health" {
            try await runHealth(api: api)
            try? await http.shutdown()
            return
        }
        let lotCount = mode == "hot" ? 1 : lots
        let setupStart = ContinuousClock.now
        let (lotIds, bidderTokens) = try await Setup(api: api, admin: token).run(lots: lotCount, bidders: bidders, verified: verified)
        FileHandle.standardError.write(Data("set up \(lotIds.count) lots and \(bidders) bidders in \(ContinuousClock.now - setupStart)\n".utf8))
        // Watchers on another instance, connected before the first bid: each event they
        // receive is logged with its arrival time, for Benchmarks/run to compare with the
        // event's `created_at` in the database (written in the bid's transaction).
        var watchers: Watchers?
        if let watchURL {
            watchers = try await Watchers.start(http: http, base: watchURL, lots: lotIds.prefix(watchLots).map(\.id), tokens: bidderTokens)
        }
        let answers = try answerLog.map { try AnswerLog(path: $0) }
        let deadline = ContinuousClock.now + .seconds(seconds)
        let started = ContinuousClock.now
        let tallies = try await withThrowingTaskGroup(of: Tally.self) { group in
            for (index, bidderToken) in bidderTokens.enumerated() {
                group.addTask {
                    // Paced bidders start spread over one interval, not in a burst.
                    let interval: Duration? = rate > 0 ? .microseconds(Int64(Double(bidders) / rate * 1_000_000)) : nil
                    return try await Bidder(api: api, token: bidderToken, lots: lotIds, seed: UInt64(index + 1), interval: interval,
                                            firstAt: started + (interval ?? .zero) * (Double(index) / Double(bidders)), answers: answers)
                        .run(until: deadline)
                }
            }
            return try await group.reduce(into: [Tally]()) { $0.append($1) }
        }
        let elapsed = ContinuousClock.now - started
        var watched = 0
        if let watchers {
            // The last bids' events are on their way: give them a second.
            try await Task.sleep(for: .seconds(1))
            watched = try await watchers.finish(writingTo: watchLog)
        }
        try? await http.shutdown()
        let total = tallies.reduce(into: Tally()) { $0.merge($1) }
        let wall = Tally.seconds(elapsed)
        let report: [String: Any] = [
            "mode": mode, "bidders": bidders, "lots": lotIds.count, "seconds": wall, "watchedEvents": watched,
            "requests": total.requests, "accepted": total.accepted, "refused": total.refused, "errors": total.errors.count,
            "acceptedPerSecond": Double(total.accepted) / wall, "requestsPerSecond": Double(total.requests) / wall,
            "p50ms": total.percentile(0.50) * 1_000, "p99ms": total.percentile(0.99) * 1_000,
        ]
        let json = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
        if !total.errors.isEmpty {
            FileHandle.standardError.write(Data("errors: \(total.errors.prefix(5))\n".utf8))
            throw ExitCode.failure
        }
    }
}

extension GavelLoad {
    /// The floor of Gavel's HTTP path: `bidders` clients ask `GET /health` (no body, no
    /// database, every middleware) as fast as the answers come, for `seconds`.
    func runHealth(api: LoadAPI) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        let started = ContinuousClock.now
        let token = self.token
        let tallies = try await withThrowingTaskGroup(of: Tally.self) { group in
            for _ in 0..<bidders {
                group.addTask {
                    var tally = Tally()
                    while ContinuousClock.now < deadline {
                        let sent = ContinuousClock.now
                        let (status, _) = try await api.call(.GET, "/health", token: token)
                        tally.requests += 1
                        tally.latencies.append(Tally.seconds(ContinuousClock.now - sent))
                        if status != 200 { tally.errors.append("GET /health: \(status)") }
                    }
                    return tally
                }
            }
            return try await group.reduce(into: [Tally]()) { $0.append($1) }
        }
        let total = tallies.reduce(into: Tally()) { $0.merge($1) }
        let wall = Tally.seconds(ContinuousClock.now - started)
        let report: [String: Any] = [
            "mode": mode, "clients": bidders, "seconds": wall, "requests": total.requests, "errors": total.errors.count,
            "requestsPerSecond": Double(total.requests) / wall,
            "p50ms": total.percentile(0.50) * 1_000, "p99ms": total.percentile(0.99) * 1_000,
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]), as: UTF8.self))
        if !total.errors.isEmpty { throw ExitCode.failure }
    }

    /// Works through a list once with `bidders` concurrent clients: a payment of the whole
    /// amount due on each invoice (which must leave it paid), or a settlement of each
    /// case (which must be issued). Reports items/s; any other answer fails the run.
    func runBatch(api: LoadAPI) async throws {
        guard let work else { throw ValidationError("--work is required for \(mode)") }
        let items = try String(contentsOfFile: work, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        let today = String(ISO8601DateFormatter().string(from: Date()).prefix(10))
        let mode = self.mode
        let token = self.token
        let clients = bidders
        let started = ContinuousClock.now
        let tallies = try await withThrowingTaskGroup(of: Tally.self) { group in
            for client in 0..<clients {
                group.addTask {
                    var tally = Tally()
                    for item in stride(from: client, to: items.count, by: clients).map({ items[$0] }) {
                        let sent = ContinuousClock.now
                        let (status, body): (Int, JSONValue)
                        let ok: Bool
                        if mode == "pay" {
                            (status, body) = try await api.call(.POST, "/v1/invoices/\(item[0])/payments", token: token, json: """
                                {"amount": \(item[1]), "reference": "BENCH-\(item[0].prefix(8))", "receivedOn": "\(today)"}
                                """)
                            ok = status == 201 && body["status"] == .string("paid")
                        } else {
                            (status, body) = try await api.call(.POST, "/v1/cases/\(item[0])/settlement", token: token, json: "{}")
                            ok = status == 201
                        }
                        tally.latencies.append(Tally.seconds(ContinuousClock.now - sent))
                        tally.requests += 1
                        if ok { tally.accepted += 1 } else { tally.errors.append("\(status) \(body)") }
                    }
                    return tally
                }
            }
            return try await group.reduce(into: [Tally]()) { $0.append($1) }
        }
        let elapsed = ContinuousClock.now - started
        let total = tallies.reduce(into: Tally()) { $0.merge($1) }
        let wall = Tally.seconds(elapsed)
        let report: [String: Any] = [
            "mode": mode, "clients": clients, "items": items.count, "seconds": wall, "requests": total.requests,
            "done": total.accepted, "errors": total.errors.count, "perSecond": Double(total.accepted) / wall,
            "p50ms": total.percentile(0.50) * 1_000, "p99ms": total.percentile(0.99) * 1_000,
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]), as: UTF8.self))
        if !total.errors.isEmpty || total.accepted != items.count {
            FileHandle.standardError.write(Data("errors: \(total.errors.prefix(5))\n".utf8))
            throw ExitCode.failure
        }
    }
}

struct Tally: Sendable {
    var requests = 0
    var accepted = 0
    var refused = 0
    var errors: [String] = []
    var latencies: [Double] = []

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// The latency below which `fraction` of the requests answered, in seconds.
    func percentile(_ fraction: Double) -> Double {
        let sorted = latencies.sorted()
        return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
    }

    mutating func merge(_ other: Tally) {
        requests += other.requests
        accepted += other.accepted
        refused += other.refused
        errors += other.errors
        latencies += other.latencies
    }
}

struct LoadAPI: Sendable {
    let http: HTTPClient
    let base: String

    func call(_ method: HTTPMethod, _ path: String, token: String, json: String? = nil) async throws -> (Int, JSONValue) {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await http.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        // Gavel's own parser: the load generator shares the two cores with what it measures.
        return (Int(response.status.code), JSONValue(parsing: bytes.readableBytesView) ?? .null)
    }

    func expect(_ status: Int, _ method: HTTPMethod, _ path: String, token: String, json: String? = nil) async throws -> JSONValue {
        let (got, body) = try await call(method, path, token: token, json: json)
        guard got == status else { throw ValidationError("\(method) \(path): \(got) \(body)") }
        return body
    }
}

/// A consignor without deposits, a case, and `lots` vehicles each with a manual
/// appraisal approved and an English lot open for a day.
struct Setup {
    let api: LoadAPI
    let admin: String

    static func string(_ value: JSONValue?) -> String { if case .string(let s) = value { s } else { "" } }

    /// A valid VIN for a number: the check digit is whichever the ISO 3779 sum accepts.
    static func vin(_ number: Int) -> String {
        let serial = String(format: "%06d", number % 1_000_000)
        for digit in "0123456789X" {
            let text = "1HGCM826" + String(digit) + "3A" + serial
            if (try? VIN(text)) != nil { return text }
        }
        return ""
    }

    func run(lots: Int, bidders: Int, verified: Bool) async throws -> ([(id: String, start: Int64)], [String]) {
        let run = String(UUID().uuidString.prefix(6))
        let consignor = try await api.expect(201, .POST, "/v1/consignors", token: admin, json: """
            {"name": "Load \(run)", "currency": "CNY",
             "policy": {"pricing": {"depositBp": 0}, "notice": {"minDays": 0}, "bidding": {"requireVerifiedBidder": \(verified)}}}
            """)
        let consignorId = Self.string(consignor["id"])
        let manager = Self.string(try await api.expect(201, .POST, "/v1/users", token: admin, json: """
            {"name": "Load manager", "role": "manager", "consignorId": "\(consignorId)"}
            """)["token"])
        var tokens: [String] = []
        for index in 0..<bidders {
            let bidder = try await api.expect(201, .POST, "/v1/users", token: admin, json: #"{"name": "Load bidder \#(index)", "role": "bidder"}"#)
            tokens.append(Self.string(bidder["token"]))
            if verified {
                _ = try await api.expect(200, .POST, "/v1/bidders/\(Self.string(bidder["id"]))/verification", token: admin, json: """
                    {"legalName": "Load Dealer \(index)", "idNumber": "LOAD-\(run)-\(index)", "dealerLicence": "DL-\(index)"}
                    """)
            }
        }
        let today = String(ISO8601DateFormatter().string(from: Date()).prefix(10))
        let caseId = Self.string(try await api.expect(201, .POST, "/v1/cases", token: manager, json: """
            {"consignorId": "\(consignorId)", "loanNumber": "LOAD-\(run)", "borrower": {"name": "Load Borrower"}, "guarantors": [],
             "balances": {"principal": 6000000, "interest": 0, "fees": 0, "perDiemInterest": 0, "asOf": "\(today)"},
             "lienholders": [], "credits": []\(verified ? #", "excludedIdNumbers": ["LOAD-RELATED-1", "LOAD-RELATED-2"]"# : "")}
            """)["id"])
        let formatter = ISO8601DateFormatter()
        let startsAt = formatter.string(from: Date().addingTimeInterval(-60))
        let endsAt = formatter.string(from: Date().addingTimeInterval(86_400))
        let base = Int.random(in: 0..<900_000)
        let lotIds = try await withThrowingTaskGroup(of: (id: String, start: Int64).self) { group in
            var made: [(id: String, start: Int64)] = []
            for index in 0..<lots {
                if index >= 16 { made.append(try await group.next()!) }
                group.addTask {
                    let vehicle = try await api.expect(201, .POST, "/v1/cases/\(caseId)/vehicles", token: manager, json: """
                        {"vin": "\(Self.vin(base + index))", "make": "Honda", "model": "Accord", "year": 2019, "mileageKm": 86000,
                         "hasKeys": true, "titleStatus": "clean", "repossessedOn": "\(today)"}
                        """)
                    let vehicleId = Self.string(vehicle["id"])
                    // A value entered by hand is the admin's to enter and the manager's to approve.
                    let appraisal = try await api.expect(201, .POST, "/v1/vehicles/\(vehicleId)/appraisals", token: admin, json: """
                        {"valuationDate": "\(today)", "conditionGrade": 3.5, "marketValue": 8000000, "liquidationValue": 6000000,
                         "reason": "load test"}
                        """)
                    _ = try await api.expect(200, .POST, "/v1/appraisals/\(Self.string(appraisal["id"]))/approve", token: manager)
                    let lot = try await api.expect(201, .POST, "/v1/lots", token: manager, json: """
                        {"vehicleId": "\(vehicleId)", "format": "english", "startsAt": "\(startsAt)", "endsAt": "\(endsAt)"}
                        """)
                    guard case .integer(let start) = lot["startingPrice"] else { throw ValidationError("lot without a price: \(lot)") }
                    return (Self.string(lot["id"]), start)
                }
            }
            for try await id in group { made.append(id) }
            return made
        }
        return (lotIds, tokens)
    }
}

/// One bidding program: picks a lot and bids a maximum of the minimum next bid it last
/// heard of plus 0 to 63 increments, as a dealer's program sets a ceiling rather than
/// the bare minimum. With many bidders on one lot the quoted minimum is stale by the
/// time the bid arrives; the headroom is what keeps such a bid valid.
struct Bidder {
    let api: LoadAPI
    let token: String
    let lots: [(id: String, start: Int64)]
    let seed: UInt64
    /// Time between this bidder's bids when paced; nil: the next as soon as an answer comes.
    var interval: Duration?
    var firstAt: ContinuousClock.Instant
    /// Every answer, when the run is a failover's (a failed request then goes on).
    var answers: AnswerLog?

    func run(until deadline: ContinuousClock.Instant) async throws -> Tally {
        var tally = Tally()
        var nextAt = firstAt
        var minimum: [String: Int64] = Dictionary(uniqueKeysWithValues: lots.map { ($0.id, $0.start) })
        var step: [String: Int64] = [:]
        var random = SystemRandomNumberGenerator()
        var retry: String?
        while ContinuousClock.now < deadline {
            // Outbid since we last looked: try the same lot again at the minimum it quoted.
            let lot = retry ?? lots.randomElement(using: &random)!.id
            retry = nil
            if let interval {
                try await Task.sleep(until: nextAt)
                nextAt += interval
                guard ContinuousClock.now < deadline else { break }
            }
            let amount = (minimum[lot] ?? 0) + (step[lot] ?? 20_000) * Int64.random(in: 0...63, using: &random)
            let sent = ContinuousClock.now
            let status: Int
            let body: JSONValue
            do {
                (status, body) = try await api.call(.POST, "/v1/lots/\(lot)/bids", token: token, json: #"{"maxAmount": \#(amount)}"#)
            } catch where answers != nil {
                answers?.write(status: 0, code: "transport", bidId: nil)
                tally.requests += 1
                tally.errors.append("0 transport")
                try await Task.sleep(for: .milliseconds(100))
                continue
            }
            tally.latencies.append(Tally.seconds(ContinuousClock.now - sent))
            tally.requests += 1
            let code: String = if case .string(let c) = body["code"] { c } else { "" }
            if let answers {
                let bidId: String? = if status == 201, case .string(let id) = body["bidId"] { id } else { nil }
                answers.write(status: status, code: code, bidId: bidId)
                if status == 503 { try await Task.sleep(for: .milliseconds(100)) }
            }
            if case .integer(let next) = body["minimumNextBid"], case .integer(let price) = body["currentPrice"], next > price {
                step[lot] = next - price
            }
            switch (status, code) {
            case (201, _):
                tally.accepted += 1
                if case .integer(let next) = body["minimumNextBid"] { minimum[lot] = next }
            case (422, "bid-too-low"):
                tally.refused += 1
                if case .integer(let next) = body["minimumNextBid"] { minimum[lot] = next }
                retry = lot
            case (422, "bid-not-higher"):
                // This bidder leads: its own maximum is the floor now.
                tally.refused += 1
                if case .integer(let mine) = body["myMaxAmount"] { minimum[lot] = mine + (step[lot] ?? 100_000) }
            default:
                tally.errors.append("\(status) \(code)")
            }
        }
        return tally
    }
}

/// One event stream per watched lot on a second instance (`GET /v1/lots/{id}/events`,
/// the bidders' tokens in turn, as a bidder's page would hold it), each frame's arrival
/// noted with the wall clock, which the database's `clock_timestamp()` shares on one machine.
struct Watchers: Sendable {
    let tasks: [Task<[String], any Error>]

    static func start(http: HTTPClient, base: String, lots: [String], tokens: [String]) async throws -> Watchers {
        // Each stream reports once: connected, or failed (the failure surfaces in `finish`).
        let (connected, counter) = AsyncStream<Void>.makeStream()
        let tasks = lots.enumerated().map { index, lotId in
            Task {
                var request = HTTPClientRequest(url: base + "/v1/lots/\(lotId)/events")
                request.headers.add(name: "Authorization", value: "Bearer \(tokens[index % tokens.count])")
                request.headers.add(name: "Accept", value: "text/event-stream")
                let response: HTTPClientResponse
                do {
                    response = try await http.execute(request, timeout: .hours(1))
                    counter.yield()
                } catch {
                    counter.yield()
                    throw error
                }
                guard response.status == .ok else { throw ValidationError("watching lot \(lotId): \(response.status)") }
                var arrivals: [String] = []
                var pending = ""
                do {
                    for try await chunk in response.body {
                        let micros = Int64(Date().timeIntervalSince1970 * 1_000_000)
                        pending += String(buffer: chunk)
                        // Frames end with a blank line; the `id:` line is the event's number.
                        while let end = pending.range(of: "\n\n") {
                            let frame = pending[..<end.lowerBound]
                            pending = String(pending[end.upperBound...])
                            if let line = frame.split(separator: "\n").first(where: { $0.hasPrefix("id: ") }) {
                                arrivals.append("\(lotId) \(line.dropFirst(4)) \(micros)")
                            }
                        }
                    }
                } catch is CancellationError {
                } catch where Task.isCancelled {}
                return arrivals
            }
        }
        var count = 0
        for await _ in connected {
            count += 1
            if count == lots.count { break }
        }
        return Watchers(tasks: tasks)
    }

    /// Ends the streams and writes every arrival; answers how many events arrived.
    func finish(writingTo path: String) async throws -> Int {
        tasks.forEach { $0.cancel() }
        var lines: [String] = []
        for task in tasks { lines += try await task.value }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return lines.count
    }
}

/// Answers as they come, one line each, flushed at once: the failover script reads them
/// against the database after the load generator has been stopped.
final class AnswerLog: @unchecked Sendable {
    private let lock = NSLock()
    private let handle: FileHandle

    init(path: String) throws {
        FileManager.default.createFile(atPath: path, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: path) else { throw ValidationError("cannot write \(path)") }
        self.handle = handle
    }

    func write(status: Int, code: String, bidId: String?) {
        let micros = Int64(Date().timeIntervalSince1970 * 1_000_000)
        let line = "\(micros) \(status) \(code.isEmpty ? "-" : code) \(bidId ?? "-")\n"
        lock.withLock { handle.write(Data(line.utf8)) }
    }
}
