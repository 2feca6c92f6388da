-- Projector `migrations` (version 1): deployment_migrations (one row per environment and
-- migration name) and deployment_execution_logs. The seed's names and types; extra columns after.

CREATE TABLE IF NOT EXISTS deployment_migrations (
    id SERIAL PRIMARY KEY,
    migration_name VARCHAR(200) NOT NULL,
    migration_version VARCHAR(50) NOT NULL,
    migration_type VARCHAR(20) NOT NULL, -- schema, data, index, function
    migration_sql TEXT NOT NULL,
    rollback_sql TEXT,
    dependencies TEXT[],
    is_applied BOOLEAN DEFAULT FALSE,
    applied_at TIMESTAMP,
    applied_by VARCHAR(100),
    execution_time_ms INTEGER,
    status VARCHAR(20) DEFAULT 'pending', -- pending, running, completed, failed, rolled_back
    error_message TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    -- Extra: the environment it belongs to, the registered checksum, provenance.
    environment TEXT NOT NULL,
    checksum TEXT,
    transactional BOOLEAN NOT NULL DEFAULT TRUE,
    deployment_id TEXT,
    last_position BIGINT NOT NULL,
    UNIQUE (environment, migration_name)
);

CREATE TABLE IF NOT EXISTS deployment_execution_logs (
    id SERIAL PRIMARY KEY,
    deployment_id VARCHAR(100) NOT NULL,
    migration_id INTEGER REFERENCES deployment_migrations(id),
    execution_step VARCHAR(50) NOT NULL, -- migration_start, migration_complete, migration_failed, migration_rollback
    step_status VARCHAR(20) NOT NULL, -- started, completed, failed
    step_duration_ms INTEGER,
    step_output TEXT,
    error_message TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    -- Extra: the position of the event the row comes from.
    position BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS deployment_execution_logs_migration ON deployment_execution_logs (migration_id);
