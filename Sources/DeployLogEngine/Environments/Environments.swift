public import DeployLogEvents
public import DeployLogProjections
public import DeployLogStore

/// Environments as the log holds them: configured by EnvironmentConfigured (password removed
/// from the URL before it is appended), read back by folding the `environment` streams.
public struct Environments: Sendable {
    public let store: any EventStore

    public init(store: any EventStore) { self.store = store }

    /// Every environment, folded from the log (in order of first configuration).
    public func all() throws(EngineError) -> [EnvironmentsProjector.Environment] {
        var p = EnvironmentsProjector()
        do {
            try store.read(from: 1, filter: EventFilter(categories: ["environment"]), limit: nil) { e in
                p.apply(ProjectedEvent(e))
                return true
            }
        } catch let e as StoreError {
            throw EngineError(e)
        } catch {
            throw EngineError(.internalError, "reading environments: \(error)")
        }
        return p.environments
    }

    public func environment(_ name: String) throws(EngineError) -> EnvironmentsProjector.Environment? {
        try all().first { $0.environmentName == name }
    }

    /// The database URL of an environment (without a password: libpq takes it from
    /// `PGPASSWORD` or `~/.pgpass`); an error naming the environment when it has none.
    public func databaseURL(of name: String) throws(EngineError) -> String {
        guard let env = try environment(name) else {
            throw EngineError(
                .notFound,
                "no environment '\(name)' (configure it with `deploylog env set \(name) --type … --url …`, or give --target)"
            )
        }
        guard let url = env.databaseUrl, !url.isEmpty else {
            throw EngineError(
                .badInput,
                "environment '\(name)' has no database URL (set one with `deploylog env set \(name) --url …`, or give --target)"
            )
        }
        return url
    }

    /// Appends `configuration` to `environment-<name>`, with any password removed from the URL
    /// (and from every other string of the event). Returns the position.
    @discardableResult
    public func configure(_ configuration: EnvironmentConfigured, metadata: EventMetadata) throws(EngineError) -> Int64
    {
        guard !configuration.environment.isEmpty,
            !configuration.environment.contains(where: { $0 == " " || $0 == "/" || $0.isNewline })
        else {
            throw EngineError(
                .badInput, "bad environment name '\(configuration.environment)': no spaces, slashes or newlines")
        }
        var c = configuration
        c.databaseUrl = c.databaseUrl.map { CredentialRedaction.redact(string: $0) }
        let event = try ProposedEvent(c, metadata: metadata)
        do { return try store.append([event]).positions[0] } catch {
            throw EngineError(error)
        }
    }
}
