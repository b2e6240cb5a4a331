-- Group service_csat: satisfaction ratings of tickets resolved before the cutoff (a rating
-- is given at resolution, so a ticket resolved later has no rating yet at the cutoff).
-- Parameters: $cutoff.
WITH rated AS (
    SELECT
        customer_id,
        resolved_ts,
        csat,
        row_number() OVER (PARTITION BY customer_id ORDER BY resolved_ts DESC, csat DESC)
            AS recency_rank
    FROM tickets
    WHERE resolved_ts < $cutoff AND csat IS NOT NULL
),
per_customer AS (
    SELECT
        customer_id,
        max(csat) FILTER (WHERE recency_rank = 1) AS last_csat,
        avg(csat) FILTER (WHERE resolved_ts >= $cutoff - INTERVAL 365 DAY) AS mean_csat
    FROM rated
    GROUP BY customer_id
)
SELECT
    p.customer_id,
    CAST(c.last_csat AS DOUBLE) AS last_csat,
    c.mean_csat AS mean_csat_365d
FROM {{ ref('population') }} AS p
LEFT JOIN per_customer AS c USING (customer_id)
