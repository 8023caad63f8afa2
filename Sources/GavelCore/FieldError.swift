/// One reason an input was refused, named by the JSON path of the field it is about
/// (`pricing.startBp`, `errors[0].amount`). `rule` names the ruleset rule broken, if any.
public struct FieldError: Equatable, Sendable, Codable {
    public var field: String
    public var message: String
    public var code: String?
    public var rule: String?

    public init(field: String, message: String, code: String? = nil, rule: String? = nil) {
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
