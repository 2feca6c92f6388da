-- Projector `blue-green` (version 1): blue_green_deployments. The seed's names and types;
-- extra columns after. health_check_results: the last checks of each colour, by colour.

CREATE TABLE IF NOT EXISTS blue_green_deployments (
    id SERIAL PRIMARY KEY,
    deployment_name VARCHAR(100) NOT NULL,
    blue_environment VARCHAR(100) NOT NULL,
    green_environment VARCHAR(100) NOT NULL,
    current_active VARCHAR(10) DEFAULT 'blue', -- blue, green
    deployment_status VARCHAR(20) DEFAULT 'idle', -- idle, deploying, switching, completed, failed
    blue_database_url VARCHAR(500),
    green_database_url VARCHAR(500),
    switch_started_at TIMESTAMP,
    switch_completed_at TIMESTAMP,
    health_check_results JSONB,
    rollback_triggered BOOLEAN DEFAULT FALSE,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    -- Extra.
    active_version TEXT,
    last_position BIGINT NOT NULL,
    UNIQUE (deployment_name)
);
