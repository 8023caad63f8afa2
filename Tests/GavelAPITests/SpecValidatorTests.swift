import Testing

/// The check every harness answer goes through must itself catch drift.
@Suite("Answers are checked against Docs/openapi.yaml")
struct SpecValidatorTests {
    let spec = SpecValidator.shared
    let deposit = #"{"id": "9b2f6a4e-4a52-4b8c-9d3e-2f1c1a0b9c8d", "lotId": "9b2f6a4e-4a52-4b8c-9d3e-2f1c1a0b9c8e", "bidderId": "9b2f6a4e-4a52-4b8c-9d3e-2f1c1a0b9c8f", "amount": 590000, "currency": "CNY", "reference": "BANK-1", "status": "held"}"#

    func check(_ body: String, status: Int = 201, type: String = "application/json") -> [String] {
        spec.problems(
            method: "POST", path: "/v1/lots/9b2f6a4e-4a52-4b8c-9d3e-2f1c1a0b9c8e/deposits", status: status, contentType: type, body: body)
    }

    @Test("a deposit as the spec gives it passes; each kind of drift is named")
    func drift() {
        #expect(check(deposit) == [])
        #expect(check(deposit.replacingOccurrences(of: #""amount": 590000"#, with: #""amount": "590000""#)) == [
            "$.amount should be integer: \"590000\""])
        #expect(check(deposit.replacingOccurrences(of: #""status": "held""#, with: #""status": "kept""#)).first?
            .hasPrefix("$.status is kept, not one of") == true)
        #expect(check(deposit.replacingOccurrences(of: #", "reference": "BANK-1""#, with: "")) == [
            "$.reference is required and missing"])
        #expect(check(deposit.replacingOccurrences(of: #""currency": "CNY""#, with: #""currency": "CNY", "maximum": 1"#)) == [
            "$.maximum is not in the spec"])
        #expect(check(deposit.replacingOccurrences(of: "9b2f6a4e-4a52-4b8c-9d3e-2f1c1a0b9c8d", with: "not-a-uuid")) == [
            "$.id is not a lowercase UUID: not-a-uuid"])
        #expect(check(deposit, status: 299) == ["status 299 is not in the spec for this operation"])
    }

    @Test("a problem is checked against Problem wherever the spec says no more, its extensions included")
    func problems() {
        let problem = #"{"type": "https://gavel.example/problems/x", "title": "T", "status": 503, "detail": "d", "code": "service-unavailable", "requestId": "r"}"#
        #expect(check(problem, status: 503, type: "application/problem+json") == [])
        #expect(check(problem.replacingOccurrences(of: #""code": "service-unavailable", "#, with: ""), status: 503,
                      type: "application/problem+json") == ["$.code is required and missing"])
        #expect(check(#"{"a": 1}"#, status: 503, type: "application/problem+json").contains("$.a is not in the spec"))
    }
}
