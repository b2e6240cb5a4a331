-- Group rfm: recency, frequency and monetary value over 30 / 90 / 365-day windows.
-- Frequency counts purchase orders; monetary is net spend (purchases minus returns made in
-- the same window). Windows end just before the cutoff: [cutoff - N days, cutoff).
-- Parameters: $cutoff.
WITH per_customer AS (
    SELECT
        customer_id,
        max(ts) FILTER (WHERE is_purchase) AS last_order_ts,
        min(ts) FILTER (WHERE is_purchase) AS first_order_ts,
        count(*) FILTER (WHERE is_purchase AND ts >= $cutoff - INTERVAL 30 DAY) AS orders_30d,
        count(*) FILTER (WHERE is_purchase AND ts >= $cutoff - INTERVAL 90 DAY) AS orders_90d,
        count(*) FILTER (WHERE is_purchase AND ts >= $cutoff - INTERVAL 365 DAY) AS orders_365d,
        count(*) FILTER (WHERE is_purchase) AS orders_lifetime,
        sum(purchase_amount - returned_amount)
            FILTER (WHERE ts >= $cutoff - INTERVAL 30 DAY) AS net_spend_30d,
        sum(purchase_amount - returned_amount)
            FILTER (WHERE ts >= $cutoff - INTERVAL 90 DAY) AS net_spend_90d,
        sum(purchase_amount - returned_amount)
            FILTER (WHERE ts >= $cutoff - INTERVAL 365 DAY) AS net_spend_365d,
        sum(purchase_amount - returned_amount) AS net_spend_lifetime
    FROM {{ ref('order_headers') }}
    GROUP BY customer_id
)
SELECT
    p.customer_id,
    (epoch($cutoff) - epoch(c.last_order_ts)) / 86400.0 AS days_since_last_order,
    (epoch($cutoff) - epoch(c.first_order_ts)) / 86400.0 AS days_since_first_order,
    coalesce(c.orders_30d, 0) AS orders_30d,
    coalesce(c.orders_90d, 0) AS orders_90d,
    coalesce(c.orders_365d, 0) AS orders_365d,
    coalesce(c.orders_lifetime, 0) AS orders_lifetime,
    CAST(coalesce(c.net_spend_30d, 0) AS DOUBLE) AS net_spend_30d,
    CAST(coalesce(c.net_spend_90d, 0) AS DOUBLE) AS net_spend_90d,
    CAST(coalesce(c.net_spend_365d, 0) AS DOUBLE) AS net_spend_365d,
    CAST(coalesce(c.net_spend_lifetime, 0) AS DOUBLE) AS net_spend_lifetime
FROM {{ ref('population') }} AS p
LEFT JOIN per_customer AS c USING (customer_id)
