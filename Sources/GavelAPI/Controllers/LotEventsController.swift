import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import Hummingbird
import HTTPTypes
import NIOCore
import ServiceLifecycle

/// GET /v1/lots/{id}/events: the lot's public events as Server-Sent Events.
///
/// Each event's `id` is its number in the lot's gap-free sequence. Without
/// `Last-Event-ID` the stream starts with the latest event (the lot's state now);
/// with it, every event after that number follows, then live ones. The stream ends
/// after the `closed` event that carries a final status (sold, unsold, defaulted);
/// `pending-approval` keeps it open for the manager's decision.
struct LotEventsController: Sendable {
    let database: Database
    let hub: LotEventHub
    let heartbeat: Duration
    let limiter: EventStreamLimiter

    static let finalStatuses: Set<String> = ["sold", "unsold", "defaulted", "cancelled"]

    func stream(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let lotId = try context.parameters.uuid("id")
        let resumeAfter = try Self.lastEventID(request)
        let desk = Desk(database: database)
        let lotEvents = LotEvents()
        let (lot, start) = try await desk.read(logger: context.logger) { session in
            try await lotEvents.watch(lotId: lotId, resumingAfter: resumeAfter, for: caller, in: session)
        }
        let slot: EventStreamLimiter.Slot
        switch limiter.admit(caller.user.id) {
        case .success(let admitted): slot = admitted
        case .failure(let refusal):
            let detail = switch refusal {
            case .caller(let limit): "at most \(limit) event streams at once per user; close one first"
            case .instance(let limit): "this instance serves \(limit) event streams already; retry shortly"
            }
            throw Refusal.rateLimited(detail, retryAfterSeconds: 5)
        }
        var headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-store"]
        // Proxies such as nginx would otherwise hold events back in a buffer.
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
        let hub = self.hub
        let heartbeat = self.heartbeat
        let logger = context.logger
        let format = lot.format
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            // The slot is held until the stream ends (and released with this closure if it never runs).
            defer { withExtendedLifetime(slot) {} }
            let watch = hub.watch(lotId: lotId)
            let beats = Task {
                while !Task.isCancelled {
                    try await Task.sleep(for: heartbeat)
                    watch.continuation.yield(.heartbeat)
                }
            }
            defer {
                beats.cancel()
                hub.stopWatching(watch)
            }
            var sent = start
            var ended = false
            var signals = watch.signals.makeAsyncIterator()
            func nextSignal() async -> LotEventHub.Signal? { await signals.next() }
            // Reads what this watcher has not seen from the table; true once the lot's
            // final event went out.
            func catchUp(_ writer: inout any ResponseBodyWriter) async throws {
                let after = sent
                let events = try await desk.read(logger: logger) { session in
                    try await lotEvents.after(lotId: lotId, seq: after, in: session)
                }
                for event in events where !ended { try await send(event, &writer) }
            }
            func send(_ event: LotEvent, _ writer: inout any ResponseBodyWriter) async throws {
                try await writer.write(ByteBuffer(string: Self.frame(event, format: format)))
                sent = event.seq
                if event.kind == .closed && Self.finalStatuses.contains(event.status) { ended = true }
            }
            do {
                try await withGracefulShutdownHandler {
                    // Tells EventSource clients how soon to reconnect after a drop.
                    try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
                    try await catchUp(&writer)
                    while !ended, let signal = await nextSignal() {
                        switch signal {
                        case .event(let event) where event.seq == sent + 1:
                            try await send(event, &writer)
                        case .event(let event) where event.seq <= sent:
                            continue
                        case .event, .resync:
                            try await catchUp(&writer)
                        case .heartbeat:
                            try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                            // A safety net for a listener connection that died silently.
                            try await catchUp(&writer)
                        }
                    }
                } onGracefulShutdown: {
                    watch.continuation.finish()
                }
                try await writer.finish(nil)
            } catch {
                // The watcher went away, or the database did; either way the stream is over
                // and the client resumes with Last-Event-ID.
                logger.debug("event stream ended", metadata: ["lot": "\(lotId)", "error": "\(String(reflecting: error))"])
            }
        })
    }

    /// The SSE frame of one event: the public state, with a sealed lot's price hidden
    /// while bidding runs.
    static func frame(_ event: LotEvent, format: Lot.Format) -> String {
        return "id: \(event.seq)\nevent: \(event.kind.rawValue)\ndata: \(JSONText.encode(LotEventAnswer(event, format: format)))\n\n"
    }

    static func lastEventID(_ request: Request) throws -> Int? {
        guard let value = request.headers[HTTPField.Name("Last-Event-ID")!] else { return nil }
        guard let number = Int(value.trimmingCharacters(in: .whitespaces)), number >= 0, number <= Int(Int32.max) else {
            throw Problem.validation([.init(field: "Last-Event-ID", message: "must be the id of an event of this lot (a whole number)")])
        }
        return number
    }
}

/// The data of an event frame: the lot's public state, with a sealed lot's price hidden
/// while bidding runs.
struct LotEventAnswer: Encodable, Sendable {
    var lotId: String
    var status: String
    @Nullable var currentPrice: Int64?
    var bidCount: Int64
    var reserveMet: Bool
    var minimumNextBid: Int64
    var endsAt: String
    @Nullable var hammerPrice: Int64?

    init(_ event: LotEvent, format: Lot.Format) {
        let hidden = Lot.amountsHidden(format: format, status: Lot.Status(rawValue: event.status))
        lotId = event.lotId.answer
        status = event.status
        currentPrice = hidden ? nil : event.currentPrice
        bidCount = Int64(event.bidCount)
        reserveMet = !hidden && event.reserveMet
        minimumNextBid = event.minimumNextBid
        endsAt = event.endsAt.rfc3339
        hammerPrice = event.hammerPrice
    }
}
