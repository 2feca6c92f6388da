import DeployLogEvents

/// Aligned plain-text tables for people (`--format table`), and cell text for CSV.
enum TextTable {
    /// Columns padded to their widest cell, two spaces apart, a header line first.
    static func render(_ columns: [String], _ rows: [[String]]) -> String {
        var widths = columns.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var out = ""
            for (i, cell) in cells.enumerated() {
                if i > 0 { out += "  " }
                out += i == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }
            return out + "\n"
        }
        return line(columns) + rows.map(line).joined()
    }

    /// A JSON value as a cell: strings bare, null empty, everything else as compact JSON.
    static func cell(_ v: JSONValue?) -> String {
        switch v {
        case nil, .null?: ""
        case .string(let s)?: s
        case let v?: v.canonicalString
        }
    }

    /// RFC 4180 CSV (fields quoted as `log --format csv` quotes them), CRLF line ends.
    static func csv(_ columns: [String], _ rows: [[String]]) -> String {
        ([columns] + rows).map { $0.map(EventPrinter.csvField).joined(separator: ",") + "\r\n" }.joined()
    }
}
