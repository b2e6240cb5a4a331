-- Group contract_service: support tickets of the holder's contacts before the cutoff.
-- Parameters: $cutoff.
WITH per_holder AS (
    SELECT
        coalesce(c.account_id, c.customer_id) AS holder_id,
        count(*) FILTER (
            WHERE t.kind = 'complaint' AND t.opened_ts >= $cutoff - INTERVAL 365 DAY
        ) AS holder_complaints_365d,
        count(*) FILTER (WHERE t.opened_ts >= $cutoff - INTERVAL 90 DAY) AS holder_tickets_90d,
        count(*) FILTER (
            WHERE t.resolved_ts IS NULL OR t.resolved_ts >= $cutoff
        ) AS holder_open_tickets
    FROM tickets AS t
    JOIN customers AS c USING (customer_id)
    WHERE t.opened_ts < $cutoff
    GROUP BY 1
)
SELECT
    a.subscription_id,
    coalesce(h.holder_complaints_365d, 0) AS holder_complaints_365d,
    coalesce(h.holder_tickets_90d, 0) AS holder_tickets_90d,
    coalesce(h.holder_open_tickets, 0) AS holder_open_tickets
FROM {{ ref('contracts_active') }} AS a
LEFT JOIN per_holder AS h USING (holder_id)
