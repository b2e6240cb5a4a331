-- Group category_mix: how broad the customer's purchases are across product categories in
-- the last 365 days, and how concentrated their spend is on the favourite one.
-- Parameters: $cutoff.
WITH spend_by_category AS (
    SELECT o.customer_id, pr.category, sum(CAST(o.amount AS DECIMAL(18, 4))) AS amount
    FROM orders AS o
    JOIN products AS pr USING (product_id)
    WHERE o.ts < $cutoff AND o.ts >= $cutoff - INTERVAL 365 DAY AND NOT o.is_return
    GROUP BY o.customer_id, pr.category
),
per_customer AS (
    SELECT
        customer_id,
        count(*) AS categories,
        CAST(max(amount) AS DOUBLE) / nullif(CAST(sum(amount) AS DOUBLE), 0) AS top_share
    FROM spend_by_category
    GROUP BY customer_id
)
SELECT
    p.customer_id,
    coalesce(c.categories, 0) AS distinct_categories_365d,
    c.top_share AS top_category_spend_share_365d
FROM {{ ref('population') }} AS p
LEFT JOIN per_customer AS c USING (customer_id)
