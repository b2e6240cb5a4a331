-- Group channel_mix: through how many sales channels the customer ordered in the last 365
-- days, and the share of orders placed through the most used one.
-- Parameters: $cutoff.
WITH orders_by_channel AS (
    SELECT customer_id, channel, count(*) AS n
    FROM {{ ref('order_headers') }}
    WHERE is_purchase AND channel IS NOT NULL AND ts >= $cutoff - INTERVAL 365 DAY
    GROUP BY customer_id, channel
),
per_customer AS (
    SELECT customer_id, count(*) AS channels, CAST(max(n) AS DOUBLE) / sum(n) AS top_share
    FROM orders_by_channel
    GROUP BY customer_id
)
SELECT
    p.customer_id,
    coalesce(c.channels, 0) AS distinct_order_channels_365d,
    c.top_share AS top_channel_order_share_365d
FROM {{ ref('population') }} AS p
LEFT JOIN per_customer AS c USING (customer_id)
