import Foundation
import GavelCore
import GavelWorkflows
import Hummingbird

/// Notices of disposition (domain rules section 11), kept with the cases they belong to.
extension CasesController {
    /// POST /v1/cases/{id}/notices: `{lang?, disposeAfter?}` -> 201 the notices sent, one
    /// per party.
    func sendNotices(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let caseId = try context.parameters.uuid("id")
        let (body, bytes) = try await JSONBody.object(request)
        var errors: [FieldError] = []
        let language = body.choice("lang", DocumentLanguage.self, required: false, errors: &errors) ?? .en
        let disposeAfter = body.date("disposeAfter", required: false, errors: &errors)
        guard errors.isEmpty else { throw ValidationFailure(errors) }
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            JSONResponse(.created, try await Notices().send(
                caseId: caseId, language: language.rawValue, disposeAfter: disposeAfter, by: caller, in: session))
        }
    }

    /// GET /v1/notices/{id}: the notice as a printable page in the language it was
    /// rendered in; its facts as JSON with `Accept: application/json`.
    func notice(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let notice = try await Desk(database: database).read(logger: context.logger) { session in
            try await Notices().find(id: id, for: caller, in: session)
        }
        let accept = request.headers[.accept]?.lowercased() ?? ""
        if accept.contains("application/json") && !accept.contains("text/html") {
            return JSONResponse(.ok, NoticeDocument.Record(notice)).response
        }
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: NoticeDocument.html(notice))))
    }
}
