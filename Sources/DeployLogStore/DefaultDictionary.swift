import DeployLogCompression

/// The dictionary a new store starts with: canonical JSON fragments of every v1 event type, so
/// that the keys, envelope and common values of even a small event compress to back-references.
///
/// It is written into the log itself (a dictionary record, id 1) when the store is created, so a
/// log never depends on this copy: changing it here needs a new id.
enum DefaultDictionary {
    static let v1 = LZ4Dictionary(id: 1, bytes: Array(text.utf8))

    // LZ4 prefers later bytes of a dictionary when several match: the most common text is last.
    private static let text: String = [
        #"{"data":{"config":{},"connectionPoolSize":20,"databaseName":"camera_counting","databaseUrl":"postgresql://app@localhost:5432/camera_counting","databaseUser":"app","environment":"production","environmentType":"production","maxConnections":100,"monitoringEnabled":true,"alertingEnabled":true,"backupSchedule":"0 2 * * *","rollbackPolicy":"automatic"},"#,
        #""type":"EnvironmentConfigured"}"#,
        #"{"data":{"checksum":"","dependencies":[],"environment":"staging","migrationType":"schema","name":"","rollbackSql":"DROP TABLE IF EXISTS ","sql":"CREATE TABLE IF NOT EXISTS ","transactional":true,"version":"1.0.0"},"type":"MigrationRegistered"}"#,
        #"CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_ ON  USING btree (); ALTER TABLE  ADD COLUMN  TIMESTAMP WITH TIME ZONE DEFAULT NOW() NOT NULL VARCHAR(255) INTEGER BIGINT JSONB PRIMARY KEY REFERENCES "#,
        #"{"data":{"deploymentName":"","activeColor":"blue","blueDatabaseUrl":"","blueEnvironment":"","greenDatabaseUrl":"","greenEnvironment":""},"type":"BlueGreenConfigured"}"#,
        #"{"data":{"checks":[{"detail":"","durationMs":12,"name":"connectivity","status":"PASS"},{"detail":"","durationMs":40,"name":"query","status":"PASS"},{"detail":"","durationMs":5,"name":"slow_queries","status":"WARNING"}],"color":"green","deploymentName":"","healthy":true},"type":"HealthChecksRecorded"}"#,
        #"{"data":{"deploymentName":"","fromColor":"blue","toColor":"green","version":""},"type":"TrafficSwitched"}"#,
        #"{"data":{"deploymentName":"","pipelineId":"","targetColor":"green","version":""},"type":"DeployToInactiveStarted"}"#,
        #"{"data":{"deploymentName":"","rollbackTriggered":true,"reason":"health checks failed","version":""},"type":"BlueGreenDeployFailed"}"#,
        #"{"data":{"environment":"production","pipelineId":"","previousVersion":"","reason":"","rollbackId":"","rollbackType":"automatic","targetPosition":1,"targetVersion":""},"type":"RollbackStarted"}"#,
        #"{"data":{"action":"revert_migration","durationMs":15,"output":"","rollbackId":"","step":1,"target":""},"type":"RollbackStepExecuted"}"#,
        #"{"data":{"rollbackId":""},"type":"RollbackCompleted"}{"data":{"error":"","failedStep":1,"rollbackId":""},"type":"RollbackFailed"}"#,
        #"{"data":{"config":{},"environment":"staging","gitBranch":"main","gitCommitHash":"","gitCommittedAt":"","pipelineId":"","pipelineName":"camera-counting","pipelineVersion":"1.0.0","triggeredBy":"ci"},"type":"PipelineStarted"}"#,
        #"{"data":{"error":"","failedStage":"","pipelineId":""},"type":"PipelineFailed"}{"data":{"pipelineId":"","rollbackId":""},"type":"PipelineRolledBack"}"#,
        #"{"data":{"pipelineId":"","reason":"","stageName":"","stageOrder":1},"type":"StageSkipped"}"#,
        #"{"data":{"durationMs":1200,"error":"","output":"","pipelineId":"","stageName":"test","stageOrder":2},"type":"StageFailed"}"#,
        #"{"data":{"config":{},"pipelineId":"","stageName":"build","stageOrder":1,"stageType":"build"},"type":"StageStarted"}"#,
        #""stageType":"test""stageType":"deploy""stageType":"validate""stageName":"deploy""stageName":"validate""#,
        #"{"data":{"durationMs":1200,"output":"","pipelineId":"","stageName":"build","stageOrder":1},"type":"StageCompleted"}"#,
        #"{"data":{"pipelineId":""},"type":"PipelineCompleted"}"#,
        #"{"data":{"deploymentId":"","environment":"staging","error":"","executionTimeMs":35,"name":""},"type":"MigrationFailed"}"#,
        #"{"data":{"deploymentId":"","environment":"staging","executionTimeMs":35,"name":"","rollbackId":""},"type":"MigrationRolledBack"}"#,
        #"{"data":{"deploymentId":"","environment":"staging","name":""},"type":"MigrationStarted"}"#,
        #"{"data":{"appliedBy":"deploylog","deploymentId":"","environment":"staging","executionTimeMs":35,"name":""},"type":"MigrationApplied"}"#,
        #"","metadata":{"actor":"ci@build-","causationId":"","correlationId":"","source":"deploylog"},"occurredAt":"2026-11-2"#,
        #"","position":1,"recordedAt":"2026-11-2","schemaVersion":1,"stream":"environment-"#,
        #"","schemaVersion":1,"stream":"migrations-","streamVersion":0,"type":"Migration"#,
        #"","schemaVersion":1,"stream":"bluegreen-","streamVersion":0,"type":"#,
        #"","schemaVersion":1,"stream":"rollback-","streamVersion":0,"type":"Rollback"#,
        #"0000Z","position":1,"recordedAt":"2026-11-25T00:00:00.000000Z","schemaVersion":1,"stream":"pipeline-","streamVersion":1,"type":"Stage"#,
        #"},"eventId":"","metadata":{"actor":"","correlationId":"","source":"deploylog"},"occurredAt":"2026-11-25T10:00:00.000000Z","position":"#,
    ].joined()
}
