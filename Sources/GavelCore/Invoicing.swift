import Foundation

/// The buyer's invoice for a sold lot (domain rules section 7).
public struct InvoiceTerms: Equatable, Sendable {
    public var price: Int64
    public var buyerPremium: Int64
    public var docFee: Int64
    public var total: Int64
    public var depositApplied: Int64
    public var amountDue: Int64

    public init(price: Int64, buyerPremium: Int64, docFee: Int64, total: Int64, depositApplied: Int64, amountDue: Int64) {
        self.price = price
        self.buyerPremium = buyerPremium
        self.docFee = docFee
        self.total = total
        self.depositApplied = depositApplied
        self.amountDue = amountDue
    }

    /// `buyerPremium = clamp(mulBp(price, bp), min, max)`, `total = price + premium +
    /// docFee`, the deposit applied (never more than the total), `amountDue = total -
    /// deposit`. Nil when an amount would leave the bounds of section 1.
    public static func forSale(price: Int64, deposit: Int64, fees: Policy.Fees) -> InvoiceTerms? {
        guard Money.isInRange(price), Money.isInRange(deposit), let premium = Money.mulBp(price, fees.buyerPremiumBp) else {
            return nil
        }
        let buyerPremium = min(max(premium, fees.buyerPremiumMin), fees.buyerPremiumMax)
        let total = price + buyerPremium + fees.docFee
        guard Money.isInRange(total) else { return nil }
        let applied = min(deposit, total)
        return InvoiceTerms(
            price: price, buyerPremium: buyerPremium, docFee: fees.docFee, total: total, depositApplied: applied,
            amountDue: total - applied)
    }

    /// The auction's seller fee, a case expense once the invoice is paid in full.
    public static func sellerFee(price: Int64, fees: Policy.Fees) -> Int64 {
        Money.mulBp(price, fees.sellerFeeBp) ?? 0
    }
}

/// An invoice's state as payments arrive.
public struct InvoiceBalance: Equatable, Sendable {
    public enum Status: String, Sendable, CaseIterable {
        case open, paid, defaulted
    }

    public var amountDue: Int64
    public var paid: Int64
    public var status: Status

    public init(amountDue: Int64, paid: Int64, status: Status) {
        self.amountDue = amountDue
        self.paid = paid
        self.status = status
    }

    public var outstanding: Int64 { amountDue - paid }

    public enum PaymentRefusal: Error, Equatable, Sendable {
        case notOpen(Status)
        case overpayment(outstanding: Int64)
        case notPositive
    }

    /// Applies a payment: partial payments are fine, more than is outstanding is not.
    public func paying(_ amount: Int64) -> Result<InvoiceBalance, PaymentRefusal> {
        guard status == .open else { return .failure(.notOpen(status)) }
        guard amount > 0 else { return .failure(.notPositive) }
        guard amount <= outstanding else { return .failure(.overpayment(outstanding: outstanding)) }
        let paid = self.paid + amount
        return .success(InvoiceBalance(amountDue: amountDue, paid: paid, status: paid == amountDue ? .paid : .open))
    }
}
