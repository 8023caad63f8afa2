import Foundation
import GavelCore
import GavelStore
import Mustache

/// The settlement statement as CSV for finance's spreadsheets and as a printable page a
/// borrower could be sent, both made from its JSON (`StatementJSON`, stored as issued).
enum StatementDocument {
    static func integer(_ value: JSONValue?) -> Int64 { if case .integer(let n) = value { n } else { 0 } }
    static func text(_ value: JSONValue?) -> String { if case .string(let s) = value { s } else { "" } }

    /// `section,item,amount`, one row per line of the statement, amounts in minor units.
    static func rows(_ body: JSONValue) -> [[String]] {
        var rows: [[String]] = [["section", "item", "amount"]]
        for key in ["fees", "interest", "principal", "total"] {
            rows.append(["obligation", key, String(integer(body["obligation"]?[key]))])
        }
        for key in ["hammer", "forfeitedDeposits", "total"] { rows.append(["proceeds", key, String(integer(body["proceeds"]?[key]))]) }
        for expense in body["expenses"]?.elements ?? [] { rows.append(["expense", text(expense["kind"]), String(integer(expense["amount"]))]) }
        rows.append(["expenses", "total", String(integer(body["expensesTotal"]))])
        for credit in body["credits"]?.elements ?? [] { rows.append(["credit", text(credit["label"]), String(integer(credit["amount"]))]) }
        for step in body["allocation"]?.elements ?? [] { rows.append(["allocation", text(step["bucket"]), String(integer(step["amount"]))]) }
        for junior in body["juniorDistributions"]?.elements ?? [] {
            rows.append(["junior", text(junior["name"]), String(integer(junior["amount"]))])
        }
        rows.append(["result", "surplus", String(integer(body["surplus"]))])
        rows.append(["result", "deficiency", String(integer(body["deficiency"]))])
        for line in body["explanation"]?.elements ?? [] {
            rows.append(["explanation", "\(integer(line["line"])). \(text(line["label"]))", String(integer(line["amount"]))])
        }
        return rows
    }

    static func csv(_ body: JSONValue) throws -> String { try CSVDocument.render(rows(body)) }

    /// The printable page. Mustache escapes every `{{field}}`, so a name such as
    /// `<script>` prints as text.
    static func html(_ body: JSONValue) -> String {
        let currency = text(body["currency"])
        func money(_ value: JSONValue?) -> String { "\(Money.display(integer(value))) \(currency)" }
        let deficiency = integer(body["deficiency"])
        let context: [String: Any] = [
            "lender": text(body["lender"]), "loanNumber": text(body["loanNumber"]),
            "borrower": text(body["borrower"]?["name"]), "settlementDate": text(body["settlementDate"]),
            "liability": liability(borrower: text(body["borrower"]?["name"]),
                                   guarantors: (body["guarantors"]?.elements ?? []).map { text($0["name"]) }),
            "vehicles": (body["vehicles"]?.elements ?? []).map { vehicle -> [String: Any] in
                ["vin": text(vehicle["vin"]), "description": text(vehicle["description"]),
                 "saleDate": text(vehicle["saleDate"]).isEmpty ? "-" : text(vehicle["saleDate"]),
                 "price": vehicle["price"] == .null ? "-" : money(vehicle["price"])]
            },
            "explanation": (body["explanation"]?.elements ?? []).map { line -> [String: Any] in
                ["line": String(integer(line["line"])), "label": text(line["label"]), "amount": money(line["amount"])]
            },
            "expenses": (body["expenses"]?.elements ?? []).map { ["kind": text($0["kind"]), "amount": money($0["amount"])] },
            "allocation": (body["allocation"]?.elements ?? []).map { ["bucket": text($0["bucket"]), "amount": money($0["amount"])] },
            "juniors": (body["juniorDistributions"]?.elements ?? []).map { ["name": text($0["name"]), "amount": money($0["amount"])] },
            "isDeficiency": deficiency > 0,
            "surplus": money(body["surplus"]), "deficiency": money(body["deficiency"]),
        ]
        return template.render(context)
    }

    /// Who answers for the deficiency, as one sentence: "A is liable", or "A and the
    /// guarantors B and C are jointly liable".
    static func liability(borrower: String, guarantors: [String]) -> String {
        guard let last = guarantors.last else { return "\(borrower) is liable for the deficiency." }
        let names = guarantors.count == 1 ? last : guarantors.dropLast().joined(separator: ", ") + " and " + last
        let noun = guarantors.count == 1 ? "the guarantor" : "the guarantors"
        return "\(borrower) and \(noun) \(names) are jointly liable for the deficiency."
    }

    // The template is a constant that parses; a failure here is a programming error
    // caught by the first test that renders a page.
    static let template = try! MustacheTemplate(string: """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>Settlement statement {{loanNumber}}</title>
        <style>body{font-family:serif;max-width:46rem;margin:2rem auto}table{border-collapse:collapse;width:100%}
        td,th{border-bottom:1px solid #ccc;padding:.3rem;text-align:left}td.amount{text-align:right}
        @media print{body{margin:0}}</style></head>
        <body>
        <h1>Explanation of surplus or deficiency</h1>
        <p>Lender: <strong>{{lender}}</strong><br>Loan: {{loanNumber}}<br>Borrower: <strong>{{borrower}}</strong><br>
        Settlement date: {{settlementDate}}</p>
        <h2>Vehicles</h2>
        <table><tr><th>VIN</th><th>Vehicle</th><th>Sale date</th><th>Sale price</th></tr>
        {{#vehicles}}<tr><td>{{vin}}</td><td>{{description}}</td><td>{{saleDate}}</td><td class="amount">{{price}}</td></tr>
        {{/vehicles}}</table>
        <h2>Explanation</h2>
        <table>{{#explanation}}<tr><td>{{line}}.</td><td>{{label}}</td><td class="amount">{{amount}}</td></tr>
        {{/explanation}}</table>
        <h2>Expenses</h2>
        <table>{{#expenses}}<tr><td>{{kind}}</td><td class="amount">{{amount}}</td></tr>
        {{/expenses}}</table>
        <h2>How the proceeds were applied</h2>
        <table>{{#allocation}}<tr><td>{{bucket}}</td><td class="amount">{{amount}}</td></tr>
        {{/allocation}}{{#juniors}}<tr><td>junior lienholder: {{name}}</td><td class="amount">{{amount}}</td></tr>
        {{/juniors}}</table>
        {{#isDeficiency}}<h2>Deficiency: {{deficiency}}</h2>
        <p>{{liability}}</p>{{/isDeficiency}}
        {{^isDeficiency}}<h2>Surplus: {{surplus}}</h2><p>The surplus is payable to {{borrower}}.</p>{{/isDeficiency}}
        </body></html>
        """)
}
