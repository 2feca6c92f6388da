import DeployLogEvents
import Foundation

/// Where migrations come from: a directory of `<version>__<name>.sql` files, or files held in
/// memory (a pipeline step, the demo's embedded migrations, a test).
public enum MigrationSource: Sendable, Hashable {
    case directory(String)
    /// File names and their text.
    case files([MigrationSourceFile])

    /// The parsed migrations, in version order (the order of the version's numeric groups,
    /// then the name). Files that do not end in `.sql` are ignored; a `.sql` file with another
    /// name form, a bad header or a duplicate name is an error naming it.
    public func load() throws(EngineError) -> [MigrationFile] {
        var parsed: [MigrationFile] = []
        switch self {
        case .directory(let path):
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw EngineError(.notFound, "no migration directory at \(path)")
            }
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
                throw EngineError(.notFound, "cannot list \(path): \(error.localizedDescription)")
            }
            for name in names.sorted() where name.hasSuffix(".sql") {
                let full = (path as NSString).appendingPathComponent(name)
                guard let data = FileManager.default.contents(atPath: full) else {
                    throw EngineError(.notFound, "cannot read \(full)")
                }
                guard let text = String(data: data, encoding: .utf8) else {
                    throw EngineError(.badInput, "\(full): not UTF-8 text")
                }
                parsed.append(try MigrationFile.parse(fileName: name, contents: text))
            }
        case .files(let files):
            for f in files { parsed.append(try MigrationFile.parse(fileName: f.name, contents: f.contents)) }
        }
        var byName: [String: MigrationFile] = [:]
        for m in parsed {
            if let other = byName[m.name] {
                throw EngineError(
                    .badInput, "\(m.fileName) and \(other.fileName) both define migration '\(m.name)'")
            }
            byName[m.name] = m
        }
        return parsed.sorted(by: MigrationFile.versionOrder)
    }
}

/// A migration file held in memory.
public struct MigrationSourceFile: Sendable, Hashable {
    public var name: String
    public var contents: String

    public init(name: String, contents: String) {
        self.name = name
        self.contents = contents
    }
}

extension MigrationFile {
    /// Version order: numeric groups compared as numbers (`2.9` before `2.10`), then the name.
    public static func versionOrder(_ a: MigrationFile, _ b: MigrationFile) -> Bool {
        let x = MigrationFileName(a.fileName)?.versionGroups ?? []
        let y = MigrationFileName(b.fileName)?.versionGroups ?? []
        if x != y { return x.lexicographicallyPrecedes(y) }
        return a.name < b.name
    }

    /// The file as `parse` reads it back (headers, up and down sections): how the seed's
    /// migrations, held as values, become files.
    public var fileText: String {
        var out = "-- deploylog:type \(type.rawValue)\n"
        if !dependencies.isEmpty { out += "-- deploylog:depends \(dependencies.joined(separator: ", "))\n" }
        out += upTransactional ? "-- deploylog:up\n" : "-- deploylog:up transaction=false\n"
        out += upSQL + "\n"
        if let downSQL {
            out += downTransactional ? "-- deploylog:down\n" : "-- deploylog:down transaction=false\n"
            out += downSQL + "\n"
        }
        return out
    }
}
