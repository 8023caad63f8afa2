import Foundation

/// Splits a migration file into single statements. PostgresNIO speaks the extended
/// query protocol, which takes one statement at a time, so a file of several must be cut
/// at its top-level semicolons: not inside quotes, identifiers, comments or
/// dollar-quoted function bodies.
public enum SQLScript {
    public static func statements(in script: String) -> [String] {
        let chars = Array(script.unicodeScalars)
        var statements: [String] = []
        var current = String.UnicodeScalarView()
        var index = 0

        func flush() {
            let text = String(current).trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty && !isOnlyComments(text) { statements.append(text) }
            current = String.UnicodeScalarView()
        }

        while index < chars.count {
            let char = chars[index]
            let next: Unicode.Scalar? = index + 1 < chars.count ? chars[index + 1] : nil
            switch char {
            case "-" where next == "-":
                while index < chars.count, chars[index] != "\n" { current.append(chars[index]); index += 1 }
                continue
            case "/" where next == "*":
                var depth = 0
                repeat {
                    if chars[index] == "/", index + 1 < chars.count, chars[index + 1] == "*" {
                        depth += 1; current.append(chars[index]); current.append(chars[index + 1]); index += 2
                    } else if chars[index] == "*", index + 1 < chars.count, chars[index + 1] == "/" {
                        depth -= 1; current.append(chars[index]); current.append(chars[index + 1]); index += 2
                    } else {
                        current.append(chars[index]); index += 1
                    }
                } while depth > 0 && index < chars.count
                continue
            case "'", "\"":
                current.append(char); index += 1
                while index < chars.count {
                    current.append(chars[index])
                    if chars[index] == char {
                        // A doubled quote is an escaped quote, not the end.
                        if index + 1 < chars.count, chars[index + 1] == char {
                            current.append(chars[index + 1]); index += 2; continue
                        }
                        index += 1
                        break
                    }
                    index += 1
                }
                continue
            case "$":
                if let tag = dollarTag(chars, at: index) {
                    let tagScalars = Array(tag.unicodeScalars)
                    current.append(contentsOf: tagScalars); index += tagScalars.count
                    while index < chars.count {
                        if chars[index] == "$", Array(chars[index..<min(chars.count, index + tagScalars.count)]) == tagScalars {
                            current.append(contentsOf: tagScalars); index += tagScalars.count
                            break
                        }
                        current.append(chars[index]); index += 1
                    }
                    continue
                }
            case ";":
                flush(); index += 1
                continue
            default:
                break
            }
            current.append(char); index += 1
        }
        flush()
        return statements
    }

    /// `$$` or `$tag$` starting at `index`, if one does.
    private static func dollarTag(_ chars: [Unicode.Scalar], at index: Int) -> String? {
        var end = index + 1
        while end < chars.count, chars[end] == "_" || chars[end].properties.isAlphabetic || ("0"..."9").contains(chars[end]) {
            end += 1
        }
        guard end < chars.count, chars[end] == "$" else { return nil }
        // `$1` is a positional parameter, not a tag.
        if end > index + 1, ("0"..."9").contains(chars[index + 1]) { return nil }
        return String(String.UnicodeScalarView(chars[index...end]))
    }

    private static func isOnlyComments(_ text: String) -> Bool {
        text.split(separator: "\n").allSatisfy { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty || trimmed.hasPrefix("--")
        }
    }
}
