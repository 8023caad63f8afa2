import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import Mustache

/// A notice of disposition as a printable page, in the language it was rendered in: in
/// English the content of UCC §9-613 and §9-614 (the consumer form's plain words), in
/// Chinese a 处置通知书 as a lender would send it. Mustache escapes every field.
enum NoticeDocument {
    /// The notice's facts as JSON.
    struct Record: Encodable {
        var id: String
        var caseId: String
        var kind: String
        var lang: String
        var sentAt: String
        var notice: NoticeOfDisposition

        init(_ stored: StoredNotice) {
            id = stored.id.answer
            caseId = stored.caseId.answer
            kind = stored.kind
            lang = stored.language
            sentAt = stored.sentAt.rfc3339
            notice = stored.content
        }
    }

    static func html(_ stored: StoredNotice) -> String {
        let zh = stored.language == DocumentLanguage.zhCN.rawValue
        let n = stored.content
        let judicial = n.ruleset == Policy.Ruleset.prcJudicial.rawValue
        let party = NoticeRules.Party(rawValue: n.party) ?? .borrower
        let sentOn = Scope.day(of: stored.sentAt).description
        let collateral = n.collateral.map { ["description": $0.description, "vin": $0.vin] }
        var paragraphs: [String] = []
        let title: String
        if zh {
            title = judicial ? "拍卖通知书" : "处置通知书"
            let why: String = switch party {
            case .borrower: "因您未按借款合同约定履行还款义务，我方已依法收回下列抵押车辆："
            case .guarantor: "因借款人\(n.borrower)未按借款合同约定履行还款义务，我方已依法收回下列抵押车辆。您作为该笔借款的\(n.guaranteeType == "joint" ? "连带责任保证人" : "一般保证人")，特此通知："
            case .lienholder: "因借款人\(n.borrower)未按借款合同约定履行还款义务，我方已依法收回下列车辆。您作为该车辆上的其他担保物权人，特此通知："
            case .owner: "因借款人\(n.borrower)未按借款合同约定履行还款义务，我方已依法收回您所有的下列抵押车辆，特此通知："
            }
            paragraphs.append(why)
            paragraphs.append(judicial
                ? "上述车辆将通过网络司法拍卖平台公开拍卖，拍卖公告期不少于\(n.periodDays)日，自\(chineseDate(n.disposeAfter))起方可开拍；拍卖不成的，可再次拍卖或依法变卖。"
                : "我方拟自\(chineseDate(n.disposeAfter))起（含当日）通过网络公开拍卖方式处置上述车辆。")
            if n.liableForDeficiency {
                paragraphs.append(party == .guarantor && n.guaranteeType != "joint"
                    ? "处置所得价款在扣除处置费用后用于清偿借款人所欠债务；不足部分，借款人仍应继续清偿。您作为一般保证人，仅在借款人财产依法强制执行后仍不能清偿的部分承担保证责任。"
                    : "处置所得价款在扣除处置费用后用于清偿所欠债务；不足部分，您仍应继续清偿；超出部分，将退还给车辆所有权人，但依法应支付给他人的除外。")
                paragraphs.append("在车辆出售之前，您可以通过清偿全部欠款（不仅是逾期款项），包括我方已发生的费用，赎回车辆。具体金额请联系：\(n.contact)。")
                paragraphs.append("您有权要求我方书面说明欠款金额的计算方法，我方对此不收取任何费用。联系方式：\(n.contact)。")
            } else if party == .owner {
                paragraphs.append("处置所得价款在清偿债务及处置费用后如有剩余，将退还给您。如有疑问，请联系：\(n.contact)。")
            } else {
                paragraphs.append("您可以在处置前向我方提出书面请求，依法就处置所得主张权利。联系方式：\(n.contact)。")
            }
        } else {
            title = judicial ? "Notice of judicial auction" : "Notice of our plan to sell property"
            let why: String = switch party {
            case .borrower: "We have your vehicle listed below because you broke promises in our loan agreement."
            case .guarantor: "We have the vehicle listed below because the borrower, \(n.borrower), broke promises in the loan agreement. You guaranteed that loan (\(n.guaranteeType == "joint" ? "a joint and several guarantee" : "a general guarantee: you answer only for what the borrower cannot pay"))."
            case .lienholder: "We have the vehicle listed below because the borrower, \(n.borrower), broke promises in the loan agreement. You are told because you hold an interest in it."
            case .owner: "We have the vehicle listed below, which you own, because the borrower, \(n.borrower), broke promises in the loan agreement."
            }
            paragraphs.append(why)
            paragraphs.append(judicial
                ? "It will be sold at a public online judicial auction, announced at least \(n.periodDays) days before it starts, no earlier than \(n.disposeAfter). If it is not sold it may be offered again or sold at a fixed price."
                : "We will sell it by public online auction (Gavel) at a time on or after \(n.disposeAfter). A sale could include a lease or license.")
            if n.liableForDeficiency {
                paragraphs.append(party == .guarantor && n.guaranteeType != "joint"
                    ? "The money we get from the sale (after paying our costs) will reduce the amount owed. If we get less money than is owed, the borrower will still owe us the difference, and you answer under your guarantee only for what cannot be recovered from the borrower."
                    : "The money that we get from the sale (after paying our costs) will reduce the amount you owe. If we get less money than you owe, you will still owe us the difference. If we get more money than you owe, the extra money goes to the vehicle's owner, unless we must pay it to someone else.")
                paragraphs.append("You can get the property back at any time before we sell it by paying us the full amount you owe (not just the past due payments), including our expenses. To learn the exact amount you must pay, contact \(n.contact).")
                paragraphs.append("If you want us to explain to you in writing how we have figured the amount that you owe us, contact \(n.contact) and request a written explanation. We will charge you nothing for the explanation.")
            } else if party == .owner {
                paragraphs.append("Anything left of the money from the sale after the debt and our costs are paid goes to you. Questions: \(n.contact).")
            } else {
                paragraphs.append("You may claim from the proceeds by sending us an authenticated demand before the sale. Contact: \(n.contact).")
            }
        }
        let words: [String: String] = zh
            ? ["to": "致", "address": "地址", "from": "发函人（担保权人）", "loan": "借款合同编号", "borrower": "借款人",
               "sent": "发出日期", "vehicle": "车辆", "vin": "车辆识别代号", "disposeAfter": "最早处置日期", "colon": "："]
            : ["to": "To", "address": "Address", "from": "From (secured party)", "loan": "Loan", "borrower": "Debtor",
               "sent": "Date sent", "vehicle": "Vehicle", "vin": "VIN", "disposeAfter": "Sale on or after", "colon": ": "]
        let context: [String: Any] = [
            "lang": zh ? "zh-CN" : "en", "t": words, "title": title, "name": n.name, "address": n.address ?? "",
            "hasAddress": n.address != nil, "lender": n.lender, "loanNumber": n.loanNumber, "borrower": n.borrower,
            "sentOn": sentOn, "disposeAfter": n.disposeAfter, "collateral": collateral,
            // Why the lender has the collateral, then the collateral, then the rest.
            "intro": paragraphs.first ?? "", "paragraphs": paragraphs.dropFirst().map { ["text": $0] }, "noticeId": stored.id.answer,
        ]
        return template.render(context)
    }

    /// 2026-12-10 as 2026年12月10日.
    static func chineseDate(_ iso: String) -> String {
        let parts = iso.split(separator: "-")
        guard parts.count == 3, let month = Int(parts[1]), let day = Int(parts[2]) else { return iso }
        return "\(parts[0])年\(month)月\(day)日"
    }

    // A constant that parses; a failure is a programming error the first render shows.
    static let template = try! MustacheTemplate(string: """
        <!DOCTYPE html>
        <html lang="{{lang}}"><head><meta charset="utf-8"><title>{{title}} {{noticeId}}</title>
        <style>body{font-family:serif;max-width:40rem;margin:2rem auto;line-height:1.5}td{padding:.2rem .5rem .2rem 0}
        @media print{body{margin:0}}</style></head>
        <body>
        <h1>{{title}}</h1>
        <table>
        <tr><td>{{t.to}}</td><td><strong>{{name}}</strong></td></tr>
        {{#hasAddress}}<tr><td>{{t.address}}</td><td>{{address}}</td></tr>{{/hasAddress}}
        <tr><td>{{t.from}}</td><td>{{lender}}</td></tr>
        <tr><td>{{t.loan}}</td><td>{{loanNumber}}</td></tr>
        <tr><td>{{t.borrower}}</td><td>{{borrower}}</td></tr>
        <tr><td>{{t.sent}}</td><td>{{sentOn}}</td></tr>
        <tr><td>{{t.disposeAfter}}</td><td>{{disposeAfter}}</td></tr>
        </table>
        <p>{{intro}}</p>
        <table>
        {{#collateral}}<tr><td>{{t.vehicle}}{{t.colon}}{{description}}</td><td>{{t.vin}}{{t.colon}}{{vin}}</td></tr>{{/collateral}}
        </table>
        {{#paragraphs}}<p>{{text}}</p>{{/paragraphs}}
        <p>{{lender}}</p>
        </body></html>
        """)
}
