-- Group engagement: digital activity before the cutoff from the events table.
-- Visits are sessions plus app opens; visits_change_90d compares the last 90 days with the
-- 90 days before. orders_per_cart_add_90d is the cart-to-order ratio: purchase orders per
-- cart add in the last 90 days (NULL without cart adds).
-- Parameters: $cutoff.
WITH orders_90d AS (
    SELECT customer_id, count(*) AS n
    FROM {{ ref('order_headers') }}
    WHERE is_purchase AND ts >= $cutoff - INTERVAL 90 DAY
    GROUP BY customer_id
)
SELECT
    p.customer_id,
    coalesce(e.sessions_30d, 0) AS sessions_30d,
    coalesce(e.sessions_90d, 0) AS sessions_90d,
    coalesce(e.app_opens_30d, 0) AS app_opens_30d,
    coalesce(e.app_opens_90d, 0) AS app_opens_90d,
    coalesce(e.views_30d, 0) AS views_30d,
    coalesce(e.views_90d, 0) AS views_90d,
    coalesce(e.searches_90d, 0) AS searches_90d,
    coalesce(e.cart_adds_30d, 0) AS cart_adds_30d,
    coalesce(e.cart_adds_90d, 0) AS cart_adds_90d,
    CAST(coalesce(o.n, 0) AS DOUBLE) / nullif(e.cart_adds_90d, 0) AS orders_per_cart_add_90d,
    (epoch($cutoff) - epoch(e.last_event_ts)) / 86400.0 AS days_since_last_event,
    coalesce(e.sessions_90d + e.app_opens_90d - e.visits_prev_90d, 0) AS visits_change_90d
FROM {{ ref('population') }} AS p
LEFT JOIN {{ ref('event_activity') }} AS e USING (customer_id)
LEFT JOIN orders_90d AS o USING (customer_id)
