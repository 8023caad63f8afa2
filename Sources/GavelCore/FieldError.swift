/// One reason an input was refused, named by the JSON path of the field it is about
/// (`pricing.startBp`, `errors[0].amount`). `rule` names the ruleset rule broken, if any.
public struct FieldError: Equatable, Sendable, Codable {
    public var field: String
    public var message: String
    public var code: Code?
    public var rule: String?

    /// A field error's own problem code (domain-rules.md); a 422 whose every error has the
    /// same one carries it instead of `validation-failed`.
    public enum Code: String, Sendable, Codable, CaseIterable {
        case amountOutOfRange = "amount-out-of-range"
        case invalidVIN = "invalid-vin"
        case insufficientComparables = "insufficient-comparables"
    }

    public init(field: String, message: String, code: Code? = nil, rule: String? = nil) {
        self.field = field
        self.message = message
        self.code = code
        self.rule = rule
    }
}

/// A request whose fields are wrong, all of them listed at once.
public struct ValidationFailure: Error, Equatable, Sendable {
    public var errors: [FieldError]
    public init(_ errors: [FieldError]) { self.errors = errors }
}
