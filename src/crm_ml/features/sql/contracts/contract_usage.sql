-- Group contract_usage: product usage (events of type usage) by the holder's contacts, per
-- calendar month before the cutoff's month and per seat the holder has under contract (an
-- account's usage spreads over all its active contracts).
-- Parameters: $cutoff.
WITH seats AS (
    SELECT holder_id, greatest(coalesce(sum(seats), count(*)), 1) AS holder_seats
    FROM {{ ref('contracts_active') }}
    GROUP BY holder_id
),
monthly AS (
    SELECT
        coalesce(c.account_id, c.customer_id) AS holder_id,
        date_diff('month', date_trunc('month', e.ts), date_trunc('month', $cutoff)) AS back,
        count(*) AS uses,
        max(e.ts) AS last_ts
    FROM events AS e
    JOIN customers AS c USING (customer_id)
    WHERE e.event_type = 'usage' AND e.ts < $cutoff AND e.ts >= $cutoff - INTERVAL 400 DAY
    GROUP BY 1, 2
),
per_holder AS (
    SELECT
        holder_id,
        sum(uses) FILTER (WHERE back = 1) AS m1,
        sum(uses) FILTER (WHERE back = 2) AS m2,
        sum(uses) FILTER (WHERE back = 3) AS m3,
        sum(uses) FILTER (WHERE back BETWEEN 1 AND 3) AS q1,
        sum(uses) FILTER (WHERE back BETWEEN 4 AND 6) AS q2,
        sum(uses) FILTER (WHERE back BETWEEN 1 AND 12) AS y1,
        max(last_ts) AS last_usage_ts
    FROM monthly
    GROUP BY holder_id
)
SELECT
    a.subscription_id,
    s.holder_seats,
    coalesce(u.m1, 0) / s.holder_seats AS usage_per_seat_m1,
    coalesce(u.m2, 0) / s.holder_seats AS usage_per_seat_m2,
    coalesce(u.m3, 0) / s.holder_seats AS usage_per_seat_m3,
    coalesce(u.q1, 0) / s.holder_seats / 3.0 AS usage_per_seat_3m,
    coalesce(u.y1, 0) / s.holder_seats / 12.0 AS usage_per_seat_12m,
    (coalesce(u.q1, 0) + 1.0) / (coalesce(u.q2, 0) + 1.0) AS usage_trend,
    (epoch($cutoff) - epoch(u.last_usage_ts)) / 86400.0 AS days_since_last_usage
FROM {{ ref('contracts_active') }} AS a
JOIN seats AS s USING (holder_id)
LEFT JOIN per_holder AS u USING (holder_id)
