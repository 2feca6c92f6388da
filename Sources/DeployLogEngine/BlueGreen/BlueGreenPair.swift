public import DeployLogEvents
public import DeployLogStore

/// A blue-green pair as its stream `bluegreen-<name>` says it is now: a pure fold of that
/// stream, from which every blue-green decision is made (which colour is inactive, where it is,
/// what to run to switch).
///
/// The active colour is the first configuration's, then changes only on TrafficSwitched.
public struct BlueGreenPair: Sendable, Equatable {
    public var name: String
    public var blueEnvironment = ""
    public var greenEnvironment = ""
    public var blueDatabaseUrl: String?
    public var greenDatabaseUrl: String?
    public var activeColor: BlueGreenColor = .blue
    public var switchCommand: String?
    public var healthCheckQuery: String?
    public var slowStatementMs: Int64?
    /// idle, deploying, switching, completed or failed (the seed's `deployment_status`).
    public var status = "idle"
    /// The version last deployed to each colour.
    public var versions: [BlueGreenColor: String] = [:]
    /// The last health checks of each colour since the last deploy to it: a deploy forgets
    /// the checks of the version it replaces.
    public var lastHealthChecks: [BlueGreenColor: HealthChecksRecorded] = [:]
    /// Colours deployed to and not health-checked since (the deploy failed before its checks,
    /// or is still running): traffic must not move there on the strength of older checks.
    public var uncheckedColors: Set<BlueGreenColor> = []
    /// The last traffic switch when it has started and has no outcome (TrafficSwitched or
    /// BlueGreenDeployFailed): a run is switching now, or one was killed during its switch
    /// command — perhaps after the command moved traffic, so `activeColor` may not be the
    /// colour serving. Deploy and switch refuse to act on the pair while it is set.
    public var unfinishedSwitch: UnfinishedSwitch?
    /// Why the last deploy failed, while `status` is failed.
    public var lastFailure: String?
    /// The stream's last version (nil: no stream).
    public var streamVersion: Int64?
    public var isConfigured = false

    public init(name: String) { self.name = name }

    /// A TrafficSwitchStarted without an outcome yet: which way, where and when it was recorded.
    public struct UnfinishedSwitch: Sendable, Equatable {
        public var fromColor: BlueGreenColor
        public var toColor: BlueGreenColor
        public var position: Int64
        public var startedAt: Timestamp
    }

    public static func stream(_ name: String) -> String { "bluegreen-\(name)" }

    public var inactiveColor: BlueGreenColor { activeColor == .blue ? .green : .blue }

    public func environment(of color: BlueGreenColor) -> String { color == .blue ? blueEnvironment : greenEnvironment }
    public func databaseURL(of color: BlueGreenColor) -> String? { color == .blue ? blueDatabaseUrl : greenDatabaseUrl }

    /// Folds the pair's stream; nil when it was never configured.
    public static func load(_ name: String, from store: any EventStore) throws(EngineError) -> BlueGreenPair? {
        var pair = BlueGreenPair(name: name)
        do {
            try store.read(from: 1, filter: EventFilter(stream: stream(name)), limit: nil) { e in
                pair.apply(e)
                return true
            }
        } catch let e as StoreError {
            throw EngineError(e)
        } catch {
            throw EngineError(.internalError, "reading \(stream(name)): \(error)")
        }
        return pair.isConfigured ? pair : nil
    }

    /// Folds one event of the pair's stream (other types are ignored; an event whose data does
    /// not decode is skipped, as projectors skip it).
    public mutating func apply(_ e: RecordedEvent) {
        streamVersion = e.streamVersion
        let decoder = JSONValueDecoder()
        switch e.type {
        case BlueGreenConfigured.eventType:
            guard let c = try? decoder.decode(BlueGreenConfigured.self, from: e.data) else { return }
            blueEnvironment = c.blueEnvironment
            greenEnvironment = c.greenEnvironment
            blueDatabaseUrl = c.blueDatabaseUrl
            greenDatabaseUrl = c.greenDatabaseUrl
            switchCommand = c.switchCommand
            healthCheckQuery = c.healthCheckQuery
            slowStatementMs = c.slowStatementMs
            if !isConfigured { activeColor = c.activeColor }
            isConfigured = true
        case DeployToInactiveStarted.eventType:
            guard let d = try? decoder.decode(DeployToInactiveStarted.self, from: e.data) else { return }
            status = "deploying"
            versions[d.targetColor] = d.version
            lastHealthChecks[d.targetColor] = nil
            uncheckedColors.insert(d.targetColor)
            lastFailure = nil
        case HealthChecksRecorded.eventType:
            guard let h = try? decoder.decode(HealthChecksRecorded.self, from: e.data) else { return }
            lastHealthChecks[h.color] = h
            uncheckedColors.remove(h.color)
        case TrafficSwitchStarted.eventType:
            status = "switching"
            guard let s = try? decoder.decode(TrafficSwitchStarted.self, from: e.data) else { return }
            unfinishedSwitch = UnfinishedSwitch(
                fromColor: s.fromColor, toColor: s.toColor, position: e.position, startedAt: e.recordedAt)
        case TrafficSwitched.eventType:
            guard let s = try? decoder.decode(TrafficSwitched.self, from: e.data) else { return }
            unfinishedSwitch = nil
            status = "completed"
            activeColor = s.toColor
            versions[s.toColor] = s.version
        case BlueGreenDeployFailed.eventType:
            guard let f = try? decoder.decode(BlueGreenDeployFailed.self, from: e.data) else { return }
            status = "failed"
            lastFailure = f.reason
            unfinishedSwitch = nil
        default:
            break
        }
    }
}
