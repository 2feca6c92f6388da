-- Projector `pipelines` (version 1): deployment_pipelines and deployment_stages.
-- The seed's tables, names and types; extra columns after the seed's. TIMESTAMP columns hold UTC.
-- Ids are the projector's serial ids (1, 2, 3 … in order of PipelineStarted), written explicitly.

CREATE TABLE IF NOT EXISTS deployment_pipelines (
    id SERIAL PRIMARY KEY,
    pipeline_name VARCHAR(100) NOT NULL,
    pipeline_version VARCHAR(50) NOT NULL,
    environment VARCHAR(20) NOT NULL, -- dev, staging, production
    status VARCHAR(20) DEFAULT 'pending', -- pending, running, completed, failed, rolled_back
    started_at TIMESTAMP,
    completed_at TIMESTAMP,
    triggered_by VARCHAR(100),
    git_commit_hash VARCHAR(50),
    git_branch VARCHAR(100),
    deployment_config JSONB,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    -- Extra: the log's id of the pipeline, lead-time input, failure details, provenance.
    pipeline_id TEXT NOT NULL UNIQUE,
    git_committed_at TIMESTAMP,
    failed_stage TEXT,
    error_message TEXT,
    rollback_id TEXT,
    last_position BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS deployment_stages (
    id SERIAL PRIMARY KEY,
    pipeline_id INTEGER REFERENCES deployment_pipelines(id),
    stage_name VARCHAR(100) NOT NULL,
    stage_order INTEGER NOT NULL,
    stage_type VARCHAR(50) NOT NULL, -- build, test, deploy, validate, rollback (unknown: skipped before starting)
    status VARCHAR(20) DEFAULT 'pending', -- pending, running, completed, failed, skipped
    started_at TIMESTAMP,
    completed_at TIMESTAMP,
    duration_ms INTEGER,
    stage_config JSONB,
    stage_output TEXT,
    error_message TEXT,
    -- Extra.
    last_position BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS deployment_pipelines_environment_started ON deployment_pipelines (environment, started_at);
CREATE INDEX IF NOT EXISTS deployment_pipelines_completed ON deployment_pipelines (completed_at);
CREATE INDEX IF NOT EXISTS deployment_stages_pipeline ON deployment_stages (pipeline_id, stage_order);
