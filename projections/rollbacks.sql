-- Projector `rollbacks` (version 1): deployment_rollbacks. The seed's names and types; extra
-- columns after. pipeline_id is the serial id of deployment_pipelines.

CREATE TABLE IF NOT EXISTS deployment_rollbacks (
    id SERIAL PRIMARY KEY,
    pipeline_id INTEGER REFERENCES deployment_pipelines(id),
    rollback_reason VARCHAR(200) NOT NULL,
    rollback_type VARCHAR(20) NOT NULL, -- automatic, manual, health_check_failure
    previous_version VARCHAR(50),
    target_version VARCHAR(50),
    rollback_status VARCHAR(20) DEFAULT 'pending', -- pending, running, completed, failed
    started_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    completed_at TIMESTAMP,
    rollback_steps JSONB,
    error_message TEXT,
    -- Extra: the log's ids, the environment, the position rolled back to, provenance.
    rollback_id TEXT NOT NULL UNIQUE,
    environment TEXT NOT NULL,
    pipeline_uuid TEXT,
    target_position BIGINT,
    last_position BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS deployment_rollbacks_started ON deployment_rollbacks (started_at);
