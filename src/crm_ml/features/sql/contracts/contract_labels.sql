-- Labels of the contracts active at the cutoff, over the horizon [cutoff, horizon_end):
--   ended_in_horizon         the contract ends (cancelled, not renewed, closed) in the horizon
--   balance_drop_in_horizon  a month-end balance of the contract's product stamped in the
--                            horizon falls below half of the month before (financial
--                            services); FALSE without balances
--   contract_churned         either of the two
-- Parameters: $cutoff, $horizon_end.
WITH drops AS (
    SELECT DISTINCT customer_id, product_id
    FROM (
        SELECT
            customer_id,
            product_id,
            month,
            balance,
            lag(balance) OVER (PARTITION BY customer_id, product_id ORDER BY month) AS previous
        FROM balances
        WHERE month >= $cutoff - INTERVAL 40 DAY AND month < $horizon_end
    )
    WHERE month >= $cutoff AND balance < 0.5 * previous
)
SELECT
    a.subscription_id,
    coalesce(s.end_ts < $horizon_end, FALSE) AS ended_in_horizon,
    d.customer_id IS NOT NULL AS balance_drop_in_horizon,
    coalesce(s.end_ts < $horizon_end, FALSE) OR d.customer_id IS NOT NULL AS contract_churned
FROM {{ ref('contracts_active') }} AS a
JOIN subscriptions AS s ON s.subscription_id = a.subscription_id
LEFT JOIN drops AS d ON d.customer_id = a.customer_id AND d.product_id = a.product_id
