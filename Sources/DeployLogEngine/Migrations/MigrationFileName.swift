import Foundation

/// The name of a migration file: `<version>__<name>.sql`, as Flyway names its versioned files.
public struct MigrationFileName: Hashable, Sendable {
    /// The part before `__` (digits, with `.` or `_` between groups: `1`, `0002`, `2.1`).
    public var version: String
    /// The part between `__` and `.sql`.
    public var name: String

    /// Parses a file name; nil when it does not have the form `<version>__<name>.sql`.
    public init?(_ fileName: String) {
        guard fileName.hasSuffix(".sql"), let separator = fileName.range(of: "__") else { return nil }
        let version = fileName[..<separator.lowerBound]
        let name = fileName[separator.upperBound..<fileName.index(fileName.endIndex, offsetBy: -4)]
        guard !version.isEmpty, !name.isEmpty,
            version.first!.isNumber, version.last!.isNumber,
            version.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "." || $0 == "_") })
        else { return nil }
        self.version = String(version)
        self.name = String(name)
    }

    /// The version's numeric groups (`2.10` → [2, 10]), for ordering `2.9` before `2.10`.
    public var versionGroups: [Int] {
        version.split(whereSeparator: { $0 == "." || $0 == "_" }).map { Int($0) ?? 0 }
    }
}
