import Foundation
import GavelWorkflows

/// The remittance advice as CSV for the lender's reconciliation: a header block naming
/// the lender and the period, a blank line, then one row per amount.
enum RemittanceDocument {
    static func csv(_ advice: RemittanceAnswer, _ language: DocumentLanguage) throws -> String {
        let zh = language == .zhCN
        let header: [[String]] = [
            [zh ? "回款通知单" : "Remittance advice"],
            [zh ? "债权人" : "lender", advice.consignor],
            [zh ? "币种" : "currency", advice.currency],
            [zh ? "期间" : "period", "\(advice.from) – \(advice.to)"],
        ]
        let words: [String: String] = zh
            ? ["proceeds": "处置所得", "expenses": "处置费用", "fees": "费用", "interest": "利息", "principal": "本金",
               "juniors": "后顺位担保权人", "surplus": "剩余款退还", "deficiency": "差额", "to lender": "应付债权人",
               "remitted": "已划付", "received": "债权人支付", "total": "合计"]
            : [:]
        func word(_ english: String) -> String { words[english] ?? english }
        var rows: [[String]] = [["section", "loan number", "item", "amount", "date", "reference"]]
        for item in advice.cases {
            for (name, amount) in [("proceeds", item.proceeds), ("expenses", item.expenses), ("fees", item.fees),
                                   ("interest", item.interest), ("principal", item.principal), ("juniors", item.juniors),
                                   ("surplus", item.surplus), ("deficiency", item.deficiency), ("to lender", item.toLender)] {
                rows.append(["case", item.loanNumber, word(name), String(amount), item.settlementDate, ""])
            }
        }
        for money in advice.remitted {
            rows.append(["remitted", money.loanNumber, word("remitted"), String(money.amount), money.date, money.reference])
        }
        for money in advice.receivedFromLender {
            rows.append(["received", money.loanNumber, word("received"), String(money.amount), money.date, money.reference])
        }
        rows.append(["total", "", word("to lender"), String(advice.totals.toLender), "", ""])
        rows.append(["total", "", word("remitted"), String(advice.totals.remitted), "", ""])
        rows.append(["total", "", word("received"), String(advice.totals.receivedFromLender), "", ""])
        return try CSVDocument.render(header) + "\n" + CSVDocument.render(rows)
    }
}
