-- Group contract_holder: the holder's other contracts and its contacts.
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
        ) AS holder_contracts_ended_365d
    FROM subscriptions AS s
    JOIN holders AS h USING (customer_id)
    WHERE s.start_ts < $cutoff
    GROUP BY h.holder_id
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
    coalesce(k.holder_contacts, 1) AS holder_contacts
FROM {{ ref('contracts_active') }} AS a
LEFT JOIN contracts AS c USING (holder_id)
LEFT JOIN contacts AS k USING (holder_id)
