-- Group service: support tickets opened before the cutoff, by kind.
-- Parameters: $cutoff.
WITH per_customer AS (
    SELECT
        customer_id,
        max(opened_ts) AS last_ticket_ts,
        count(*) FILTER (WHERE kind = 'complaint' AND opened_ts >= $cutoff - INTERVAL 365 DAY) AS complaints_365d,
        count(*) FILTER (WHERE kind = 'fault' AND opened_ts >= $cutoff - INTERVAL 365 DAY) AS faults_365d,
        count(*) FILTER (WHERE kind = 'consult' AND opened_ts >= $cutoff - INTERVAL 365 DAY) AS consults_365d,
        count(*) FILTER (WHERE opened_ts >= $cutoff - INTERVAL 90 DAY) AS tickets_90d
    FROM tickets
    WHERE opened_ts < $cutoff
    GROUP BY customer_id
)
SELECT
    p.customer_id,
    coalesce(c.complaints_365d, 0) AS complaints_365d,
    coalesce(c.faults_365d, 0) AS faults_365d,
    coalesce(c.consults_365d, 0) AS consults_365d,
    coalesce(c.tickets_90d, 0) AS tickets_90d,
    (epoch($cutoff) - epoch(c.last_ticket_ts)) / 86400.0 AS days_since_last_ticket
FROM {{ ref('population') }} AS p
LEFT JOIN per_customer AS c USING (customer_id)
