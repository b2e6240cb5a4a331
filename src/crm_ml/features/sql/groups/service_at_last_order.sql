-- Group service_at_last_order: the service trouble the customer saw when they last bought,
-- and tickets since. A customer is most likely to decide to leave at a purchase made while
-- a complaint is still open or after a late first response. A complaint is open at the
-- last order when opened before it and not resolved before it; a breach is visible then
-- when the ticket was opened in the 90 days before it, its target passed before it and no
-- first response came within the target (a response at or after the cutoff is unknown, but
-- then it is certainly later than the target). Tickets since the last order and the
-- customer's ticket rate before it mirror the engagement group: a departed customer stops
-- contacting service too.
-- Parameters: $cutoff. sla_targets (service_tier, kind, target_minutes) holds
-- FeatureConfig.sla_target_minutes.
WITH past AS (
    SELECT
        t.customer_id,
        t.kind,
        t.opened_ts,
        CASE WHEN t.first_response_ts < $cutoff THEN t.first_response_ts END AS responded_ts,
        CASE WHEN t.resolved_ts < $cutoff THEN t.resolved_ts END AS resolved_ts,
        l.last_order_ts,
        s.target_minutes
    FROM tickets AS t
    JOIN {{ ref('last_order') }} AS l USING (customer_id)
    JOIN {{ ref('service_tier') }} AS st USING (customer_id)
    JOIN sla_targets AS s ON s.service_tier = st.service_tier AND s.kind = t.kind
    WHERE t.opened_ts < $cutoff
),
per_customer AS (
    SELECT
        customer_id,
        count(*) FILTER (
            WHERE kind = 'complaint' AND opened_ts < last_order_ts
                AND (resolved_ts IS NULL OR resolved_ts >= last_order_ts)
        ) AS open_complaints,
        count(*) FILTER (
            WHERE opened_ts >= last_order_ts - INTERVAL 90 DAY
                AND epoch(opened_ts) + 60 * target_minutes <= epoch(last_order_ts)
                AND (responded_ts IS NULL
                    OR epoch(responded_ts) - epoch(opened_ts) > 60 * target_minutes)
        ) AS breaches,
        count(*) FILTER (WHERE opened_ts > last_order_ts) AS tickets_after,
        count(*) FILTER (
            WHERE opened_ts <= last_order_ts AND opened_ts >= last_order_ts - INTERVAL 365 DAY
        ) AS tickets_before
    FROM past
    GROUP BY customer_id
)
SELECT
    p.customer_id,
    CASE WHEN l.last_order_ts IS NOT NULL THEN coalesce(c.open_complaints, 0) END
        AS open_complaints_at_last_order,
    CASE WHEN l.last_order_ts IS NOT NULL THEN coalesce(c.breaches, 0) END
        AS sla_breaches_before_last_order,
    CASE WHEN l.last_order_ts IS NOT NULL THEN coalesce(c.tickets_after, 0) END
        AS tickets_since_last_order,
    CASE WHEN l.last_order_ts IS NOT NULL THEN coalesce(c.tickets_before, 0) END
        AS tickets_year_before_last_order
FROM {{ ref('population') }} AS p
LEFT JOIN {{ ref('last_order') }} AS l USING (customer_id)
LEFT JOIN per_customer AS c USING (customer_id)
