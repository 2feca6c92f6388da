-- Projector `environments` (version 1): environment_configs. The seed's names and types; extra
-- columns after. database_url never holds a password (removed before the event is appended).

CREATE TABLE IF NOT EXISTS environment_configs (
    id SERIAL PRIMARY KEY,
    environment_name VARCHAR(50) NOT NULL,
    environment_type VARCHAR(20) NOT NULL, -- development, staging, production
    database_url VARCHAR(500),
    database_name VARCHAR(100),
    database_user VARCHAR(100),
    connection_pool_size INTEGER DEFAULT 10,
    max_connections INTEGER DEFAULT 100,
    backup_schedule VARCHAR(100),
    monitoring_enabled BOOLEAN DEFAULT TRUE,
    alerting_enabled BOOLEAN DEFAULT TRUE,
    config_data JSONB DEFAULT '{}'::jsonb,
    is_active BOOLEAN DEFAULT TRUE,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    -- Extra.
    rollback_policy TEXT NOT NULL DEFAULT 'manual',
    deactivation_reason TEXT,
    last_position BIGINT NOT NULL,
    UNIQUE (environment_name)
);
