import DeployLogEvents
import Foundation
import XCTest

/// The `events/` files and the Swift catalog describe the same events, both ways.
final class CatalogAgreementTests: XCTestCase {
    // MARK: - Files and types

    func testEveryTypeHasAFileAndEveryFileHasAType() throws {
        let files = try CatalogFile.loadAll()
        let current = Set(EventCatalog.allTypes.map { "\($0.eventType).v\($0.schemaVersion).json" })
        XCTAssertEqual(EventCatalog.allTypes.count, 25)
        for name in current.sorted() {
            XCTAssertNotNil(files[name], "events/\(name) is missing")
        }
        for (name, file) in files.sorted(by: { $0.key < $1.key }) {
            guard let t = EventCatalog.type(named: file.type) else {
                XCTFail("events/\(name): no Swift type for \(file.type) in EventCatalog.allTypes")
                continue
            }
            XCTAssertEqual(
                name, "\(file.type).v\(file.schemaVersion).json",
                "events/\(name): name does not match its type and schemaVersion")
            XCTAssertLessThanOrEqual(file.schemaVersion, t.schemaVersion, "events/\(name): newer than the Swift type")
            if file.schemaVersion < t.schemaVersion {
                XCTAssertTrue(
                    EventCatalog.upcasters.contains {
                        $0.eventType == file.type && $0.fromVersion == file.schemaVersion
                    },
                    "events/\(name): an old version needs an upcaster")
            }
        }
        let names = EventCatalog.allTypes.map { $0.eventType }
        XCTAssertEqual(Set(names).count, names.count, "wire names must be unique")
    }

    func testEnvelopeFactsAgree() throws {
        let files = try CatalogFile.loadAll()
        for t in EventCatalog.allTypes {
            let name = "\(t.eventType).v\(t.schemaVersion).json"
            guard let file = files[name] else { continue }  // reported by the test above
            XCTAssertEqual(file.streamCategory, t.streamCategory, name)
            XCTAssertTrue(EventCatalog.streamCategories.contains(t.streamCategory), name)
            XCTAssertEqual(file.stream, "\(t.streamCategory)-<\(t.streamIDField)>", name)
            let idField = t.fields.first { $0.name == t.streamIDField }
            XCTAssertEqual(idField?.type, .string, "\(name): the stream id field must be a string")
            XCTAssertEqual(idField?.required, true, "\(name): the stream id field must be required")
            XCTAssertFalse(file.description.isEmpty, name)
        }
    }

    func testFieldsAgree() throws {
        let files = try CatalogFile.loadAll()
        for t in EventCatalog.allTypes {
            let name = "\(t.eventType).v\(t.schemaVersion).json"
            guard let file = files[name] else { continue }
            assertSameFields(file.fields, t.fields, "\(name) fields")
            XCTAssertEqual(Set(t.fields.map(\.name)).count, t.fields.count, "\(name): duplicate field")

            let swiftRecords = Dictionary(uniqueKeysWithValues: t.records.map { ($0.recordName, $0.fields) })
            XCTAssertEqual(Set(file.records.keys), Set(swiftRecords.keys), "\(name): records")
            for (record, fields) in file.records {
                assertSameFields(fields, swiftRecords[record] ?? [], "\(name) records.\(record)")
            }
            // Every record a field names is described.
            for field in t.fields + t.records.flatMap({ $0.fields }) {
                for record in field.type.recordNames {
                    XCTAssertNotNil(
                        swiftRecords[record], "\(name): \(field.name) names the undescribed record \(record)")
                }
            }
        }
    }

    private func assertSameFields(_ file: [EventField], _ swift: [EventField], _ what: String) {
        XCTAssertEqual(file.map(\.name), swift.map(\.name), "\(what): names or order differ")
        for (f, s) in zip(file, swift) where f != s {
            XCTFail(
                "\(what).\(f.name): file has \(f.type) required=\(f.required) \"\(f.description)\" maxLength=\(f.maxLength.map(String.init) ?? "-") \(f.column ?? "-"), "
                    + "Swift has \(s.type) required=\(s.required) \"\(s.description)\" maxLength=\(s.maxLength.map(String.init) ?? "-") \(s.column ?? "-")"
            )
        }
    }

    // MARK: - Examples

    func testExamplesDecodeAndReencodeToTheSameCanonicalJSON() throws {
        for (name, file, t) in try catalogPairs() {
            let decoded: (any DeployLogEvent)?
            do {
                decoded = try EventCatalog.decode(
                    type: file.type, schemaVersion: file.schemaVersion, data: file.example)
            } catch {
                XCTFail("\(name): example does not decode: \(error)")
                continue
            }
            guard let event = decoded else {
                XCTFail("\(name): unknown type")
                continue
            }
            XCTAssertTrue(Swift.type(of: event) == t, name)
            let reencoded = try JSONValueEncoder().encode(event)
            XCTAssertEqual(
                reencoded.canonicalString, file.example.canonicalString, "\(name): re-encoding changed the example")
            XCTAssertEqual(.string(event.streamID), file.example.objectValue?[t.streamIDField], "\(name): streamID")

            // The Swift type's stored properties are exactly the catalog fields.
            let properties = Mirror(reflecting: event).children.compactMap(\.label)
            XCTAssertEqual(properties, t.fields.map(\.name), "\(name): Swift properties and catalog fields differ")
            // The example shows every field, optional ones too, so readers see each in use.
            XCTAssertEqual(
                Set(file.example.objectValue?.keys ?? []), Set(t.fields.map(\.name)), "\(name): example fields")
            for field in t.fields {
                guard case .array(.record(let record)) = field.type,
                    let elements = file.example.objectValue?[field.name]?.arrayValue
                else {
                    continue
                }
                let keys = Set(elements.flatMap { $0.objectValue?.keys ?? [] })
                let recordFields = t.records.first { $0.recordName == record }?.fields ?? []
                XCTAssertEqual(keys, Set(recordFields.map(\.name)), "\(name): example \(field.name) elements")
            }
            XCTAssertNoThrow(
                try EventCatalog.validate(type: file.type, schemaVersion: file.schemaVersion, data: file.example), name)
        }
    }

    func testRemovingARequiredFieldFailsAndRemovingAnOptionalOneDoesNot() throws {
        for (name, file, t) in try catalogPairs() {
            for target in fieldTargets(t, example: file.example) {
                let data = target.replacing(in: file.example, with: nil)
                let result = validate(file, data)
                if target.field.required {
                    assertInvalid(result, path: target.path, "\(name): without \(target.path)")
                } else {
                    XCTAssertNil(
                        result,
                        "\(name): \(target.path) is optional but removing it fails: \(result.map(String.init(describing:)) ?? "")"
                    )
                    XCTAssertNil(
                        validate(file, target.replacing(in: file.example, with: .null)),
                        "\(name): \(target.path) = null")
                }
            }
        }
    }

    func testAWrongJSONTypeFailsForEveryField() throws {
        for (name, file, t) in try catalogPairs() {
            for target in fieldTargets(t, example: file.example) {
                let current = target.value(in: file.example)
                for wrong in wrongValues(for: target.field.type, current: current) {
                    let result = validate(file, target.replacing(in: file.example, with: wrong))
                    assertInvalid(result, path: target.path, "\(name): \(target.path) = \(wrong.canonicalString)")
                }
                if target.field.required {
                    assertInvalid(
                        validate(file, target.replacing(in: file.example, with: .null)), path: target.path,
                        "\(name): \(target.path) = null")
                }
            }
        }
    }

    func testAnEnumValueOutsideItsSetFails() throws {
        var checked = 0
        for (name, file, t) in try catalogPairs() {
            for target in fieldTargets(t, example: file.example) {
                guard case .enumeration(let values) = target.field.type else { continue }
                for bad in [
                    "", "unknown",
                    values[0].uppercased() == values[0] ? values[0].lowercased() : values[0].uppercased(),
                    values[0] + " ",
                ] {
                    let result = validate(file, target.replacing(in: file.example, with: .string(bad)))
                    assertInvalid(result, path: target.path, "\(name): \(target.path) = \"\(bad)\"")
                    if let result {
                        XCTAssertTrue(
                            result.message.contains(values.joined(separator: "|")),
                            "\(name): message lists the allowed values: \(result)")
                    }
                    checked += 1
                }
            }
        }
        XCTAssertEqual(checked, 4 * 14, "14 enum fields in catalog v1 (StageSkipped.stageType the latest)")
    }

    // MARK: - Messages and unknowns

    func testErrorsAreOneLineNamingTheTypeAndField() throws {
        var data = try XCTUnwrap(CatalogFile.loadAll()["StageFailed.v1.json"]?.example.objectValue)
        data.removeValue(forKey: "stageOrder")
        XCTAssertThrowsError(
            try EventCatalog.validate(type: "StageFailed", schemaVersion: 1, data: .object(data))
        ) { error in
            guard let error = error as? CatalogError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.code, .invalidData)
            XCTAssertEqual(error.description, "StageFailed data.stageOrder: missing required field")
        }
        XCTAssertThrowsError(try EventCatalog.validate(type: "StageFailed", schemaVersion: 1, data: [1, 2])) { error in
            XCTAssertEqual("\(error)", "StageFailed data: expected object, found array")
        }
        var health = try XCTUnwrap(CatalogFile.loadAll()["HealthChecksRecorded.v1.json"]?.example.objectValue)
        health["checks"] = [
            ["name": "database_connectivity", "status": "PASS", "durationMs": 4],
            ["name": "api", "status": 1, "durationMs": 3],
        ]
        XCTAssertThrowsError(
            try EventCatalog.validate(type: "HealthChecksRecorded", schemaVersion: 1, data: .object(health))
        ) { error in
            XCTAssertEqual("\(error)", "HealthChecksRecorded data.checks[1].status: expected string, found integer")
        }
    }

    /// Every bounded string field: a value of exactly `maxLength` characters (counted as
    /// PostgreSQL counts them, in code points: `é` and `🚀` are one each) passes, one more is
    /// refused in one line naming the field, both lengths and the read model's column. The
    /// bounds are the widths of those columns in `projections/*.sql`.
    func testStringsLongerThanTheirReadModelColumnAreRefused() throws {
        let sql = try (try FileManager.default.contentsOfDirectory(atPath: CatalogFile.directory.deletingLastPathComponent().path + "/projections"))
            .filter { $0.hasSuffix(".sql") }
            .map { try String(contentsOfFile: CatalogFile.directory.deletingLastPathComponent().path + "/projections/" + $0, encoding: .utf8) }
            .joined(separator: "\n")
        var bounded = 0
        for (name, file) in try CatalogFile.loadAll() {
            guard let t = EventCatalog.type(named: file.type), var data = file.example.objectValue else { continue }
            for field in t.fields {
                guard let maxLength = field.maxLength, let column = field.column else { continue }
                bounded += 1
                let columnName = try XCTUnwrap(column.split(separator: ".").last)
                XCTAssertTrue(
                    sql.contains("    \(columnName) VARCHAR(\(maxLength))"), "\(name) \(field.name): \(column) is not VARCHAR(\(maxLength))")
                let fits = String(repeating: "é", count: maxLength - 1) + "🚀"
                data[field.name] = .string(fits)
                XCTAssertNoThrow(
                    try EventCatalog.validate(type: file.type, schemaVersion: 1, data: .object(data)), "\(name) \(field.name)")
                data[field.name] = .string(fits + "x")
                XCTAssertThrowsError(try EventCatalog.validate(type: file.type, schemaVersion: 1, data: .object(data))) {
                    XCTAssertEqual(
                        "\($0)",
                        "\(file.type) data.\(field.name): \(maxLength + 1) characters, at most \(maxLength) (the read model's \(column) is VARCHAR(\(maxLength)))"
                    )
                }
                data[field.name] = file.example.objectValue?[field.name]
            }
        }
        XCTAssertEqual(bounded, 30, "bounded string fields in catalog v1")
    }

    func testUnknownTypesAndUnknownFieldsPass() throws {
        XCTAssertNil(EventCatalog.type(named: "CameraRecalibrated"))
        XCTAssertNoThrow(
            try EventCatalog.validate(type: "CameraRecalibrated", schemaVersion: 1, data: ["anything": [1, "x"]]))
        XCTAssertNoThrow(
            try EventCatalog.validate(type: "CameraRecalibrated", schemaVersion: 9, data: "not even an object"))
        XCTAssertNil(try EventCatalog.decode(type: "CameraRecalibrated", schemaVersion: 1, data: [:]))
        XCTAssertNil(EventCatalog.type(named: "stagefailed"), "wire names are case-sensitive")

        var data = try XCTUnwrap(CatalogFile.loadAll()["StageFailed.v1.json"]?.example.objectValue)
        data["retryOf"] = "a3c1"
        data["annotations"] = ["owner": "db-team"]
        XCTAssertNoThrow(try EventCatalog.validate(type: "StageFailed", schemaVersion: 1, data: .object(data)))
    }

    func testTypedDecodingAndStreams() throws {
        let data = try XCTUnwrap(CatalogFile.loadAll()["PipelineStarted.v1.json"]?.example)
        let started = try EventCatalog.decode(PipelineStarted.self, schemaVersion: 1, data: data)
        XCTAssertEqual(started.stream, "pipeline-7f3c2a9e-4b1d-4c8e-9a51-2d6f0e8b3c17")
        XCTAssertEqual(started.gitCommittedAt?.canonicalText, "2026-11-20T09:58:41.000000Z")
        XCTAssertEqual(started.config["deployment_strategy"], "blue_green")

        let checks = try EventCatalog.decode(
            HealthChecksRecorded.self, schemaVersion: 1,
            data: XCTUnwrap(CatalogFile.loadAll()["HealthChecksRecorded.v1.json"]?.example))
        XCTAssertEqual(checks.checks.map(\.status), [.pass, .pass, .warning])
        XCTAssertEqual(checks.color, .green)
        XCTAssertEqual(checks.stream, "bluegreen-camera-counting-prod")

        let rollback = RollbackStarted(
            rollbackId: "rb-1", environment: "staging", reason: "manual", rollbackType: .healthCheckFailure,
            targetPosition: 12)
        let encoded = try JSONValueEncoder().encode(rollback)
        XCTAssertEqual(
            encoded.canonicalString,
            #"{"environment":"staging","reason":"manual","rollbackId":"rb-1","rollbackType":"health_check_failure","targetPosition":12}"#
        )
        XCTAssertEqual(try EventCatalog.decode(RollbackStarted.self, schemaVersion: 1, data: encoded), rollback)
        XCTAssertEqual(rollback.stream, "rollback-rb-1")
    }

    func testFieldTypeVocabularyRoundTrips() {
        let texts = [
            "string", "integer", "boolean", "object", "timestamp", "enum(a|b|c)", "enum(PASS|WARNING|FAIL)",
            "array<string>", "array<HealthCheck>", "array<array<integer>>", "HealthCheck",
        ]
        for text in texts {
            XCTAssertEqual(FieldType(text)?.description, text, text)
        }
        for bad in [
            "", "int", "enum()", "enum(a||b)", "enum(a|a)", "array<>", "array<string", "uuid", "health_check",
            "Health Check",
        ] {
            XCTAssertNil(FieldType(bad), bad)
        }
        XCTAssertEqual(
            FieldType.enumeration(StageType.self),
            .enumeration(values: ["build", "test", "deploy", "validate", "rollback"]))
        XCTAssertEqual(FieldType.record(HealthCheck.self), .record(name: "HealthCheck"))
    }

    func testTheReadmeShowsVerifyChainVerbatim() throws {
        let readme = try String(contentsOf: CatalogFile.directory.appendingPathComponent("README.md"), encoding: .utf8)
        let program = try String(
            contentsOf: CatalogFile.directory.appendingPathComponent("verify-chain.py"), encoding: .utf8)
        let blocks = readme.components(separatedBy: "```python\n").dropFirst().map {
            $0.components(separatedBy: "```").first ?? ""
        }
        XCTAssertEqual(blocks, [program], "events/README.md must show events/verify-chain.py exactly")
        for heading in [
            "## The envelope", "## Field types", "## Schema versions and upcasters",
            "## The exact bytes that are hashed",
        ] {
            XCTAssertTrue(readme.contains("\n\(heading)\n"), "events/README.md lacks \(heading)")
        }
    }

    // MARK: - Helpers

    private func catalogPairs() throws -> [(String, CatalogFile, any DeployLogEvent.Type)] {
        let files = try CatalogFile.loadAll()
        return EventCatalog.allTypes.compactMap { t in
            let name = "\(t.eventType).v\(t.schemaVersion).json"
            return files[name].map { (name, $0, t) }
        }
    }

    private func validate(_ file: CatalogFile, _ data: JSONValue) -> CatalogError? {
        do {
            try EventCatalog.validate(type: file.type, schemaVersion: file.schemaVersion, data: data)
            return nil
        } catch {
            return error
        }
    }

    private func assertInvalid(_ error: CatalogError?, path: String, _ what: String, line: UInt = #line) {
        guard let error else { return XCTFail("\(what): accepted", line: line) }
        XCTAssertEqual(error.code, .invalidData, "\(what): \(error)", line: line)
        XCTAssertTrue(
            error.message.hasPrefix("data.\(path):") || error.message.hasPrefix("data.\(path)["),
            "\(what): message does not name the field: \(error)", line: line)
        XCTAssertFalse(error.description.contains("\n"), "\(what): not one line", line: line)
    }

    /// Every field of the type, plus every field of each record element in the example.
    private func fieldTargets(_ t: any DeployLogEvent.Type, example: JSONValue) -> [FieldTarget] {
        var targets: [FieldTarget] = []
        for field in t.fields {
            targets.append(FieldTarget(field: field, key: field.name, index: nil, subkey: nil))
            guard case .array(.record(let record)) = field.type,
                let recordFields = t.records.first(where: { $0.recordName == record })?.fields,
                let elements = example.objectValue?[field.name]?.arrayValue
            else { continue }
            for sub in recordFields {
                // The first element that has the field (or the first one, for an absent optional field).
                let index = elements.firstIndex { $0.objectValue?.keys.contains(sub.name) == true } ?? 0
                targets.append(FieldTarget(field: sub, key: field.name, index: index, subkey: sub.name))
            }
        }
        return targets
    }

    /// Values of the wrong JSON type for a field of type `type` (and, for arrays, arrays with a
    /// wrong element).
    private func wrongValues(for type: FieldType, current: JSONValue?) -> [JSONValue] {
        switch type {
        case .string: return [42, true, [:], ["x"]]
        case .integer: return ["42", 1.5, 1e3, true, [:]]
        case .boolean: return ["true", 1, 0, [:]]
        case .object: return [[], "{}", 1, true]
        case .timestamp:
            return [
                1_700_000_000, true, "2026-11-20 09:58:41.000000Z", "2026-13-20T09:58:41.000000Z",
                "2026-02-30T09:58:41.000000Z", "2026-11-20T09:58:41", "2026-11-20T09:58:41.1234567Z", "yesterday",
            ]
        case .enumeration: return [1, true, [:]]
        case .array(let element):
            let good = current?.arrayValue?.first
            return ["x", [:], 1] + wrongValues(for: element, current: good).map { .array([$0]) }
        case .record: return ["x", [], 1]
        }
    }
}

/// One field in an example: `data.<key>` or `data.<key>[index].<subkey>`.
private struct FieldTarget {
    var field: EventField
    var key: String
    var index: Int?
    var subkey: String?

    var path: String {
        guard let index, let subkey else { return key }
        return "\(key)[\(index)].\(subkey)"
    }

    func value(in example: JSONValue) -> JSONValue? {
        guard let top = example.objectValue?[key] else { return nil }
        guard let index, let subkey else { return top }
        return top.arrayValue?[index].objectValue?[subkey]
    }

    /// The example with this field set to `value`, or removed when `value` is nil.
    func replacing(in example: JSONValue, with value: JSONValue?) -> JSONValue {
        guard var object = example.objectValue else { return example }
        if let index, let subkey {
            guard var elements = object[key]?.arrayValue, var element = elements[index].objectValue else {
                return example
            }
            element[subkey] = value
            elements[index] = .object(element)
            object[key] = .array(elements)
        } else {
            object[key] = value
        }
        return .object(object)
    }
}

extension FieldType {
    /// The records this type names, directly or as array elements.
    fileprivate var recordNames: [String] {
        switch self {
        case .record(let name): [name]
        case .array(let element): element.recordNames
        default: []
        }
    }
}

/// One `events/<Type>.v<N>.json` file.
private struct CatalogFile {
    var type: String
    var schemaVersion: Int
    var streamCategory: String
    var stream: String
    var description: String
    var fields: [EventField]
    var records: [String: [EventField]]
    var example: JSONValue

    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    /// `events/`, found from this file's location: `<package>/Tests/DeployLogEventsTests/`.
    static var directory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("events")
    }

    /// Every `.json` file in `events/`, by file name.
    static func loadAll() throws -> [String: CatalogFile] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }
        guard !names.isEmpty else { throw Problem(description: "no catalog files in \(directory.path)") }
        var files: [String: CatalogFile] = [:]
        for name in names {
            let bytes = try [UInt8](Data(contentsOf: directory.appendingPathComponent(name)))
            do {
                files[name] = try CatalogFile(try JSONParser.parse(bytes))
            } catch {
                throw Problem(description: "events/\(name): \(error)")
            }
        }
        return files
    }

    init(_ json: JSONValue) throws {
        guard let o = json.objectValue else { throw Problem(description: "not an object") }
        func string(_ key: String) throws -> String {
            guard let s = o[key]?.stringValue else { throw Problem(description: "\(key): expected a string") }
            return s
        }
        let allowed: Set<String> = [
            "type", "schemaVersion", "streamCategory", "stream", "description", "fields", "records", "example",
        ]
        if let extra = o.keys.first(where: { !allowed.contains($0) }) {
            throw Problem(description: "unexpected key \(extra)")
        }
        type = try string("type")
        guard let version = o["schemaVersion"]?.numberValue?.int64Value else {
            throw Problem(description: "schemaVersion: expected an integer")
        }
        schemaVersion = Int(version)
        streamCategory = try string("streamCategory")
        stream = try string("stream")
        description = try string("description")
        fields = try CatalogFile.fields(o["fields"], "fields")
        records = [:]
        if o.keys.contains("records") {
            guard let recs = o["records"]?.objectValue else {
                throw Problem(description: "records: expected an object")
            }
            for member in recs {
                guard let record = member.value.objectValue, record["description"]?.stringValue != nil else {
                    throw Problem(description: "records.\(member.key): expected {description, fields}")
                }
                records[member.key] = try CatalogFile.fields(record["fields"], "records.\(member.key).fields")
            }
        }
        guard let example = o["example"], example.objectValue != nil else {
            throw Problem(description: "example: expected an object")
        }
        self.example = example
    }

    private static func fields(_ json: JSONValue?, _ what: String) throws -> [EventField] {
        guard let array = json?.arrayValue else { throw Problem(description: "\(what): expected an array") }
        return try array.enumerated().map { (i, item) in
            guard let f = item.objectValue, let name = f["name"]?.stringValue,
                let typeText = f["type"]?.stringValue, let required = f["required"]?.boolValue,
                let description = f["description"]?.stringValue
            else { throw Problem(description: "\(what)[\(i)]: expected {name, type, required, description}") }
            guard let type = FieldType(typeText), type.description == typeText else {
                throw Problem(description: "\(what)[\(i)] (\(name)): unknown type \"\(typeText)\"")
            }
            // A bounded string also has its length and the read model's column, both or neither.
            let maxLength = f["maxLength"]?.numberValue?.int64Value.map { Int($0) }
            let column = f["column"]?.stringValue
            guard f.count == (maxLength == nil ? 4 : 6), (maxLength == nil) == (column == nil),
                maxLength == nil || type == .string
            else {
                throw Problem(
                    description: "\(what)[\(i)] (\(name)): expected {name, type, required, description[, maxLength, column]}")
            }
            return EventField(
                name: name, type: type, required: required, description: description, maxLength: maxLength,
                column: column)
        }
    }
}
