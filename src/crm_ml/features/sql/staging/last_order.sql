-- Staging: each customer's latest purchase before the cutoff (returns are not purchases).
-- Several groups read their features relative to it (engagement, service and campaigns
-- since the last order), so it is computed once per cutoff.
-- Parameters: $cutoff (through order_headers). Output: customer_id, last_order_ts.
SELECT customer_id, max(ts) AS last_order_ts
FROM {{ ref('order_headers') }}
WHERE is_purchase
GROUP BY customer_id
