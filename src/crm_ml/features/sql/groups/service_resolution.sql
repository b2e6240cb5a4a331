-- Group service_resolution: tickets still open at the cutoff. A ticket resolved at or after
-- the cutoff was open at the cutoff, so it counts as unresolved.
-- Parameters: $cutoff.
WITH per_customer AS (
    SELECT
        customer_id,
        count(*) AS open_tickets,
        count(*) FILTER (WHERE kind = 'complaint') AS open_complaints
    FROM tickets
    WHERE opened_ts < $cutoff AND (resolved_ts IS NULL OR resolved_ts >= $cutoff)
    GROUP BY customer_id
)
SELECT
    p.customer_id,
    coalesce(c.open_complaints, 0) AS complaints_unresolved,
    coalesce(c.open_tickets, 0) AS tickets_unresolved
FROM {{ ref('population') }} AS p
LEFT JOIN per_customer AS c USING (customer_id)
