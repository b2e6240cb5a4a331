-- Group service_response: first-response time against the service-level target of the
-- ticket's kind and the customer's service tier, for tickets opened in the last 365 days.
-- A response counts only when it happened before the cutoff. A ticket still waiting at the
-- cutoff is already a breach once it has waited longer than its target.
-- Parameters: $cutoff. sla_targets (service_tier, kind, target_minutes) holds
-- FeatureConfig.sla_target_minutes.
WITH timed AS (
    SELECT
        t.customer_id,
        s.target_minutes,
        CASE
            WHEN t.first_response_ts < $cutoff
                THEN epoch_us(t.first_response_ts) - epoch_us(t.opened_ts)
        END AS response_us,
        (epoch(least(coalesce(t.first_response_ts, $cutoff), $cutoff)) - epoch(t.opened_ts)) / 60.0
            AS waited_minutes
    FROM tickets AS t
    JOIN {{ ref('service_tier') }} AS st USING (customer_id)
    JOIN sla_targets AS s ON s.service_tier = st.service_tier AND s.kind = t.kind
    WHERE t.opened_ts < $cutoff AND t.opened_ts >= $cutoff - INTERVAL 365 DAY
),
per_customer AS (
    SELECT
        customer_id,
        avg(response_us) / 60e6 AS mean_response,
        -- exact terms, so the mean does not depend on the order they are added in
        avg(CAST(response_us / 60e6 / target_minutes AS DECIMAL(38, 18))) AS mean_response_vs_target,
        count(*) FILTER (WHERE waited_minutes > target_minutes) AS breaches,
        count(*) AS tickets
    FROM timed
    GROUP BY customer_id
)
SELECT
    p.customer_id,
    c.mean_response AS mean_first_response_minutes_365d,
    c.mean_response_vs_target AS first_response_vs_target_365d,
    coalesce(c.breaches, 0) AS sla_breaches_365d,
    CAST(c.breaches AS DOUBLE) / nullif(c.tickets, 0) AS sla_breach_rate_365d
FROM {{ ref('population') }} AS p
LEFT JOIN per_customer AS c USING (customer_id)
