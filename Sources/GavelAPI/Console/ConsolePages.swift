import Crypto
import Foundation
import GavelStore
import Hummingbird
import Mustache

/// The console's templates and assets, read once when Gavel starts from the resources
/// folder (`Console/templates/*.mustache`, `Console/assets/*`). Mustache escapes every
/// value but the layout's body, which is a rendered template itself.
struct ConsolePages: Sendable {
    struct Asset: Sendable {
        var bytes: [UInt8]
        var contentType: String
        /// The content's digest: a changed asset is fetched again.
        var etag: String
    }

    let library: MustacheLibrary
    let assets: [String: Asset]

    init(directory: String) throws {
        let files = FileManager.default
        var library = MustacheLibrary()
        let templates = directory + "/templates"
        guard let names = try? files.contentsOfDirectory(atPath: templates) else {
            throw ResourceMissing(description: "cannot read \(templates) (set GAVEL_RESOURCES to the folder holding Console/)")
        }
        for name in names where name.hasSuffix(".mustache") {
            let text = try String(contentsOfFile: templates + "/" + name, encoding: .utf8)
            try library.register(text, named: String(name.dropLast(".mustache".count)))
        }
        self.library = library
        var assets: [String: Asset] = [:]
        let folder = directory + "/assets"
        for name in (try? files.contentsOfDirectory(atPath: folder)) ?? [] {
            guard let data = files.contents(atPath: folder + "/" + name) else { continue }
            let type = name.hasSuffix(".css") ? "text/css; charset=utf-8"
                : name.hasSuffix(".js") ? "text/javascript; charset=utf-8"
                : name.hasSuffix(".svg") ? "image/svg+xml" : "application/octet-stream"
            assets[name] = Asset(
                bytes: [UInt8](data), contentType: type, etag: "\"" + APIToken.hex(SHA256.hash(data: data)).prefix(16) + "\"")
        }
        self.assets = assets
    }

    func render(_ template: String, _ context: [String: Any]) -> String {
        library.render(context, withTemplate: template) ?? ""
    }
}

/// The console's two languages; `?lang=` switches and a cookie remembers.
enum ConsoleLanguage: String, Sendable {
    case en
    case zhCN = "zh-CN"

    static func of(_ request: Request) -> ConsoleLanguage {
        if let asked = request.uri.queryParameters["lang"], let language = ConsoleLanguage(rawValue: String(asked)) { return language }
        if let kept = request.cookies[ConsoleController.languageCookie]?.value, let language = ConsoleLanguage(rawValue: kept) { return language }
        return .en
    }

    var words: [String: String] { self == .en ? Self.allEnglish : Self.allChinese }

    private static let allEnglish = english.merging(englishPages) { first, _ in first }
    private static let allChinese = chinese.merging(chinesePages) { first, _ in first }

    static let english: [String: String] = [
        "navigation": "Sections", "signOut": "Sign out", "otherLanguage": "中文", "navDashboard": "Dashboard", "navLots": "Lots",
        "signInTitle": "Sign in to Gavel", "tokenLabel": "API token", "signIn": "Sign in",
        "tokenHint": "The token you were given (gavel serve prints the first admin's). The console keeps a session for 12 hours.",
        "tokenMissing": "Enter your API token.", "tokenUnknown": "This token is not known, or was revoked.",
        "dashboardTitle": "Disposals", "asOf": "As of", "pipelineTitle": "Vehicles by stage", "pipelineCaption": "Vehicles by stage, with days since repossession",
        "pipelineChart": "Vehicles by stage", "stage": "Stage", "vehicles": "Vehicles", "averageDays": "Average days", "oldestDays": "Oldest (days)",
        "recoveryTitle": "Recovery by consignor and month", "recoveryCaption": "Proceeds over obligation, days to sale and to settlement",
        "recoveryChart": "Recovery rate by consignor and month", "consignor": "Consignor", "month": "Month", "cases": "Cases",
        "recoveryRate": "Recovery", "daysToSale": "Days to sale", "daysToSettlement": "Days to settlement",
        "noSettlements": "No case was settled in the last 365 days.", "downloadCSV": "Download CSV",
        "stage.in-stock": "In stock", "stage.appraised": "Appraised", "stage.listed": "Listed", "stage.sold-unpaid": "Sold, unpaid",
        "stage.paid": "Paid", "stage.settled": "Settled", "stage.closed": "Closed", "stage.returned": "Returned",
        "lotsTitle": "Lots", "lotsCaption": "Live lots you may see", "lot": "Lot", "format": "Format", "status": "Status",
        "currentPrice": "Price", "bids": "Bids", "endsAt": "Ends", "noLots": "No live lot.",
        "forbiddenTitle": "Not for your role", "forbiddenDetail": "Your role may not open this page.",
        "csrfTitle": "Form refused", "csrfDetail": "The form was not one this console gave you (its security token is missing or stale). Nothing was changed; reload the page and try again.",
        "back": "Back to the console", "navBoard": "Lot board",
        "boardTitle": "Lot board", "boardCaption": "Live lots: price, bids, reserve and time left, as they happen",
        "boardConnecting": "Connecting to the live events…", "boardLive": "Live: prices update as bids arrive.",
        "boardLost": "The live events were interrupted; reconnecting…", "vehicle": "Vehicle", "reserveMetColumn": "Reserve met",
        "timeLeft": "Time left", "resultsCaption": "Closed since you opened the board", "closed": "Closed",
    ]

    static let chinese: [String: String] = [
        "navigation": "栏目", "signOut": "退出", "otherLanguage": "English", "navDashboard": "总览", "navLots": "拍品",
        "signInTitle": "登录 Gavel", "tokenLabel": "API 令牌", "signIn": "登录",
        "tokenHint": "请输入分配给您的令牌（gavel serve 启动时打印首个管理员的令牌）。控制台会话保持 12 小时。",
        "tokenMissing": "请输入 API 令牌。", "tokenUnknown": "该令牌无效或已被吊销。",
        "dashboardTitle": "处置总览", "asOf": "截至", "pipelineTitle": "车辆处置阶段", "pipelineCaption": "各阶段车辆数及收车后天数",
        "pipelineChart": "各阶段车辆数", "stage": "阶段", "vehicles": "车辆数", "averageDays": "平均天数", "oldestDays": "最长天数",
        "recoveryTitle": "按委托人和月份的回收情况", "recoveryCaption": "回收率（处置所得 / 债务）、成交天数与结算天数",
        "recoveryChart": "按委托人和月份的回收率", "consignor": "委托人", "month": "月份", "cases": "案件数",
        "recoveryRate": "回收率", "daysToSale": "成交天数", "daysToSettlement": "结算天数",
        "noSettlements": "近 365 天内没有结算的案件。", "downloadCSV": "下载 CSV",
        "stage.in-stock": "在库", "stage.appraised": "已评估", "stage.listed": "拍卖中", "stage.sold-unpaid": "已成交未付款",
        "stage.paid": "已付款", "stage.settled": "已结算", "stage.closed": "已结案", "stage.returned": "已退回",
        "lotsTitle": "拍品", "lotsCaption": "您可查看的在拍拍品", "lot": "拍品", "format": "方式", "status": "状态",
        "currentPrice": "当前价", "bids": "出价次数", "endsAt": "结束时间", "noLots": "暂无在拍拍品。",
        "forbiddenTitle": "无权访问", "forbiddenDetail": "您的角色无权打开此页面。",
        "csrfTitle": "表单被拒绝", "csrfDetail": "该表单不是本控制台发出的（安全令牌缺失或已过期），未做任何更改。请刷新页面后重试。",
        "back": "返回控制台", "navBoard": "拍卖看板",
        "boardTitle": "拍卖看板", "boardCaption": "在拍拍品：实时价格、出价次数、是否达到保留价与剩余时间",
        "boardConnecting": "正在连接实时事件…", "boardLive": "实时：出价后价格即时更新。",
        "boardLost": "实时事件中断，正在重连…", "vehicle": "车辆", "reserveMetColumn": "达到保留价",
        "timeLeft": "剩余时间", "resultsCaption": "打开看板后结束的拍品", "closed": "已结束",
    ]
}

/// An `application/x-www-form-urlencoded` body, at most 64 KiB.
enum ConsoleForm {
    static func read(_ request: Request) async throws -> [String: String] {
        let buffer = try await request.body.collect(upTo: 64 * 1_024)
        return parse(String(buffer: buffer))
    }

    static func parse(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decoded(_ part: Substring) -> String {
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            guard let key = parts.first else { continue }
            fields[decoded(key)] = parts.count > 1 ? decoded(parts[1]) : ""
        }
        return fields
    }
}

/// Bar charts drawn on the server as SVG (no chart library in the browser), labelled for
/// screen readers; each chart has a table beside it with the same numbers.
enum SVGChart {
    static func bars(title: String, bars: [(label: String, value: Int64, display: String)]) -> String {
        let rowHeight = 28, labelWidth = 230, barWidth = 240, width = labelWidth + barWidth + 80
        let height = max(1, bars.count) * rowHeight + 8
        let top = max(1, bars.map(\.value).max() ?? 1)
        func escaped(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        var svg = "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 \(width) \(height)\" xmlns=\"http://www.w3.org/2000/svg\">"
        svg += "<title>\(escaped(title))</title>"
        for (index, bar) in bars.enumerated() {
            let y = 4 + index * rowHeight
            let length = bar.value <= 0 ? 0 : max(2, Int(Double(bar.value) / Double(top) * Double(barWidth)))
            // A long label is cut short here; the table beside the chart has it whole.
            let label = bar.label.count > 30 ? String(bar.label.prefix(29)) + "…" : bar.label
            svg += "<text x=\"0\" y=\"\(y + 18)\">\(escaped(label))</text>"
            svg += "<rect class=\"bar-fill\" x=\"\(labelWidth)\" y=\"\(y + 4)\" width=\"\(length)\" height=\"\(rowHeight - 10)\"></rect>"
            svg += "<text x=\"\(labelWidth + length + 6)\" y=\"\(y + 18)\">\(escaped(bar.display))</text>"
        }
        return svg + "</svg>"
    }
}
