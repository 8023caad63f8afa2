import Foundation
import GavelCore
import GavelWorkflows
import Mustache

/// The sale confirmation (成交确认书) as a printable page, in English or Chinese. Mustache
/// escapes every field, so a name such as `<script>` prints as text.
enum ConfirmationDocument {
    static func html(_ confirmation: ConfirmationAnswer, _ language: DocumentLanguage) -> String {
        let zh = language == .zhCN
        func money(_ minor: Int64) -> String { "\(Money.display(minor)) \(confirmation.currency)" }
        let words: [String: String] = zh
            ? ["title": "成交确认书", "lender": "委托人", "loan": "贷款合同号", "lot": "拍品", "round": "拍卖轮次",
               "vehicle": "车辆", "vin": "车辆识别代号", "buyer": "买受人", "price": "成交价", "premium": "买方佣金",
               "docFee": "手续费", "total": "应付总额", "deposit": "已付保证金抵扣", "due": "尚需支付", "dueAt": "付款期限",
               "terms": "买受人应于付款期限前付清尚需支付的款项；逾期未付的，保证金不予退还，并不得再次参加该车辆的竞买。",
               "published": "依照司法拍卖规则，买受人的姓名或名称与成交结果一并公示。", "colon": "："]
            : ["title": "Sale confirmation", "lender": "Seller (lender)", "loan": "Loan", "lot": "Lot", "round": "Round",
               "vehicle": "Vehicle", "vin": "VIN", "buyer": "Buyer", "price": "Hammer price", "premium": "Buyer premium",
               "docFee": "Documentation fee", "total": "Total", "deposit": "Deposit applied", "due": "Amount due",
               "dueAt": "Payment due by",
               "terms": "The buyer pays the amount due by the time above; if it does not, its deposit is forfeited and it may not bid on this vehicle again.",
               "published": "Under the judicial auction rules the buyer's name is published with the result.", "colon": ": "]
        let context: [String: Any] = [
            "lang": zh ? "zh-CN" : "en", "t": words,
            "lender": confirmation.lender, "loanNumber": confirmation.loanNumber, "lotId": confirmation.lotId,
            "round": String(confirmation.round), "vehicle": confirmation.vehicle.description, "vin": confirmation.vehicle.vin,
            "buyer": confirmation.buyer.name, "price": money(confirmation.price), "premium": money(confirmation.buyerPremium),
            "docFee": money(confirmation.docFee), "total": money(confirmation.total), "deposit": money(confirmation.depositApplied),
            "due": money(confirmation.amountDue), "dueAt": confirmation.dueAt, "published": confirmation.buyerNamePublished,
        ]
        return template.render(context)
    }

    // A constant that parses; a failure is a programming error the first render shows.
    static let template = try! MustacheTemplate(string: """
        <!DOCTYPE html>
        <html lang="{{lang}}"><head><meta charset="utf-8"><title>{{t.title}} {{lotId}}</title>
        <style>body{font-family:serif;max-width:40rem;margin:2rem auto}td{padding:.3rem;border-bottom:1px solid #ccc}
        td.amount{text-align:right}@media print{body{margin:0}}</style></head>
        <body>
        <h1>{{t.title}}</h1>
        <table>
        <tr><td>{{t.lender}}</td><td>{{lender}}</td></tr>
        <tr><td>{{t.loan}}</td><td>{{loanNumber}}</td></tr>
        <tr><td>{{t.lot}}</td><td>{{lotId}}</td></tr>
        <tr><td>{{t.round}}</td><td>{{round}}</td></tr>
        <tr><td>{{t.vehicle}}</td><td>{{vehicle}}</td></tr>
        <tr><td>{{t.vin}}</td><td>{{vin}}</td></tr>
        <tr><td>{{t.buyer}}</td><td><strong>{{buyer}}</strong></td></tr>
        <tr><td>{{t.price}}</td><td class="amount">{{price}}</td></tr>
        <tr><td>{{t.premium}}</td><td class="amount">{{premium}}</td></tr>
        <tr><td>{{t.docFee}}</td><td class="amount">{{docFee}}</td></tr>
        <tr><td>{{t.total}}</td><td class="amount">{{total}}</td></tr>
        <tr><td>{{t.deposit}}</td><td class="amount">{{deposit}}</td></tr>
        <tr><td>{{t.due}}</td><td class="amount"><strong>{{due}}</strong></td></tr>
        <tr><td>{{t.dueAt}}</td><td>{{dueAt}}</td></tr>
        </table>
        <p>{{t.terms}}</p>
        {{#published}}<p>{{t.published}}</p>{{/published}}
        </body></html>
        """)
}
