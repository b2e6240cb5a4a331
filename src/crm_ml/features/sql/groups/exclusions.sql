-- Group exclusions: negative feedback recorded before the cutoff (categories the customer
-- dismissed or complained about).
-- Parameters: $cutoff.
WITH per_customer AS (
    SELECT customer_id, count(*) AS n, count(DISTINCT category) AS categories
    FROM exclusions
    WHERE ts < $cutoff
    GROUP BY customer_id
)
SELECT
    p.customer_id,
    coalesce(c.n, 0) AS exclusions_count,
    coalesce(c.categories, 0) AS excluded_categories
FROM {{ ref('population') }} AS p
LEFT JOIN per_customer AS c USING (customer_id)
