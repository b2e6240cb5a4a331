-- Group returns: how much of what the customer bought in the last 365 days came back.
-- return_rate_365d = value returned / value purchased in the window (NULL without purchases).
-- Parameters: $cutoff.
WITH per_customer AS (
    SELECT
        customer_id,
        sum(returned_amount) AS returned,
        sum(purchase_amount) AS purchased,
        count(*) FILTER (WHERE returned_amount > 0) AS return_orders
    FROM {{ ref('order_headers') }}
    WHERE ts >= $cutoff - INTERVAL 365 DAY
    GROUP BY customer_id
)
SELECT
    p.customer_id,
    CAST(c.returned AS DOUBLE) / nullif(CAST(c.purchased AS DOUBLE), 0) AS return_rate_365d,
    coalesce(c.return_orders, 0) AS returns_365d
FROM {{ ref('population') }} AS p
LEFT JOIN per_customer AS c USING (customer_id)
