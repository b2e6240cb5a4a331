-- Service tier as of the cutoff; it picks the first-response target of each ticket.
--   core:      the top $core_tier_share of customers with a purchase in the last 365 days,
--              ranked by their net spend in those 365 days (percent rank)
--   regular:   any other customer with a purchase in the last 365 days
--   potential: no purchase in the last 365 days (new, lapsed or never bought)
-- Parameters: $cutoff, $core_tier_share. Output: customer_id, service_tier.
WITH spend_365d AS (
    SELECT customer_id, sum(purchase_amount - returned_amount) AS net_spend_365d
    FROM {{ ref('order_headers') }}
    WHERE ts >= $cutoff - INTERVAL 365 DAY
        AND customer_id IN (SELECT customer_id FROM {{ ref('population') }})
    GROUP BY customer_id
    HAVING bool_or(is_purchase)
),
ranked AS (
    SELECT customer_id, percent_rank() OVER (ORDER BY net_spend_365d) AS spend_rank
    FROM spend_365d
)
SELECT
    p.customer_id,
    CASE
        WHEN r.spend_rank >= 1 - $core_tier_share THEN 'core'
        WHEN r.customer_id IS NOT NULL THEN 'regular'
        ELSE 'potential'
    END AS service_tier
FROM {{ ref('population') }} AS p
LEFT JOIN ranked AS r USING (customer_id)
