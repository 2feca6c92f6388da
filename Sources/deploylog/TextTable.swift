import Foundation
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

    /// RFC 4180 CSV: quoted when a cell holds a comma, quote or line break.
    static func csv(_ columns: [String], _ rows: [[String]]) -> String {
        func field(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        return ([columns] + rows).map { $0.map(field).joined(separator: ",") + "\r\n" }.joined()
    }
}
