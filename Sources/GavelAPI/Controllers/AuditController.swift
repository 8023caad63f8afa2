import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import Hummingbird

struct AuditController: Sendable {
    let database: Database

    /// GET /v1/audit?entityId=: the append-only trail, oldest first.
    func list(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let page = try Page.from(request)
        let entityId = try Page.uuid(request, "entityId")
        // Through the database's lease, so an outage answers 503 on time here too.
        let entries = try await Desk(database: database).readMayLag(for: caller, logger: context.logger) { session in
            try await AuditTrail().entries(entityId: entityId, afterSeq: page.after, limit: page.limit, in: session)
        }
        return JSONResponse(.ok, DTO.page(
            entries.map(AuditEntryAnswer.init), nextCursor: page.nextCursor(lastSequence: entries.last?.seq, count: entries.count))
        ).response
    }
}
