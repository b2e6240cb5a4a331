-- Group purchase_rhythm: how often the customer buys, whether that is speeding up or slowing
-- down, and how overdue the next order is against the customer's own usual gap.
-- The mean gap between n orders is (last - first) / (n - 1); the 90-day versions use only
-- the orders inside [cutoff - 90d, cutoff) and the 90 days before that, [cutoff - 180d,
-- cutoff - 90d), so a gap needs two orders inside the same window.
-- Parameters: $cutoff.
WITH purchases AS (
    SELECT customer_id, ts,
        ts >= $cutoff - INTERVAL 90 DAY AS in_last_90d,
        ts >= $cutoff - INTERVAL 180 DAY AND ts < $cutoff - INTERVAL 90 DAY AS in_prev_90d
    FROM {{ ref('order_headers') }}
    WHERE is_purchase
),
per_customer AS (
    SELECT
        customer_id,
        count(*) AS n_all,
        epoch(max(ts)) - epoch(min(ts)) AS span_all,
        max(ts) AS last_ts,
        count(*) FILTER (WHERE in_last_90d) AS n_last,
        epoch(max(ts) FILTER (WHERE in_last_90d))
            - epoch(min(ts) FILTER (WHERE in_last_90d)) AS span_last,
        count(*) FILTER (WHERE in_prev_90d) AS n_prev,
        epoch(max(ts) FILTER (WHERE in_prev_90d))
            - epoch(min(ts) FILTER (WHERE in_prev_90d)) AS span_prev
    FROM purchases
    GROUP BY customer_id
),
gaps AS (
    SELECT
        customer_id,
        n_last,
        n_prev,
        (epoch($cutoff) - epoch(last_ts)) / 86400.0 AS days_since_last,
        CASE WHEN n_all >= 2 THEN span_all / 86400.0 / (n_all - 1) END AS gap_all,
        CASE WHEN n_last >= 2 THEN span_last / 86400.0 / (n_last - 1) END AS gap_last,
        CASE WHEN n_prev >= 2 THEN span_prev / 86400.0 / (n_prev - 1) END AS gap_prev
    FROM per_customer
)
SELECT
    p.customer_id,
    g.gap_all AS mean_days_between_orders,
    g.gap_last AS mean_days_between_orders_90d,
    g.gap_prev AS mean_days_between_orders_prev_90d,
    g.gap_last - g.gap_prev AS days_between_orders_change_90d,
    coalesce(g.n_last, 0) - coalesce(g.n_prev, 0) AS order_count_change_90d,
    g.days_since_last / nullif(g.gap_all, 0) AS days_since_last_order_vs_usual_gap
FROM {{ ref('population') }} AS p
LEFT JOIN gaps AS g USING (customer_id)
