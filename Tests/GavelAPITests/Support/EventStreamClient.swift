import Foundation
import GavelCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A Server-Sent Events watcher over a bare socket, read by a thread of its own so a
/// test's waiting never blocks the threads the server under test runs on. It keeps
/// everything it received, so a test can assert on the exact frames and on what is
/// absent from them.
final class EventStreamClient: Sendable {
    struct Frame: Sendable, Equatable {
        var id: Int?
        var event: String?
        var data: String
        var isComment: Bool

        var json: JSONValue {
            get throws { try JSONDecoder().decode(JSONValue.self, from: Data(data.utf8)) }
        }
    }

    private struct State {
        var head = ""
        var frames: [Frame] = []
        var body = ""
        var ended = false
        /// When the stream ended, after it was opened.
        var endedAfter: Duration?
        /// The socket is still this client's: the reader has not closed it.
        var socketOpen = true
    }

    private let fd: Int32
    private let state = Mutex(State())
    private let opened = ContinuousClock.now

    init(port: Int, path: String, token: String?, lastEventID: String? = nil) throws {
        let connection = try RawHTTPConnection(port: port)
        fd = connection.fd
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        if let token { request += "Authorization: Bearer \(token)\r\n" }
        if let lastEventID { request += "Last-Event-ID: \(lastEventID)\r\n" }
        connection.send(request + "\r\n")
        let thread = Thread { [self] in self.read() }
        thread.start()
    }

    /// Status line and headers, once they arrived.
    var head: String { state.withLock { $0.head } }
    var frames: [Frame] { state.withLock { $0.frames } }
    var events: [Frame] { frames.filter { !$0.isComment && $0.event != nil } }
    /// Everything the body carried, as text, for leak checks.
    var body: String { state.withLock { $0.body } }
    /// The server ended the stream (or the connection dropped).
    var ended: Bool { state.withLock { $0.ended } }

    /// Polls until `condition` holds over the frames so far, or fails the wait.
    func wait(
        for what: String, within timeout: Duration = .seconds(15), _ condition: @escaping ([Frame]) -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(frames) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        let ended = state.withLock { $0.endedAfter }.map { "the stream ended \($0) after it opened" } ?? "the stream is still open"
        throw TestSetupError("waited \(timeout) for \(what); got \(frames) after \(head); \(ended)")
    }

    func waitUntilEnded(within timeout: Duration = .seconds(15)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if ended { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestSetupError("the stream did not end within \(timeout); got \(frames)")
    }

    /// Ends the stream from this side, if the reader has not already closed the socket.
    /// Under the same lock as the reader's close: once the number is closed, the kernel
    /// hands it to the next socket anyone in this process opens (a PostgreSQL connection,
    /// a server's listening socket), and a shutdown sent then would cut that one instead.
    /// Tests that ended their streams and then closed them did exactly that, failing
    /// whichever test ran beside them (D17).
    func close() {
        state.withLock { state in
            if state.socketOpen { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    private func read() {
        var raw = [UInt8]()
        var headDone = false
        var chunked = false
        var decoded = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        defer {
            let after = ContinuousClock.now - opened
            state.withLock {
                Glibc.close(fd)
                $0.socketOpen = false
                $0.ended = true
                $0.endedAfter = after
            }
        }
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
            if n <= 0 { return }
            raw += buffer[0..<n]
            if !headDone {
                guard let end = Self.find([13, 10, 13, 10], in: raw) else { continue }
                let head = String(decoding: raw[..<end], as: UTF8.self)
                state.withLock { $0.head = head }
                chunked = head.lowercased().contains("transfer-encoding: chunked")
                raw.removeFirst(end + 4)
                headDone = true
            }
            if chunked {
                // Take every complete chunk; a 0-size chunk ends the body.
                while let lineEnd = Self.find([13, 10], in: raw) {
                    guard let size = Int(String(decoding: raw[..<lineEnd], as: UTF8.self), radix: 16) else { return }
                    if size == 0 { parse(&decoded, final: true); return }
                    guard raw.count >= lineEnd + 2 + size + 2 else { break }
                    decoded += raw[(lineEnd + 2)..<(lineEnd + 2 + size)]
                    raw.removeFirst(lineEnd + 2 + size + 2)
                }
            } else {
                decoded += raw
                raw.removeAll()
            }
            parse(&decoded, final: false)
        }
    }

    /// Turns complete frames (ended by a blank line) into `Frame`s.
    private func parse(_ decoded: inout [UInt8], final: Bool) {
        while let end = Self.find([10, 10], in: decoded) {
            let text = String(decoding: decoded[..<end], as: UTF8.self)
            decoded.removeFirst(end + 2)
            var frame = Frame(id: nil, event: nil, data: "", isComment: false)
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix(":") { frame.isComment = true; frame.data = String(line.dropFirst()) }
                else if line.hasPrefix("id: ") { frame.id = Int(line.dropFirst(4)) }
                else if line.hasPrefix("event: ") { frame.event = String(line.dropFirst(7)) }
                else if line.hasPrefix("data: ") { frame.data = String(line.dropFirst(6)) }
            }
            state.withLock {
                $0.frames.append(frame)
                $0.body += text + "\n\n"
            }
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where Array(haystack[start..<(start + needle.count)]) == needle {
            return start
        }
        return nil
    }
}
