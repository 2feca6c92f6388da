import DeployLogEvents
import Foundation
import XCTest

/// A test-local event at schema version 3. Its history:
/// v1 `{cameraId, name}`; v2 renamed `name` to `label`; v3 added `zone` (default `"unassigned"`).
private struct CameraRegistered: DeployLogEvent {
    static let eventType = "CameraRegistered"
    static let schemaVersion = 3
    static let streamCategory = "camera"
    static let streamIDField = "cameraId"
    static let fields: [EventField] = [
        .required("cameraId", .string, "The camera."),
        .required("label", .string, "Its label (v1 called it `name`)."),
        .required("zone", .string, "Counting zone (added in v3)."),
    ]

    var cameraId: String
    var label: String
    var zone: String

    var streamID: String { cameraId }
}

private let v1ToV2 = EventUpcaster.renamingField("name", to: "label", eventType: "CameraRegistered", fromVersion: 1)
private let v2ToV3 = EventUpcaster.addingField(
    "zone", default: "unassigned", eventType: "CameraRegistered", fromVersion: 2)

final class UpcasterTests: XCTestCase {
    private let registry = EventRegistry(types: [CameraRegistered.self], upcasters: [v2ToV3, v1ToV2])

    func testAV1EventIsUpcastThroughEveryVersion() throws {
        let v1: JSONValue = ["cameraId": "cam-entrance-01", "name": "Main entrance"]
        let (version, data) = try registry.upcast(type: "CameraRegistered", schemaVersion: 1, data: v1)
        XCTAssertEqual(version, 3)
        XCTAssertEqual(data, ["cameraId": "cam-entrance-01", "label": "Main entrance", "zone": "unassigned"])

        let event = try registry.decode(CameraRegistered.self, schemaVersion: 1, data: v1)
        XCTAssertEqual(event, CameraRegistered(cameraId: "cam-entrance-01", label: "Main entrance", zone: "unassigned"))
        XCTAssertEqual(event.stream, "camera-cam-entrance-01")
        XCTAssertNoThrow(try registry.validate(type: "CameraRegistered", schemaVersion: 1, data: v1))
    }

    func testEachVersionStartsWhereItWasWritten() throws {
        let v2: JSONValue = ["cameraId": "cam-2", "label": "Exit", "zone": "ignored-by-v2"]
        // v2 data passes through only the v2→v3 upcaster, which keeps a zone that is present.
        XCTAssertEqual(try registry.decode(CameraRegistered.self, schemaVersion: 2, data: v2).zone, "ignored-by-v2")
        let v3: JSONValue = ["cameraId": "cam-3", "label": "Dock", "zone": "loading", "name": "not renamed in v3"]
        let (version, data) = try registry.upcast(type: "CameraRegistered", schemaVersion: 3, data: v3)
        XCTAssertEqual(version, 3)
        XCTAssertEqual(data, v3, "current-version data is untouched")
        XCTAssertEqual(try registry.decode(CameraRegistered.self, schemaVersion: 3, data: v3).label, "Dock")
    }

    func testUpcastersChainInOrderWhateverTheRegistrationOrder() throws {
        let log = UpcastLog()
        let first = EventUpcaster(eventType: "CameraRegistered", fromVersion: 1) { data in
            log.append("1→2")
            var data = data
            data["label"] = data.removeValue(forKey: "name")
            data["history"] = ["v1"]
            return data
        }
        let second = EventUpcaster(eventType: "CameraRegistered", fromVersion: 2) { data in
            log.append("2→3")
            var data = data
            guard case .array(let history)? = data["history"] else { throw UpcastProblem() }  // needs v2's shape
            data["history"] = .array(history + ["v2"])
            data["zone"] = "north"
            return data
        }
        let registry = EventRegistry(types: [CameraRegistered.self], upcasters: [second, first])
        let (version, data) = try registry.upcast(
            type: "CameraRegistered", schemaVersion: 1, data: ["cameraId": "c", "name": "n"])
        XCTAssertEqual(version, 3)
        XCTAssertEqual(data, ["cameraId": "c", "label": "n", "zone": "north", "history": ["v1", "v2"]])
        XCTAssertEqual(log.entries, ["1→2", "2→3"])
    }

    func testATooNewSchemaVersionIsRefused() {
        XCTAssertThrowsError(try registry.validate(type: "CameraRegistered", schemaVersion: 4, data: [:])) { error in
            guard let error = error as? CatalogError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.code, .newerSchemaVersion)
            XCTAssertEqual(
                error.description,
                "CameraRegistered schemaVersion 4: written by a newer deploylog (this one reads CameraRegistered up to version 3)"
            )
        }
        XCTAssertThrowsError(try registry.decode(CameraRegistered.self, schemaVersion: 4, data: [:]))
        XCTAssertThrowsError(try registry.upcast(type: "CameraRegistered", schemaVersion: 4, data: [:]))

        // The real catalog: every type is at version 1.
        XCTAssertThrowsError(try EventCatalog.validate(type: "StageFailed", schemaVersion: 2, data: [:])) { error in
            XCTAssertEqual((error as? CatalogError)?.code, .newerSchemaVersion)
            XCTAssertTrue("\(error)".hasPrefix("StageFailed schemaVersion 2: written by a newer deploylog"), "\(error)")
        }
        XCTAssertThrowsError(try EventCatalog.decode(StageFailed.self, schemaVersion: 2, data: [:])) { error in
            XCTAssertEqual((error as? CatalogError)?.code, .newerSchemaVersion)
        }
    }

    func testSchemaVersionsStartAtOne() {
        for version in [0, -1] {
            XCTAssertThrowsError(
                try registry.validate(type: "CameraRegistered", schemaVersion: version, data: [:])
            ) { error in
                XCTAssertEqual((error as? CatalogError)?.code, .invalidSchemaVersion)
            }
            XCTAssertThrowsError(
                try EventCatalog.validate(type: "SomethingUnknown", schemaVersion: version, data: [:])
            ) { error in
                XCTAssertEqual((error as? CatalogError)?.code, .invalidSchemaVersion)
            }
        }
    }

    func testAMissingUpcasterIsAnError() {
        let gappy = EventRegistry(types: [CameraRegistered.self], upcasters: [v2ToV3])
        XCTAssertThrowsError(
            try gappy.decode(CameraRegistered.self, schemaVersion: 1, data: ["cameraId": "c", "name": "n"])
        ) { error in
            guard let error = error as? CatalogError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.code, .missingUpcaster)
            XCTAssertEqual(error.description, "CameraRegistered schemaVersion 1: no upcaster from version 1 to 2")
        }
    }

    func testAFailingUpcasterAndBadUpcastDataAreReported() {
        let failing = EventUpcaster(eventType: "CameraRegistered", fromVersion: 1) { _ in throw UpcastProblem() }
        let registry = EventRegistry(types: [CameraRegistered.self], upcasters: [failing, v2ToV3])
        XCTAssertThrowsError(
            try registry.validate(type: "CameraRegistered", schemaVersion: 1, data: ["cameraId": "c"])
        ) { error in
            XCTAssertEqual((error as? CatalogError)?.code, .upcastFailed)
            XCTAssertEqual(
                "\(error)", "CameraRegistered schemaVersion 1: upcasting from version 1 to 2 failed: no label")
        }
        // Data that is wrong after upcasting names the field and says it was upcast.
        XCTAssertThrowsError(
            try self.registry.validate(type: "CameraRegistered", schemaVersion: 1, data: ["cameraId": "c", "name": 7])
        ) { error in
            XCTAssertEqual((error as? CatalogError)?.code, .invalidData)
            XCTAssertEqual(
                "\(error)",
                "CameraRegistered data.label: expected string, found integer (after upcasting from schemaVersion 1)")
        }
        XCTAssertThrowsError(
            try self.registry.validate(type: "CameraRegistered", schemaVersion: 1, data: "text")
        ) { error in
            XCTAssertEqual("\(error)", "CameraRegistered data: expected object, found string")
        }
    }

    func testTheProductionCatalogHasNoUpcastersAndLeavesV1Alone() throws {
        XCTAssertTrue(EventCatalog.upcasters.isEmpty)
        XCTAssertTrue(EventCatalog.allTypes.allSatisfy { $0.schemaVersion == 1 })
        let data: JSONValue = [
            "pipelineId": "p", "stageName": "Build Database Schema", "stageOrder": 1, "durationMs": 5, "error": "x",
        ]
        let (version, same) = try EventCatalog.upcast(type: "StageFailed", schemaVersion: 1, data: data)
        XCTAssertEqual(version, 1)
        XCTAssertEqual(same, data)
    }

    func testTheCatalogAcceptsTestUpcasters() throws {
        // Upcasters for a type the catalog does not know run as far as they go.
        let legacy = EventUpcaster.renamingField(
            "camera", to: "cameraId", eventType: "LegacyCameraEvent", fromVersion: 1)
        let (version, data) = try EventCatalog.upcast(
            type: "LegacyCameraEvent", schemaVersion: 1, data: ["camera": "c9"], upcasters: [legacy])
        XCTAssertEqual(version, 2)
        XCTAssertEqual(data, ["cameraId": "c9"])
        // ... and never past a known type's current version.
        let bogus = EventUpcaster.renamingField("error", to: "message", eventType: "StageFailed", fromVersion: 1)
        let stage: JSONValue = [
            "pipelineId": "p", "stageName": "Health Checks", "stageOrder": 4, "durationMs": 9, "error": "boom",
        ]
        let decoded = try EventCatalog.decode(StageFailed.self, schemaVersion: 1, data: stage, upcasters: [bogus])
        XCTAssertEqual(decoded.error, "boom")
    }
}

private struct UpcastProblem: Error, CustomStringConvertible {
    var description: String { "no label" }
}

/// Records the order upcasters ran in (they are `@Sendable`, so the log is a locked class).
private final class UpcastLog: @unchecked Sendable {
    private var storage: [String] = []
    private let lock = NSLock()
    func append(_ s: String) { lock.withLock { storage.append(s) } }
    var entries: [String] { lock.withLock { storage } }
}
