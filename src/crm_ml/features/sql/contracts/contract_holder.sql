-- Group contract_holder: the holder's other contracts and its contacts, and what its
-- contracts' decisions said about it: an end is the holder leaving somewhere, a term
-- contract renewed is it staying, and the more recent, the more it says about today (ends
-- recency-weighted: 1 in the cutoff's own month, 0.8 per calendar month further back).
-- Parameters: $cutoff.
WITH holders AS (
    SELECT customer_id, coalesce(account_id, customer_id) AS holder_id, signup_ts
    FROM customers
    WHERE signup_ts < $cutoff
),
contracts AS (
    SELECT
        h.holder_id,
        count(*) FILTER (WHERE s.end_ts IS NULL OR s.end_ts >= $cutoff) AS holder_active_contracts,
        count(*) FILTER (
            WHERE s.end_ts < $cutoff AND s.end_ts >= $cutoff - INTERVAL 365 DAY
        ) AS holder_contracts_ended_365d,
        sum(
            pow(0.8, date_diff('month', date_trunc('month', s.end_ts), date_trunc('month', $cutoff)))
        ) FILTER (WHERE s.end_ts < $cutoff AND s.end_ts >= $cutoff - INTERVAL 365 DAY)
            AS holder_ends_ew,
        (epoch($cutoff) - epoch(max(s.end_ts) FILTER (WHERE s.end_ts < $cutoff))) / 86400.0
            AS holder_days_since_end
    FROM subscriptions AS s
    JOIN holders AS h USING (customer_id)
    WHERE s.start_ts < $cutoff
    GROUP BY h.holder_id
),
renewed AS (
    -- the last renewal each running term contract of the holder came through
    SELECT
        holder_id,
        (epoch($cutoff) - epoch(max(
            start_ts + to_months(CAST(renewals_done * cycle_months AS INTEGER))
        ))) / 86400.0 AS holder_days_since_renewal
    FROM {{ ref('contracts_active') }}
    WHERE term_months IS NOT NULL AND renewals_done >= 1
    GROUP BY holder_id
),
contacts AS (
    SELECT holder_id, count(*) AS holder_contacts
    FROM holders
    GROUP BY holder_id
)
SELECT
    a.subscription_id,
    coalesce(c.holder_active_contracts, 0) AS holder_active_contracts,
    coalesce(c.holder_contracts_ended_365d, 0) AS holder_contracts_ended_365d,
    coalesce(c.holder_ends_ew, 0) AS holder_ends_ew,
    c.holder_days_since_end,
    r.holder_days_since_renewal,
    coalesce(k.holder_contacts, 1) AS holder_contacts
FROM {{ ref('contracts_active') }} AS a
LEFT JOIN contracts AS c USING (holder_id)
LEFT JOIN renewed AS r USING (holder_id)
LEFT JOIN contacts AS k USING (holder_id)
