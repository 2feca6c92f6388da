/// Splits SQL text into statements at top-level semicolons, as psql does: semicolons inside
/// quoted strings (`'…'`, `E'…'`), quoted identifiers (`"…"`), dollar-quoted bodies
/// (`$$…$$`, `$tag$…$tag$`) and comments (`--…`, nested `/* … */`) do not end a statement.
///
/// Like psql, a `BEGIN … END` body of `CREATE [OR REPLACE] FUNCTION|PROCEDURE` (a
/// SQL-standard body, `BEGIN ATOMIC`) is one statement whatever semicolons it holds.
///
/// Used for migrations that run outside a transaction: PostgreSQL runs a multi-statement
/// query string as one implicit transaction, which `CREATE INDEX CONCURRENTLY` refuses, so each
/// statement is sent on its own.
public enum SQLScript {
    /// The statements of `sql`, each without its terminating `;`, trimmed; statements that are
    /// only comments and whitespace are dropped.
    public static func statements(in sql: String) -> [String] {
        let b = Array(sql.utf8)
        var out: [String] = []
        var start = 0
        var i = 0
        var hasCode = false
        // The statement's first words (lowercased) and how deep in `BEGIN … END` blocks of a
        // function body it is, as psql's lexer counts them.
        var words: [String] = []
        var blockDepth = 0
        func flush(_ end: Int) {
            if hasCode {
                let text = String(decoding: b[start..<end], as: UTF8.self)
                out.append(text.trimmingCharacters())
            }
            hasCode = false
            words = []
            blockDepth = 0
        }
        func isRoutineDefinition() -> Bool {
            guard words.first == "create" else { return false }
            let kind = words.count > 3 && words[1] == "or" && words[2] == "replace" ? words[3] : words.dropFirst().first
            return kind == "function" || kind == "procedure"
        }
        while i < b.count {
            let c = b[i]
            switch c {
            case UInt8(ascii: "-") where i + 1 < b.count && b[i + 1] == UInt8(ascii: "-"):
                while i < b.count, b[i] != UInt8(ascii: "\n") { i += 1 }
                continue
            case UInt8(ascii: "/") where i + 1 < b.count && b[i + 1] == UInt8(ascii: "*"):
                i = blockCommentEnd(b, i)
                continue
            case UInt8(ascii: "'"):
                hasCode = true
                // E'…' strings take backslash escapes.
                let escapes = i > 0 && (b[i - 1] == UInt8(ascii: "E") || b[i - 1] == UInt8(ascii: "e"))
                i += 1
                while i < b.count {
                    if escapes, b[i] == UInt8(ascii: "\\") {
                        i += 2
                        continue
                    }
                    if b[i] == UInt8(ascii: "'") {
                        if i + 1 < b.count, b[i + 1] == UInt8(ascii: "'") {
                            i += 2
                            continue
                        }
                        break
                    }
                    i += 1
                }
                i += 1
                continue
            case UInt8(ascii: "\""):
                hasCode = true
                i += 1
                while i < b.count {
                    if b[i] == UInt8(ascii: "\"") {
                        if i + 1 < b.count, b[i + 1] == UInt8(ascii: "\"") {
                            i += 2
                            continue
                        }
                        break
                    }
                    i += 1
                }
                i += 1
                continue
            case UInt8(ascii: "$"):
                hasCode = true
                if let tagEnd = dollarTagEnd(b, i) {
                    let tag = Array(b[i...tagEnd])
                    var j = tagEnd + 1
                    var closed = false
                    while j + tag.count <= b.count {
                        if b[j] == UInt8(ascii: "$"), Array(b[j..<(j + tag.count)]) == tag {
                            closed = true
                            break
                        }
                        j += 1
                    }
                    i = closed ? j + tag.count : b.count
                    continue
                }
                i += 1
                continue
            case UInt8(ascii: ";"):
                if blockDepth == 0 {
                    flush(i)
                    start = i + 1
                }
                i += 1
                continue
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                i += 1
                continue
            default:
                hasCode = true
                guard isIdentifierByte(c) else {
                    i += 1
                    continue
                }
                let wordStart = i
                while i < b.count, isIdentifierByte(b[i]) { i += 1 }
                guard isLetter(c) || c == UInt8(ascii: "_") else { continue }  // a number
                let word = String(decoding: b[wordStart..<i], as: UTF8.self).lowercased()
                if words.count < 4 { words.append(word) }
                switch word {
                case "begin" where blockDepth > 0 || isRoutineDefinition(): blockDepth += 1
                case "case" where blockDepth > 0: blockDepth += 1
                case "end" where blockDepth > 0: blockDepth -= 1
                default: break
                }
            }
        }
        flush(b.count)
        return out
    }

    /// The first transaction-control statement of `sql` (`BEGIN`, `START TRANSACTION`,
    /// `COMMIT`, `END`, `ROLLBACK`, `ABORT`, `SAVEPOINT`, `RELEASE`, `PREPARE TRANSACTION`,
    /// `COMMIT PREPARED` …), as its first words in capitals; nil when there is none.
    ///
    /// deploylog owns a migration's transaction: a `COMMIT` or `ROLLBACK` inside it would end
    /// the transaction the engine opened (and recorded work as atomic that was not, or as
    /// applied that was undone), and a `BEGIN` in a migration run statement by statement would
    /// leave the rest inside a transaction that closing the connection rolls back. Only whole
    /// statements count: the words in strings, comments and dollar-quoted bodies (a PL/pgSQL
    /// procedure's `COMMIT`) are not statements of the script.
    public static func transactionControl(in sql: String) -> String? {
        for statement in statements(in: sql) {
            let words = leadingWords(statement, 2)
            guard let first = words.first else { continue }
            switch first {
            case "BEGIN", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE":
                return words.joined(separator: " ")
            case "START" where words.count > 1 && words[1] == "TRANSACTION",
                "PREPARE" where words.count > 1 && words[1] == "TRANSACTION":
                return words.joined(separator: " ")
            default: continue
            }
        }
        return nil
    }

    /// The index after the block comment starting at `i` (`/*`), which nests as PostgreSQL's do;
    /// the end of `b` when it is never closed.
    private static func blockCommentEnd(_ b: [UInt8], _ start: Int) -> Int {
        var depth = 1
        var i = start + 2
        while i < b.count, depth > 0 {
            if b[i] == UInt8(ascii: "/"), i + 1 < b.count, b[i + 1] == UInt8(ascii: "*") {
                depth += 1
                i += 2
            } else if b[i] == UInt8(ascii: "*"), i + 1 < b.count, b[i + 1] == UInt8(ascii: "/") {
                depth -= 1
                i += 2
            } else {
                i += 1
            }
        }
        return i
    }

    /// Up to `count` words at the start of a statement, in capitals, after comments.
    private static func leadingWords(_ statement: String, _ count: Int) -> [String] {
        let b = Array(statement.utf8)
        var i = 0
        var words: [String] = []
        while i < b.count, words.count < count {
            let c = b[i]
            if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") {
                i += 1
            } else if c == UInt8(ascii: "-"), i + 1 < b.count, b[i + 1] == UInt8(ascii: "-") {
                while i < b.count, b[i] != UInt8(ascii: "\n") { i += 1 }
            } else if c == UInt8(ascii: "/"), i + 1 < b.count, b[i + 1] == UInt8(ascii: "*") {
                i = blockCommentEnd(b, i)
            } else if isLetter(c) || c == UInt8(ascii: "_") {
                let start = i
                while i < b.count, isIdentifierByte(b[i]) { i += 1 }
                words.append(String(decoding: b[start..<i], as: UTF8.self).uppercased())
            } else {
                break
            }
        }
        return words
    }

    /// The index of the closing `$` of a dollar-quote tag starting at `i` (`$$` or `$tag$`),
    /// or nil when `$` starts something else (a parameter such as `$1`).
    private static func dollarTagEnd(_ b: [UInt8], _ i: Int) -> Int? {
        // A `$` right after an identifier character is part of the identifier (`a$b`).
        if i > 0, isIdentifierByte(b[i - 1]) { return nil }
        var j = i + 1
        while j < b.count {
            if b[j] == UInt8(ascii: "$") { return j }
            let isStart = j == i + 1
            let ok = isStart ? (isLetter(b[j]) || b[j] == UInt8(ascii: "_")) : isIdentifierByte(b[j])
            guard ok else { return nil }
            j += 1
        }
        return nil
    }

    private static func isLetter(_ c: UInt8) -> Bool {
        (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c >= 128
    }

    private static func isIdentifierByte(_ c: UInt8) -> Bool {
        isLetter(c) || (c >= 48 && c <= 57) || c == UInt8(ascii: "_") || c == UInt8(ascii: "$")
    }
}

extension String {
    func trimmingCharacters() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        return String(self.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
