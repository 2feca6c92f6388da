/// Dependency order: a migration comes after every migration it depends on; among those free
/// to go, version order decides (Kahn's algorithm over a version-ordered queue).
public enum MigrationOrder {
    /// `files` (version-ordered) in dependency order. Every dependency must be one of `files`
    /// or one of `satisfied` (already applied); otherwise the missing one is named, with the
    /// file that needs it. A cycle is named migration by migration.
    public static func sort(_ files: [MigrationFile], satisfied: Set<String>) throws(EngineError) -> [MigrationFile] {
        let names = Set(files.map(\.name))
        for f in files {
            for d in f.dependencies where !names.contains(d) && !satisfied.contains(d) {
                throw EngineError(
                    .badInput,
                    "\(f.fileName): migration '\(f.name)' depends on '\(d)', which is neither in the directory nor applied"
                )
            }
        }
        let ordered = files.sorted(by: MigrationFile.versionOrder)
        var remaining = ordered
        var done = satisfied
        var out: [MigrationFile] = []
        while !remaining.isEmpty {
            guard
                let i = remaining.firstIndex(where: {
                    $0.dependencies.allSatisfy { done.contains($0) || !names.contains($0) }
                })
            else {
                throw EngineError(.badInput, "dependency cycle: \(cycle(in: remaining).joined(separator: " -> "))")
            }
            let next = remaining.remove(at: i)
            out.append(next)
            done.insert(next.name)
        }
        return out
    }

    /// One cycle among `files` (each depends on a later one), as names ending where it started,
    /// with each migration's file: `a (0002__a.sql) -> b (0003__b.sql) -> a (0002__a.sql)`.
    private static func cycle(in files: [MigrationFile]) -> [String] {
        let byName = Dictionary(uniqueKeysWithValues: files.map { ($0.name, $0) })
        var path: [String] = []
        var seen: [String: Int] = [:]
        var current = files[0].name
        while seen[current] == nil {
            seen[current] = path.count
            path.append(current)
            guard let next = byName[current]?.dependencies.first(where: { byName[$0] != nil }) else { break }
            current = next
        }
        let start = seen[current] ?? 0
        let loop = Array(path[start...]) + [current]
        return loop.map { "\($0) (\(byName[$0]?.fileName ?? "?"))" }
    }
}
