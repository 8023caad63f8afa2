import Foundation
import GavelCore
import GavelStore

/// The sale confirmation (成交确认书, domain rules section 11): what was sold, to whom, at
/// what price, and on what payment terms. The winner and staff read it; the buyer is named
/// by its verified legal name where it has one (under `prc-judicial` the buyer's real name
/// is published, SPC 2016 rules), else by its account name.
public struct Confirmations: Sendable {
    public init() {}

    public func confirmation(lotId: UUID, for caller: Caller, in session: Session) async throws -> ConfirmationAnswer {
        let connection = session.connection
        let logger = session.logger
        guard let lot = try await LotRepository.find(id: lotId, on: connection, logger: logger) else {
            throw Refusal.notFound("no lot \(lotId.uuidString.lowercased())")
        }
        try Scope.ensureVisible(consignorId: lot.consignorId, to: caller, what: "lot \(lotId.uuidString.lowercased())")
        guard let invoice = try await InvoiceRepository.find(lotId: lotId, on: connection, logger: logger) else {
            throw Refusal.notFound("lot \(lotId.uuidString.lowercased()) was not sold")
        }
        if caller.role == .bidder && invoice.bidderId != caller.user.id {
            // Another bidder learns nothing of a sale it did not win (as a missing lot).
            throw Refusal.notFound("no confirmation for lot \(lotId.uuidString.lowercased())")
        }
        guard let (vehicle, _) = try await VehicleRepository.find(id: lot.vehicleId, on: connection, logger: logger),
              let consignor = try await ConsignorRepository.find(id: lot.consignorId, on: connection, logger: logger),
              let stored = try await CaseRepository.find(id: vehicle.caseId, on: connection, logger: logger)
        else { throw Refusal.notFound("no lot \(lotId.uuidString.lowercased())") }
        let identity = try await BidderVerificationRepository.find(bidderId: invoice.bidderId, on: connection, logger: logger)
        let account = try await UserRepository.name(of: invoice.bidderId, on: connection, logger: logger)
        return ConfirmationAnswer(
            lot: lot, invoice: invoice, vehicle: vehicle, lender: consignor.name, loanNumber: stored.loanCase.loanNumber,
            ruleset: consignor.policy.ruleset, buyerName: identity?.legalName ?? account ?? "", verified: identity != nil)
    }
}

public struct ConfirmationAnswer: Encodable, Sendable {
    public struct Vehicle: Encodable, Sendable {
        public var vin: String
        public var description: String
    }

    public struct Buyer: Encodable, Sendable {
        public var id: String
        /// Its verified legal name, else its account name.
        public var name: String
        public var verified: Bool
    }

    public var lotId: String
    public var round: Int64
    public var ruleset: String
    public var lender: String
    public var loanNumber: String
    public var vehicle: Vehicle
    public var buyer: Buyer
    /// Under `prc-judicial` the buyer's name is published with the result.
    public var buyerNamePublished: Bool
    public var currency: String
    public var price: Int64
    public var buyerPremium: Int64
    public var docFee: Int64
    public var total: Int64
    public var depositApplied: Int64
    public var amountDue: Int64
    public var dueAt: String
    public var invoiceStatus: String

    init(
        lot: Lot, invoice: StoredInvoice, vehicle: GavelCore.Vehicle, lender: String, loanNumber: String, ruleset: Policy.Ruleset,
        buyerName: String, verified: Bool
    ) {
        lotId = lot.id.answer
        round = lot.round
        self.ruleset = ruleset.rawValue
        self.lender = lender
        self.loanNumber = loanNumber
        self.vehicle = Vehicle(vin: vehicle.vin.value, description: "\(vehicle.year) \(vehicle.make) \(vehicle.model)")
        buyer = Buyer(id: invoice.bidderId.answer, name: buyerName, verified: verified)
        buyerNamePublished = ruleset == .prcJudicial
        currency = invoice.currency
        price = invoice.terms.price
        buyerPremium = invoice.terms.buyerPremium
        docFee = invoice.terms.docFee
        total = invoice.terms.total
        depositApplied = invoice.terms.depositApplied
        amountDue = invoice.terms.amountDue
        dueAt = invoice.dueAt.rfc3339
        invoiceStatus = invoice.status.rawValue
    }
}
