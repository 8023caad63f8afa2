import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import Hummingbird
import HTTPTypes
import NIOCore
import ServiceLifecycle

/// The lot board's one stream: the events of every live lot the caller may see, as
/// Server-Sent Events whose data carries the lot's ID. A browser holds a few connections
/// per host, so the board cannot open a stream per lot. As with a lot's own stream, the
/// events are rows in `lot_events`: a notification only says which lot to read again, and
/// a board that missed one catches up on the next heartbeat.
extension LotEventsController {
    /// At most this many lots on one board stream (the board lists the first ones).
    static let boardLimit = 200

    func board(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        try Page.onlyParameters(request, [])
        let desk = Desk(database: database)
        let lotEvents = LotEvents()
        let watched = try await desk.read(logger: context.logger) { session in
            let listed = try await Lots().list(
                status: nil, consignorId: nil, afterSeq: 0, limit: Self.boardLimit, for: caller, in: session)
            let live = listed.map(\.answer).filter { ["scheduled", "open", "pending-approval"].contains($0.status) }
                .compactMap { answer in UUID(uuidString: answer.id).flatMap { id in Lot.Format(rawValue: answer.format).map { (id, $0) } } }
            // One statement for every lot's starting point: the list already applied who may see what.
            let seen = try await lotEvents.latestSeen(lotIds: live.map(\.0), in: session)
            return live.map { ($0.0, $0.1, seen[$0.0] ?? 0) }
        }
        let slot: EventStreamLimiter.Slot
        switch limiter.admit(caller.user.id) {
        case .success(let admitted): slot = admitted
        case .failure:
            throw Refusal.rateLimited("too many event streams at once; close one first", retryAfterSeconds: 5)
        }
        var headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-store"]
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
        let hub = self.hub
        let heartbeat = self.heartbeat
        let logger = context.logger
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer { withExtendedLifetime(slot) {} }
            let (merged, feed) = AsyncStream<UUID?>.makeStream(bufferingPolicy: .bufferingNewest(1_024))
            let watches = watched.map { hub.watch(lotId: $0.0) }
            let forwarders = watches.map { watch in
                Task { for await _ in watch.signals { feed.yield(watch.lotId) } }
            }
            let beats = Task {
                while !Task.isCancelled {
                    try await Task.sleep(for: heartbeat)
                    feed.yield(nil)
                }
            }
            defer {
                beats.cancel()
                forwarders.forEach { $0.cancel() }
                watches.forEach { hub.stopWatching($0) }
                feed.finish()
            }
            var sent = Dictionary(uniqueKeysWithValues: watched.map { ($0.0, $0.2) })
            // The stream ends once every lot on it is over (at once for an empty board); the
            // browser's EventSource then connects again and gets the lots live by then.
            var remaining = Set(watched.map(\.0))
            let formats = Dictionary(uniqueKeysWithValues: watched.map { ($0.0, $0.1) })
            func catchUp(_ lotId: UUID, _ writer: inout any ResponseBodyWriter) async throws {
                guard let after = sent[lotId], let format = formats[lotId] else { return }
                let events = try await desk.read(logger: logger) { session in
                    try await lotEvents.after(lotId: lotId, seq: after, in: session)
                }
                for event in events {
                    // No `id:`: the numbers are per lot; a board that reconnects starts afresh.
                    let data = JSONText.encode(LotEventAnswer(event, format: format))
                    try await writer.write(ByteBuffer(string: "event: \(event.kind.rawValue)\ndata: \(data)\n\n"))
                    sent[lotId] = event.seq
                    if event.kind == .closed && Self.finalStatuses.contains(event.status) { remaining.remove(lotId) }
                }
            }
            do {
                try await withGracefulShutdownHandler {
                    try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
                    for (lotId, _, _) in watched { try await catchUp(lotId, &writer) }
                    var signals = merged.makeAsyncIterator()
                    // An element of `nil` is a heartbeat; the end of `merged` ends the loop.
                    while !remaining.isEmpty, let lotId = await signals.next() {
                        if let lotId {
                            try await catchUp(lotId, &writer)
                        } else {
                            try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                            for lotId in remaining { try await catchUp(lotId, &writer) }
                        }
                    }
                } onGracefulShutdown: {
                    feed.finish()
                }
                try await writer.finish(nil)
            } catch {
                logger.debug("board stream ended", metadata: ["error": "\(String(reflecting: error))"])
            }
        })
    }
}
