import NIOCore
import NIOPosix
import Synchronization

/// A loopback TCP relay in front of PostgreSQL that a test can cut (closing every
/// connection and refusing new ones) and restore, to play a database outage; or stall
/// (connections are taken, nothing is relayed), to play a server that never answers;
/// or stall each connection from the moment its client sends LISTEN.
final class TCPProxy: Sendable {
    private let targetPort: Int
    private let state = Mutex<(enabled: Bool, channels: [any Channel])>((true, []))
    let stalled = Mutex(false)
    let stallOnListen = Mutex(false)
    private let server = Mutex<(any Channel)?>(nil)

    init(targetPort: Int) {
        self.targetPort = targetPort
    }

    /// Starts listening on a free loopback port and returns it.
    func start() async throws -> Int {
        let targetPort = self.targetPort
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] inbound in
                guard self.state.withLock({ $0.enabled }) else { return inbound.close() }
                return ClientBootstrap(group: inbound.eventLoop)
                    .connect(host: "127.0.0.1", port: targetPort)
                    .flatMap { outbound in
                        // A cut may have come while this connection was being made: it must
                        // not survive the cut (the outage test once got a 200 through one).
                        let kept = self.state.withLock { state -> Bool in
                            guard state.enabled else { return false }
                            state.channels += [inbound, outbound]
                            return true
                        }
                        guard kept else {
                            outbound.close(promise: nil)
                            return inbound.close()
                        }
                        let pair = PairStall()
                        let toTarget = Relay(peer: outbound, proxy: self, pairStalled: pair, fromClient: true)
                        let toClient = Relay(peer: inbound, proxy: self, pairStalled: pair, fromClient: false)
                        // The inbound channel starts reading only once this initializer is done,
                        // so nothing the client sends can arrive before the relay is in place.
                        return inbound.pipeline.addHandler(toTarget)
                            .and(outbound.pipeline.addHandler(toClient))
                            .map { _ in }
                    }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        server.withLock { $0 = channel }
        return channel.localAddress!.port!
    }

    func cut() async {
        let channels = state.withLock { state -> [any Channel] in
            state.enabled = false
            defer { state.channels = [] }
            return state.channels
        }
        for channel in channels { try? await channel.close() }
    }

    func restore() {
        state.withLock { $0.enabled = true }
    }

    func stop() async {
        await cut()
        if let channel = server.withLock({ $0 }) { try? await channel.close() }
    }
}

private final class Relay: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let peer: any Channel
    let proxy: TCPProxy
    /// Set once this connection stalls (both directions share it).
    let pairStalled: PairStall
    let fromClient: Bool

    init(peer: any Channel, proxy: TCPProxy, pairStalled: PairStall, fromClient: Bool) {
        self.peer = peer
        self.proxy = proxy
        self.pairStalled = pairStalled
        self.fromClient = fromClient
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Self.unwrapInboundIn(data)
        if fromClient, proxy.stallOnListen.withLock({ $0 }), String(buffer: bytes).contains("LISTEN") {
            pairStalled.flag.withLock { $0 = true }
        }
        guard !proxy.stalled.withLock({ $0 }), !pairStalled.flag.withLock({ $0 }) else { return }
        peer.writeAndFlush(bytes, promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        peer.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

private final class PairStall: Sendable {
    let flag = Mutex(false)
}
