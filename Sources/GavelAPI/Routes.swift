import Hummingbird

/// Every route of Gavel with who may call it: the role matrix, readable in one place.
extension RouteBuilder {
    mutating func addRoutes(
        system: SystemController, users: UsersController, consignors: ConsignorsController, audit: AuditController
    ) {
        add(.get, "/health", system.health)
        add(.get, "/ready", system.ready)
        add(.get, "/metrics", system.prometheus)
        add(.get, "/openapi.yaml", system.openAPI)

        add(.post, "/v1/users", .only(.admin), users.create)

        add(.post, "/v1/consignors", .only(.admin), consignors.create)
        add(.get, "/v1/consignors/{id}", .only(.admin, .manager), consignors.get)
        add(.patch, "/v1/consignors/{id}/policy", .only(.admin), consignors.updatePolicy)

        add(.get, "/v1/audit", .only(.admin), audit.list)
    }
}
