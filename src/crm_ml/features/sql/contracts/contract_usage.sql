-- Group contract_usage: product usage (events of type usage) by the holder's contacts, per
-- calendar month before the cutoff's month (k = 1 is the month before it; k = 0, the part of
-- the cutoff's month before the cutoff, enters the recency-weighted rate), per seat-month
-- the holder had under contract in that month: each of its contracts counts its seats (1
-- when unknown) times the share of the month it ran, so usage from a contract that ended, or
-- months before a new one started, is set against the seats that produced it. Beside the
-- plain windows, a recency-weighted rate (weight 0.8 per month back) and the seat-months
-- behind it (how much evidence the rate rests on), and how far the holder's recent uses fall
-- from what its seat-months would give at the median holder's rate, in Poisson standard
-- deviations: a shortfall on many seats says more than the same rate on two.
-- Point in time: an end after the cutoff is unknown at the cutoff, so such a contract runs
-- to the cutoff here.
-- Parameters: $cutoff.
WITH calendar AS (
    SELECT *
    FROM (
        SELECT
            k,
            date_trunc('month', $cutoff) - to_months(CAST(k AS INTEGER)) AS month_start,
            least(date_trunc('month', $cutoff) - to_months(CAST(k - 1 AS INTEGER)), $cutoff)
                AS month_end,
            epoch(date_trunc('month', $cutoff) - to_months(CAST(k - 1 AS INTEGER)))
            - epoch(date_trunc('month', $cutoff) - to_months(CAST(k AS INTEGER))) AS month_seconds
        FROM range(0, 13) AS t(k)
    )
    WHERE month_end > month_start
),
exposure AS (
    SELECT
        coalesce(c.account_id, s.customer_id) AS holder_id,
        m.k,
        sum(
            coalesce(s.seats, 1) * (
                epoch(least(
                    CASE WHEN s.end_ts < $cutoff THEN s.end_ts ELSE $cutoff END, m.month_end
                )) - epoch(greatest(s.start_ts, m.month_start))
            ) / m.month_seconds
        ) AS seat_months
    FROM subscriptions AS s
    JOIN customers AS c USING (customer_id)
    JOIN calendar AS m
        ON s.start_ts < m.month_end
        AND (s.end_ts IS NULL OR s.end_ts >= $cutoff OR s.end_ts > m.month_start)
    WHERE s.start_ts < $cutoff
    GROUP BY 1, 2
),
uses AS (
    SELECT
        coalesce(c.account_id, c.customer_id) AS holder_id,
        date_diff('month', date_trunc('month', e.ts), date_trunc('month', $cutoff)) AS k,
        count(*) AS uses,
        max(e.ts) AS last_ts
    FROM events AS e
    JOIN customers AS c USING (customer_id)
    WHERE e.event_type = 'usage' AND e.ts < $cutoff
        AND e.ts >= date_trunc('month', $cutoff) - INTERVAL 12 MONTH
    GROUP BY 1, 2
),
holder_months AS (
    SELECT x.holder_id, x.k, x.seat_months, coalesce(u.uses, 0) AS uses, u.last_ts
    FROM exposure AS x
    LEFT JOIN uses AS u USING (holder_id, k)
),
per_holder AS (
    SELECT
        holder_id,
        sum(uses) FILTER (WHERE k = 1) / nullif(sum(seat_months) FILTER (WHERE k = 1), 0)
            AS usage_per_seat_m1,
        sum(uses) FILTER (WHERE k = 2) / nullif(sum(seat_months) FILTER (WHERE k = 2), 0)
            AS usage_per_seat_m2,
        sum(uses) FILTER (WHERE k = 3) / nullif(sum(seat_months) FILTER (WHERE k = 3), 0)
            AS usage_per_seat_m3,
        sum(uses) FILTER (WHERE k BETWEEN 1 AND 3)
            / nullif(sum(seat_months) FILTER (WHERE k BETWEEN 1 AND 3), 0) AS usage_per_seat_3m,
        sum(uses) FILTER (WHERE k BETWEEN 4 AND 6)
            / nullif(sum(seat_months) FILTER (WHERE k BETWEEN 4 AND 6), 0) AS usage_per_seat_q2,
        sum(uses) FILTER (WHERE k >= 1) / nullif(sum(seat_months) FILTER (WHERE k >= 1), 0)
            AS usage_per_seat_12m,
        sum(uses * pow(0.8, k)) / nullif(sum(seat_months * pow(0.8, k)), 0)
            AS usage_per_seat_ew,
        sum(seat_months * pow(0.8, k)) AS seat_months_ew,
        sum(uses * pow(0.8, k)) AS uses_ew,
        max(last_ts) AS last_usage_ts
    FROM holder_months
    GROUP BY holder_id
),
typical AS (
    SELECT median(usage_per_seat_ew) AS rate FROM per_holder WHERE seat_months_ew > 0
),
seats AS (
    SELECT holder_id, greatest(coalesce(sum(seats), count(*)), 1) AS holder_seats
    FROM {{ ref('contracts_active') }}
    GROUP BY holder_id
)
SELECT
    a.subscription_id,
    s.holder_seats,
    u.usage_per_seat_m1,
    u.usage_per_seat_m2,
    u.usage_per_seat_m3,
    u.usage_per_seat_3m,
    u.usage_per_seat_12m,
    u.usage_per_seat_ew,
    coalesce(u.seat_months_ew, 0) AS seat_months_ew,
    (u.uses_ew - u.seat_months_ew * t.rate) / sqrt(nullif(u.seat_months_ew * t.rate, 0))
        AS usage_z_ew,
    (u.usage_per_seat_3m + 0.1) / (u.usage_per_seat_q2 + 0.1) AS usage_trend,
    (epoch($cutoff) - epoch(u.last_usage_ts)) / 86400.0 AS days_since_last_usage
FROM {{ ref('contracts_active') }} AS a
JOIN seats AS s USING (holder_id)
LEFT JOIN per_holder AS u USING (holder_id)
CROSS JOIN typical AS t
