-- Category purchase labels (propensity / cross-sell), long format: one row per customer of
-- the population and product category; purchased is true when the customer bought (a
-- non-return line) in that category in the horizon [cutoff, horizon_end).
-- Parameters: $cutoff, $horizon_end.
WITH bought AS (
    SELECT DISTINCT o.customer_id, pr.category
    FROM orders AS o
    JOIN products AS pr USING (product_id)
    WHERE NOT o.is_return AND o.ts >= $cutoff AND o.ts < $horizon_end
),
categories AS (
    SELECT DISTINCT category FROM products
)
SELECT
    p.customer_id,
    k.category,
    b.customer_id IS NOT NULL AS purchased
FROM {{ ref('population') }} AS p
CROSS JOIN categories AS k
LEFT JOIN bought AS b ON b.customer_id = p.customer_id AND b.category = k.category
