-- Group contract_billing: the recurring bills (order lines of channel 'billing') of the
-- contract's customer before the cutoff: the last bill, price rises and plan changes.
-- Parameters: $cutoff.
WITH bills AS (
    SELECT
        customer_id,
        ts,
        amount,
        product_id,
        lag(amount) OVER w AS previous_amount,
        lag(product_id) OVER w AS previous_product
    FROM orders
    WHERE channel = 'billing' AND NOT is_return AND ts < $cutoff
    WINDOW w AS (PARTITION BY customer_id ORDER BY ts)
),
per_customer AS (
    SELECT
        customer_id,
        arg_max(amount, ts) AS last_bill_amount,
        count(*) FILTER (
            WHERE amount > previous_amount * 1.01 AND product_id = previous_product
        ) AS price_rises,
        max(ts) FILTER (
            WHERE amount > previous_amount * 1.01 AND product_id = previous_product
        ) AS last_price_rise_ts,
        count(*) FILTER (
            WHERE product_id <> previous_product AND ts >= $cutoff - INTERVAL 365 DAY
        ) AS plan_changes_365d,
        count(*) FILTER (
            WHERE product_id <> previous_product AND amount < previous_amount
            AND ts >= $cutoff - INTERVAL 365 DAY
        ) AS downgrades_365d,
        count(*) FILTER (
            WHERE product_id <> previous_product AND amount < previous_amount
            AND ts >= $cutoff - INTERVAL 90 DAY
        ) AS downgrades_90d
    FROM bills
    GROUP BY customer_id
)
SELECT
    a.subscription_id,
    b.last_bill_amount,
    coalesce(b.price_rises, 0) AS price_rises,
    (epoch($cutoff) - epoch(b.last_price_rise_ts)) / 86400.0 AS days_since_price_rise,
    coalesce(b.plan_changes_365d, 0) AS plan_changes_365d,
    coalesce(b.downgrades_365d, 0) AS downgrades_365d,
    coalesce(b.downgrades_90d, 0) AS downgrades_90d
FROM {{ ref('contracts_active') }} AS a
LEFT JOIN per_customer AS b USING (customer_id)
