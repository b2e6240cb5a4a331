-- Group basket: size and value of the customer's purchase orders in the last 365 days.
-- Parameters: $cutoff.
WITH per_customer AS (
    SELECT
        customer_id,
        avg(purchase_items) AS avg_items,
        avg(purchase_lines) AS avg_lines,
        avg(purchase_amount) AS avg_value
    FROM {{ ref('order_headers') }}
    WHERE is_purchase AND ts >= $cutoff - INTERVAL 365 DAY
    GROUP BY customer_id
)
SELECT
    p.customer_id,
    c.avg_items AS avg_items_per_order_365d,
    c.avg_lines AS avg_lines_per_order_365d,
    c.avg_value AS avg_order_value_365d
FROM {{ ref('population') }} AS p
LEFT JOIN per_customer AS c USING (customer_id)
