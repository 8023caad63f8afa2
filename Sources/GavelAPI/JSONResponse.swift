import Foundation
import GavelStore
import GavelCore
import Hummingbird
import HTTPTypes

/// A JSON answer before it becomes a `Response`; idempotent POSTs store it as it is.
struct JSONResponse: Sendable {
    var status: HTTPResponse.Status
    var body: String
    /// What a replay of this answer (same Idempotency-Key) is sent instead, when the
    /// answer holds a secret that is shown once: the stored answer must not hold it.
    var replayBody: String?

    init<Answer: Encodable>(_ status: HTTPResponse.Status, _ value: Answer, replay: Answer? = nil) {
        self.status = status
        self.body = JSONText.encode(value)
        self.replayBody = replay.map(JSONText.encode)
    }

    init(status: HTTPResponse.Status, body: String) {
        self.status = status
        self.body = body
    }

    var response: Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
