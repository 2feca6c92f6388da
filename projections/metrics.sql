-- Projector `metrics` (version 1): the seed's report views, verbatim, over the projected
-- deployment_pipelines and deployment_rollbacks, and get_deployment_health() fixed per the seed
-- errata. TIMESTAMP columns hold UTC: the sink sets the database's TimeZone to UTC so that NOW()
-- and CURRENT_DATE compare with them correctly.

-- Deployment metrics view
CREATE OR REPLACE VIEW deployment_metrics AS
SELECT 
    environment,
    COUNT(*) as total_deployments,
    COUNT(CASE WHEN status = 'completed' THEN 1 END) as successful_deployments,
    COUNT(CASE WHEN status = 'failed' THEN 1 END) as failed_deployments,
    COUNT(CASE WHEN status = 'rolled_back' THEN 1 END) as rollback_deployments,
    ROUND(
        (COUNT(CASE WHEN status = 'completed' THEN 1 END) * 100.0) / COUNT(*), 2
    ) as success_rate,
    AVG(EXTRACT(EPOCH FROM (completed_at - started_at))) as avg_deployment_time_seconds,
    MAX(EXTRACT(EPOCH FROM (completed_at - started_at))) as max_deployment_time_seconds
FROM deployment_pipelines
WHERE created_at > NOW() - INTERVAL '30 days'
GROUP BY environment
ORDER BY environment;

-- Deployment performance analysis
CREATE OR REPLACE VIEW deployment_performance AS
SELECT 
    pipeline_name,
    environment,
    status,
    EXTRACT(EPOCH FROM (completed_at - started_at)) as deployment_duration_seconds,
    CASE 
        WHEN EXTRACT(EPOCH FROM (completed_at - started_at)) < 300 THEN 'FAST'
        WHEN EXTRACT(EPOCH FROM (completed_at - started_at)) < 900 THEN 'NORMAL'
        ELSE 'SLOW'
    END as performance_category,
    triggered_by,
    git_commit_hash,
    git_branch
FROM deployment_pipelines
WHERE completed_at IS NOT NULL
ORDER BY completed_at DESC;

-- Deployment health dashboard, as the seed means it. The seed's version aggregates
-- MAX(completed_at) beside ungrouped columns and orders an aggregate by an ungrouped column, so
-- it does not run. Here: per environment its last finished pipeline (DISTINCT ON, newest
-- completed_at first, running ones left out), the last ten rollbacks of 7 days newest first,
-- and empty arrays rather than NULL when there are none. It runs in UTC whatever the caller's
-- TimeZone (the TIMESTAMP columns hold UTC, compared with CURRENT_DATE and NOW()), and the sink
-- pins its search_path to the read schema (ALTER FUNCTION … SET search_path), so that it reads
-- these tables whatever the caller's search_path.
CREATE OR REPLACE FUNCTION get_deployment_health()
RETURNS JSONB AS $$
    SELECT jsonb_build_object(
        'deployment_health', jsonb_build_object(
            'total_deployments_today', (
                SELECT COUNT(*) FROM deployment_pipelines
                WHERE created_at > CURRENT_DATE
            ),
            'successful_deployments_today', (
                SELECT COUNT(*) FROM deployment_pipelines
                WHERE created_at > CURRENT_DATE AND status = 'completed'
            ),
            'failed_deployments_today', (
                SELECT COUNT(*) FROM deployment_pipelines
                WHERE created_at > CURRENT_DATE AND status = 'failed'
            ),
            'active_deployments', (
                SELECT COUNT(*) FROM deployment_pipelines
                WHERE status = 'running'
            ),
            'avg_deployment_time_minutes', (
                SELECT ROUND(AVG(EXTRACT(EPOCH FROM (completed_at - started_at))) / 60, 2)
                FROM deployment_pipelines
                WHERE status = 'completed'
                AND completed_at > NOW() - INTERVAL '7 days'
            )
        ),
        'environment_status', COALESCE((
            SELECT jsonb_agg(
                jsonb_build_object(
                    'environment', environment,
                    'last_deployment', completed_at,
                    'last_status', status,
                    'is_healthy', status = 'completed'
                ) ORDER BY environment
            )
            FROM (
                SELECT DISTINCT ON (environment)
                    environment, completed_at, status
                FROM deployment_pipelines
                WHERE completed_at IS NOT NULL
                ORDER BY environment, completed_at DESC, id DESC
            ) env_status
        ), '[]'::jsonb),
        'recent_rollbacks', COALESCE((
            SELECT jsonb_agg(
                jsonb_build_object(
                    'pipeline_id', pipeline_id,
                    'rollback_reason', rollback_reason,
                    'rollback_type', rollback_type,
                    'started_at', started_at
                ) ORDER BY started_at DESC
            )
            FROM (
                SELECT pipeline_id, rollback_reason, rollback_type, started_at
                FROM deployment_rollbacks
                WHERE started_at > NOW() - INTERVAL '7 days'
                ORDER BY started_at DESC
                LIMIT 10
            ) recent
        ), '[]'::jsonb)
    );
$$ LANGUAGE sql STABLE SET TimeZone = 'UTC';
