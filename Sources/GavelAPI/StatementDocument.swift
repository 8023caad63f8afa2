import Foundation
import GavelCore
import GavelStore
import Mustache

/// The language a document is printed in (`?lang=`): English, or Chinese as a PRC
/// disposal department writes it.
enum DocumentLanguage: String, CaseIterable, Sendable {
    case en
    case zhCN = "zh-CN"

    /// `?lang=` of the request; absent is English, anything else a 422.
    static func from(_ query: Substring?) throws -> DocumentLanguage {
        guard let query else { return .en }
        guard let language = DocumentLanguage(rawValue: String(query)) else {
            throw ValidationFailure([FieldError(field: "lang", message: "must be en or zh-CN")])
        }
        return language
    }
}

/// The settlement statement as JSON in either language, as CSV for finance's
/// spreadsheets and as a printable page a borrower could be sent: all made from the
/// statement as issued (`StatementJSON`, stored), whose English labels are its record.
enum StatementDocument {
    static func integer(_ value: JSONValue?) -> Int64 { if case .integer(let n) = value { n } else { 0 } }
    static func text(_ value: JSONValue?) -> String { if case .string(let s) = value { s } else { "" } }

    // MARK: - Words

    /// What Chinese statements call each line (处置结算单: the explanation of surplus or
    /// deficiency), by the line's key.
    static func chineseLabel(_ key: String, body: JSONValue) -> String? {
        let asOf = text(body["obligation"]?["asOf"]), interestTo = text(body["interestTo"])
        return switch key {
        case "obligation": "截至\(asOf)的担保债务总额"
        case "interest-accrued": "\(asOf)至\(interestTo)期间的应计利息"
        case "borrower-payments": "处置前债务人已偿还的款项"
        case "proceeds": "处置担保物所得价款"
        case "after-proceeds": "扣除处置所得后的债务余额"
        case "expenses": "取回、保管、整备及处置担保物的费用"
        case "credits": "债务人有权抵扣的款项"
        case "juniors-paid": "向后顺位担保权人支付的款项"
        case "surplus": "剩余款退还"
        case "deficiency": "差额追偿"
        default: nil
        }
    }

    static let chineseExpenseKinds: [String: String] = [
        "repossession": "收车费", "transport": "运输费", "storage": "保管费", "reconditioning": "整备费",
        "appraisal": "评估费", "seller-fee": "拍卖佣金", "legal": "法律费用", "other": "其他费用",
    ]

    static let chineseBuckets: [String: String] = [
        "expenses": "处置费用", "fees": "费用", "interest": "利息", "principal": "本金", "junior": "后顺位担保权人",
        "surplus": "剩余款",
    ]

    static let chineseDefaultContact = "本结算单所列债权人的资产处置部门"

    static let chineseMayChange = "今后发生的借记、贷记、费用（包括额外的信用服务费或利息）、返还及支出，可能影响剩余款或差额的金额。"
    static let chinesePaymentsInterest = "利息按本案日利率就结余日的债务计收；处置前债务人的还款在结算时从债务中扣除，不减少已计收的利息。"

    /// The statement in the asked language: English is the stored body as issued;
    /// Chinese has its labels and notices in Chinese, every amount the same.
    static func localized(_ body: JSONValue, _ language: DocumentLanguage) -> JSONValue {
        guard language == .zhCN, case .object(var members) = body else { return body }
        members["lang"] = .string(language.rawValue)
        members["explanation"] = .array((body["explanation"]?.elements ?? []).map { line in
            guard case .object(var fields) = line, let label = chineseLabel(text(line["key"]), body: body) else { return line }
            fields["label"] = .string(label)
            return .object(fields)
        })
        if case .object(var notices)? = body["notices"] {
            notices["mayChange"] = .string(chineseMayChange)
            if notices["contact"] == .string(Policy.Settlement.defaultContact) { notices["contact"] = .string(chineseDefaultContact) }
            if notices["interest"] != nil { notices["interest"] = .string(chinesePaymentsInterest) }
            members["notices"] = .object(notices)
        }
        return .object(members)
    }

    // MARK: - CSV

    /// The header block naming the statement.
    static func headerRows(_ body: JSONValue, _ language: DocumentLanguage) -> [[String]] {
        let zh = language == .zhCN
        return [
            [zh ? "处置结算单" : "Settlement statement"],
            [zh ? "案件编号" : "case", text(body["caseId"])],
            [zh ? "贷款合同号" : "loan number", text(body["loanNumber"])],
            [zh ? "币种" : "currency", text(body["currency"])],
            [zh ? "结算日期" : "settlement date", text(body["settlementDate"])],
            [zh ? "利息计至" : "interest to", text(body["interestTo"])],
        ]
    }

    /// `section,item,amount`, one row per line of the statement, amounts in minor units.
    static func rows(_ body: JSONValue, _ language: DocumentLanguage) -> [[String]] {
        var rows: [[String]] = [["section", "item", "amount"]]
        for key in ["fees", "interest", "principal", "total"] {
            rows.append(["obligation", key, String(integer(body["obligation"]?[key]))])
        }
        for key in ["hammer", "forfeitedDeposits", "redemption", "total"] {
            rows.append(["proceeds", key, String(integer(body["proceeds"]?[key]))])
        }
        for expense in body["expenses"]?.elements ?? [] { rows.append(["expense", text(expense["kind"]), String(integer(expense["amount"]))]) }
        rows.append(["expenses", "total", String(integer(body["expensesTotal"]))])
        for credit in body["credits"]?.elements ?? [] { rows.append(["credit", text(credit["label"]), String(integer(credit["amount"]))]) }
        for step in body["allocation"]?.elements ?? [] { rows.append(["allocation", text(step["bucket"]), String(integer(step["amount"]))]) }
        for junior in body["juniorDistributions"]?.elements ?? [] {
            rows.append(["junior", text(junior["name"]), String(integer(junior["amount"]))])
        }
        rows.append(["result", "surplus", String(integer(body["surplus"]))])
        rows.append(["result", "deficiency", String(integer(body["deficiency"]))])
        for line in localized(body, language)["explanation"]?.elements ?? [] {
            rows.append(["explanation", "\(integer(line["line"])). \(text(line["label"]))", String(integer(line["amount"]))])
        }
        return rows
    }

    /// The header block, a blank line, the table.
    static func csv(_ body: JSONValue, _ language: DocumentLanguage) throws -> String {
        try CSVDocument.render(headerRows(body, language)) + "\n" + CSVDocument.render(rows(body, language))
    }

    // MARK: - The printable page

    /// The printable page. Mustache escapes every `{{field}}`, so a name such as
    /// `<script>` prints as text.
    static func html(_ body: JSONValue, _ language: DocumentLanguage) -> String {
        let zh = language == .zhCN
        let shown = localized(body, language)
        let currency = text(body["currency"])
        func money(_ value: JSONValue?) -> String { "\(Money.display(integer(value))) \(currency)" }
        let deficiency = integer(body["deficiency"])
        let borrower = text(body["borrower"]?["name"])
        let guarantors = (body["guarantors"]?.elements ?? []).map { guarantor in
            (name: text(guarantor["name"]), type: text(guarantor["guaranteeType"]).isEmpty ? "general" : text(guarantor["guaranteeType"]),
             cap: guarantor["cap"].flatMap { if case .integer(let cap) = $0 { money(.integer(cap)) } else { nil } })
        }
        let context: [String: Any] = [
            "lang": zh ? "zh-CN" : "en",
            "t": zh ? chineseWords : englishWords,
            "lender": text(body["lender"]), "loanNumber": text(body["loanNumber"]),
            "borrower": borrower, "surplusPayee": text(body["surplusPayee"]).isEmpty ? borrower : text(body["surplusPayee"]),
            "settlementDate": text(body["settlementDate"]), "interestTo": text(body["interestTo"]),
            "liability": zh ? chineseLiability(borrower: borrower, guarantors: guarantors)
                : liability(borrower: borrower, guarantors: guarantors),
            "vehicles": (body["vehicles"]?.elements ?? []).map { vehicle -> [String: Any] in
                ["vin": text(vehicle["vin"]), "description": text(vehicle["description"]),
                 "saleDate": text(vehicle["saleDate"]).isEmpty ? "-" : text(vehicle["saleDate"]),
                 "price": vehicle["price"] == .null ? "-" : money(vehicle["price"])]
            },
            "explanation": (shown["explanation"]?.elements ?? []).map { line -> [String: Any] in
                ["line": String(integer(line["line"])), "label": text(line["label"]), "amount": money(line["amount"])]
            },
            "expenses": (body["expenses"]?.elements ?? []).map { expense -> [String: Any] in
                let kind = text(expense["kind"])
                return ["kind": zh ? chineseExpenseKinds[kind] ?? kind : kind, "amount": money(expense["amount"])]
            },
            "allocation": (body["allocation"]?.elements ?? []).map { step -> [String: Any] in
                let bucket = text(step["bucket"])
                return ["bucket": zh ? chineseBuckets[bucket] ?? bucket : bucket, "amount": money(step["amount"])]
            },
            "juniors": (body["juniorDistributions"]?.elements ?? []).map { ["name": text($0["name"]), "amount": money($0["amount"])] },
            "isDeficiency": deficiency > 0,
            "surplus": money(body["surplus"]), "deficiency": money(body["deficiency"]),
            "mayChange": text(shown["notices"]?["mayChange"]), "contact": text(shown["notices"]?["contact"]),
            "paymentsInterest": text(shown["notices"]?["interest"]),
        ]
        return template.render(context)
    }

    static let englishWords: [String: String] = [
        "title": "Explanation of surplus or deficiency", "lender": "Lender", "loan": "Loan", "borrower": "Borrower",
        "settlementDate": "Settlement date", "interestTo": "Interest to", "vehicles": "Vehicles", "vin": "VIN",
        "vehicle": "Vehicle", "saleDate": "Sale date", "salePrice": "Sale price", "explanation": "Explanation",
        "expenses": "Expenses", "allocation": "How the proceeds were applied", "junior": "junior lienholder",
        "deficiency": "Deficiency", "surplus": "Surplus", "surplusTo": "The surplus is payable to ", "stop": ".",
        "notices": "Notices", "contact": "For more information, contact", "colon": ": ",
    ]

    static let chineseWords: [String: String] = [
        "title": "处置结算单", "lender": "债权人", "loan": "贷款合同号", "borrower": "借款人",
        "settlementDate": "结算日期", "interestTo": "利息计至", "vehicles": "处置车辆", "vin": "车辆识别代号",
        "vehicle": "车辆", "saleDate": "成交日期", "salePrice": "成交价", "explanation": "剩余款或差额说明",
        "expenses": "处置费用", "allocation": "价款分配", "junior": "后顺位担保权人",
        "deficiency": "差额追偿", "surplus": "剩余款退还", "surplusTo": "剩余款应退还给", "stop": "。",
        "notices": "告知事项", "contact": "如需了解详情，请联系", "colon": "：",
    ]

    /// Who answers for the deficiency, each as the law holds them: the borrower; a joint
    /// guarantor alongside it; a general guarantor only for what the borrower cannot pay.
    static func liability(borrower: String, guarantors: [(name: String, type: String, cap: String?)]) -> String {
        var sentences = ["\(borrower) is liable for the deficiency."]
        for guarantor in guarantors {
            let limit = guarantor.cap.map { ", up to \($0)" } ?? ""
            sentences.append(guarantor.type == "joint"
                ? "\(guarantor.name), a joint and several guarantor, is liable with the borrower\(limit)."
                : "\(guarantor.name), a general guarantor, is liable only for what the borrower cannot pay\(limit).")
        }
        return sentences.joined(separator: " ")
    }

    static func chineseLiability(borrower: String, guarantors: [(name: String, type: String, cap: String?)]) -> String {
        var sentences = ["借款人\(borrower)对差额承担清偿责任。"]
        for guarantor in guarantors {
            let limit = guarantor.cap.map { "，以\($0)为限" } ?? ""
            sentences.append(guarantor.type == "joint"
                ? "保证人\(guarantor.name)承担连带责任保证责任\(limit)。"
                : "保证人\(guarantor.name)承担一般保证责任，仅对借款人不能清偿的部分承担责任\(limit)。")
        }
        return sentences.joined()
    }

    // The template is a constant that parses; a failure here is a programming error
    // caught by the first test that renders a page.
    static let template = try! MustacheTemplate(string: """
        <!DOCTYPE html>
        <html lang="{{lang}}"><head><meta charset="utf-8"><title>{{t.title}} {{loanNumber}}</title>
        <style>body{font-family:serif;max-width:46rem;margin:2rem auto}table{border-collapse:collapse;width:100%}
        td,th{border-bottom:1px solid #ccc;padding:.3rem;text-align:left}td.amount{text-align:right}
        @media print{body{margin:0}}</style></head>
        <body>
        <h1>{{t.title}}</h1>
        <p>{{t.lender}}{{t.colon}}<strong>{{lender}}</strong><br>{{t.loan}}{{t.colon}}{{loanNumber}}<br>{{t.borrower}}{{t.colon}}<strong>{{borrower}}</strong><br>
        {{t.settlementDate}}{{t.colon}}{{settlementDate}}<br>{{t.interestTo}}{{t.colon}}{{interestTo}}</p>
        <h2>{{t.vehicles}}</h2>
        <table><tr><th>{{t.vin}}</th><th>{{t.vehicle}}</th><th>{{t.saleDate}}</th><th>{{t.salePrice}}</th></tr>
        {{#vehicles}}<tr><td>{{vin}}</td><td>{{description}}</td><td>{{saleDate}}</td><td class="amount">{{price}}</td></tr>
        {{/vehicles}}</table>
        <h2>{{t.explanation}}</h2>
        <table>{{#explanation}}<tr><td>{{line}}.</td><td>{{label}}</td><td class="amount">{{amount}}</td></tr>
        {{/explanation}}</table>
        <h2>{{t.expenses}}</h2>
        <table>{{#expenses}}<tr><td>{{kind}}</td><td class="amount">{{amount}}</td></tr>
        {{/expenses}}</table>
        <h2>{{t.allocation}}</h2>
        <table>{{#allocation}}<tr><td>{{bucket}}</td><td class="amount">{{amount}}</td></tr>
        {{/allocation}}{{#juniors}}<tr><td>{{t.junior}}{{t.colon}}{{name}}</td><td class="amount">{{amount}}</td></tr>
        {{/juniors}}</table>
        {{#isDeficiency}}<h2>{{t.deficiency}}{{t.colon}}{{deficiency}}</h2>
        <p>{{liability}}</p>{{/isDeficiency}}
        {{^isDeficiency}}<h2>{{t.surplus}}{{t.colon}}{{surplus}}</h2><p>{{t.surplusTo}}{{surplusPayee}}{{t.stop}}</p>{{/isDeficiency}}
        <h2>{{t.notices}}</h2>
        <p>{{mayChange}}</p>{{#paymentsInterest}}<p>{{paymentsInterest}}</p>{{/paymentsInterest}}
        <p>{{t.contact}}{{t.colon}}{{contact}}</p>
        </body></html>
        """)
}
