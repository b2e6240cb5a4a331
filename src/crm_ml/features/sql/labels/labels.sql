-- Labels as of the cutoff, one row per customer of the population. The horizon is
-- [cutoff, horizon_end): a row at exactly the cutoff belongs to the labels, never to the
-- features, so every row falls on exactly one side.
--   is_active                 at least one purchase (non-return) line in [cutoff - 365d, cutoff);
--                             the only look before the cutoff, because churn needs it
--   churned                   active and no purchase line in the horizon; NULL if not active
--   orders_horizon            purchase orders in the horizon
--   spend_horizon             CLV target: net value of all order lines dated in the horizon,
--                             purchases minus returns (a return in the horizon of an
--                             earlier purchase lowers it; it can be negative)
--   campaign_contacts_horizon contacts sent in the horizon (control group excluded)
--   campaign_responded        1 if any of them got a response before horizon_end; NULL when
--                             no contact was sent in the horizon
-- Parameters: $cutoff, $horizon_end.
WITH prior_year AS (
    SELECT DISTINCT customer_id
    FROM orders
    WHERE NOT is_return AND ts >= $cutoff - INTERVAL 365 DAY AND ts < $cutoff
),
horizon_orders AS (
    SELECT
        customer_id,
        count(DISTINCT order_id) FILTER (WHERE NOT is_return) AS orders_horizon,
        CAST(sum(CAST(amount AS DECIMAL(18, 4))) AS DOUBLE) AS spend_horizon
    FROM orders
    WHERE ts >= $cutoff AND ts < $horizon_end
    GROUP BY customer_id
),
horizon_contacts AS (
    SELECT
        customer_id,
        count(*) AS contacts,
        count(*) FILTER (WHERE responded_ts < $horizon_end) AS responses
    FROM contacts
    WHERE sent_ts >= $cutoff AND sent_ts < $horizon_end AND NOT is_control
    GROUP BY customer_id
)
SELECT
    p.customer_id,
    a.customer_id IS NOT NULL AS is_active,
    CASE WHEN a.customer_id IS NOT NULL THEN coalesce(h.orders_horizon, 0) = 0 END AS churned,
    coalesce(h.orders_horizon, 0) AS orders_horizon,
    coalesce(h.spend_horizon, 0) AS spend_horizon,
    coalesce(c.contacts, 0) AS campaign_contacts_horizon,
    CASE WHEN c.contacts > 0 THEN c.responses > 0 END AS campaign_responded
FROM {{ ref('population') }} AS p
LEFT JOIN prior_year AS a USING (customer_id)
LEFT JOIN horizon_orders AS h USING (customer_id)
LEFT JOIN horizon_contacts AS c USING (customer_id)
