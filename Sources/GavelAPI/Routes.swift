import GavelCore
import Hummingbird

/// Every route of Gavel with who may call it: the role matrix, readable in one place.
extension RouteBuilder {
    mutating func addRoutes(
        system: SystemController, users: UsersController, consignors: ConsignorsController, audit: AuditController,
        cases: CasesController, vehicles: VehiclesController, appraisals: AppraisalsController, lots: LotsController,
        bidding: BiddingController, events: LotEventsController, money: MoneyController,
        reconciliation: ReconciliationController, settlement: SettlementController, ends: CaseEndsController,
        reports: ReportsController
    ) {
        let staff = Access.only(.admin, .manager, .appraiser, .finance)
        let anyRole = Access.roles(Set(Role.allCases))

        add(.get, "/health", system.health)
        add(.get, "/ready", system.ready)
        add(.get, "/metrics", system.prometheus)
        add(.get, "/openapi.yaml", system.openAPI)

        add(.post, "/v1/users", .only(.admin), users.create)
        add(.get, "/v1/users", .only(.admin), users.list)
        add(.post, "/v1/users/{id}/revoke", .only(.admin), users.revoke)
        add(.get, "/v1/me", anyRole, users.me)
        add(.post, "/v1/bidders/{id}/verification", .only(.finance, .admin), users.verify)

        add(.post, "/v1/consignors", .only(.admin), consignors.create)
        add(.get, "/v1/consignors", .only(.admin), consignors.list)
        add(.get, "/v1/consignors/{id}", .only(.admin, .manager), consignors.get)
        add(.get, "/v1/consignors/{id}/remittance", .only(.finance, .admin, .manager), consignors.remittance)
        add(.patch, "/v1/consignors/{id}/policy", .only(.admin), consignors.updatePolicy)

        add(.post, "/v1/cases", .only(.manager, .admin), cases.create)
        add(.post, "/v1/cases/import", .only(.manager, .admin), cases.importCases)
        add(.get, "/v1/cases", .only(.manager, .finance, .admin), cases.list)
        add(.get, "/v1/cases/{id}", .only(.manager, .finance, .admin), cases.get)
        add(.patch, "/v1/cases/{id}", .only(.manager, .admin), cases.change)
        add(.post, "/v1/cases/{id}/vehicles", .only(.manager, .admin), cases.addVehicle)
        add(.post, "/v1/cases/{id}/notices", .only(.manager, .admin), cases.sendNotices)
        add(.get, "/v1/notices/{id}", .only(.manager, .admin), cases.notice)

        add(.get, "/v1/vehicles/{id}", staff, vehicles.get)
        add(.post, "/v1/vehicles/{id}/appraisals", .only(.appraiser, .manager, .admin), vehicles.appraise)
        add(.post, "/v1/appraisals/{id}/approve", .only(.manager, .admin), appraisals.approve)
        add(.post, "/v1/appraisals/{id}/reject", .only(.manager, .admin), appraisals.reject)

        add(.post, "/v1/lots", .only(.manager, .admin), lots.create)
        add(.get, "/v1/lots", anyRole, lots.list)
        add(.get, "/v1/lots/{id}", anyRole, lots.get)
        add(.post, "/v1/lots/{id}/relist", .only(.manager, .admin), lots.relist)
        add(.post, "/v1/lots/{id}/decision", .only(.manager, .admin), lots.decide)
        add(.post, "/v1/lots/{id}/deposits", .only(.finance, .admin), bidding.recordDeposit)
        add(.get, "/v1/deposits", .only(.finance, .admin, .bidder), bidding.listDeposits)
        add(.post, "/v1/lots/{id}/bids", .only(.bidder), bidding.placeBid)
        add(.get, "/v1/lots/{id}/bids", anyRole, bidding.history)
        add(.get, "/v1/lots/{id}/events", anyRole, events.stream)
        add(.get, "/v1/board/events", anyRole, events.board)
        add(.get, "/v1/lots/{id}/invoice", .only(.bidder, .finance, .admin), money.invoice)
        add(.get, "/v1/lots/{id}/confirmation", anyRole, money.confirmation)
        add(.post, "/v1/invoices/{id}/payments", .only(.finance, .admin), money.pay)
        add(.post, "/v1/invoices/{id}/default", .only(.finance, .admin), money.declareDefault)
        add(.post, "/v1/deposits/{id}/refund", .only(.finance, .admin), money.refundDeposit)
        add(.post, "/v1/cases/{id}/expenses", .only(.finance, .manager, .admin), money.recordExpense)
        add(.get, "/v1/cases/{id}/expenses", .only(.finance, .manager, .admin), money.listExpenses)
        add(.get, "/v1/invoices", .only(.finance, .admin, .bidder), money.listInvoices)
        add(.get, "/v1/ledger/trial-balance", .only(.finance, .admin), money.trialBalance)
        add(.get, "/v1/ledger/entries", .only(.finance, .admin), money.entries)
        add(.post, "/v1/reconciliation/bank-lines", .only(.finance, .admin), reconciliation.upload)
        add(.post, "/v1/cases/{id}/settlement", .only(.finance, .admin), settlement.settle)
        add(.get, "/v1/cases/{id}/settlement", .only(.finance, .manager, .admin), settlement.statement)
        add(.get, "/v1/surplus-refunds", .only(.finance, .admin), settlement.listRefunds)
        add(.post, "/v1/surplus-refunds/{id}/pay", .only(.finance, .admin), settlement.payRefund)
        add(.get, "/v1/deficiency-claims", .only(.finance, .admin), settlement.listClaims)
        add(.post, "/v1/deficiency-claims/{id}/recoveries", .only(.finance, .admin), settlement.recordRecovery)
        add(.post, "/v1/deficiency-claims/{id}/write-off", .only(.finance, .admin), settlement.writeOff)

        // Every case to an end, and the money out (domain rules section 10).
        add(.post, "/v1/lots/{id}/cancel", .only(.manager, .admin), ends.cancelLot)
        add(.get, "/v1/vehicles", staff, ends.listVehicles)
        add(.post, "/v1/vehicles/{id}/return", .only(.manager, .admin), ends.returnVehicle)
        add(.post, "/v1/cases/{id}/reopen", .only(.finance, .admin), ends.reopen)
        add(.get, "/v1/cases/{id}/payoff", .only(.manager, .finance, .admin), ends.payoff)
        add(.post, "/v1/cases/{id}/redemption", .only(.finance, .admin), ends.redeem)
        add(.post, "/v1/cases/{id}/borrower-payments", .only(.finance, .admin), ends.borrowerPayment)
        add(.post, "/v1/cases/{id}/consignor-payments", .only(.finance, .admin), ends.consignorPayment)
        add(.get, "/v1/cases/{id}/payments", .only(.manager, .finance, .admin), ends.casePayments)
        add(.get, "/v1/payables", .only(.finance, .admin), ends.payables)
        add(.post, "/v1/payouts", .only(.finance, .admin), ends.pay)
        add(.get, "/v1/payouts", .only(.finance, .admin), ends.listPayouts)

        add(.get, "/v1/reports/pipeline", .only(.manager, .finance, .admin), reports.pipeline)
        add(.get, "/v1/reports/recovery", .only(.manager, .finance, .admin), reports.recovery)

        add(.get, "/v1/audit", .only(.admin), audit.list)
    }
}
