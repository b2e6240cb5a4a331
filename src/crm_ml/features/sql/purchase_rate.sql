-- Group purchase_rate: how many orders the customer usually places per day of exposure, and
-- how many that rate would have produced since the last order. Exposure runs from signup
-- (the first order when signup is later, as with dirty data) to the cutoff; the rate counts
-- the first order too, so a one-order customer has a rate. A long silence from a frequent
-- buyer says more than the same silence from a rare one.
-- Parameters: $cutoff. Input: population, order_headers.
WITH per_customer AS (
    SELECT customer_id, count(*) AS n, max(ts) AS last_ts, min(ts) AS first_ts
    FROM order_headers
    WHERE is_purchase
    GROUP BY customer_id
),
rated AS (
    SELECT
        c.customer_id,
        c.n / greatest(
            (epoch($cutoff) - epoch(least(p.signup_ts, c.first_ts))) / 86400.0, 1.0
        ) AS rate,
        (epoch($cutoff) - epoch(c.last_ts)) / 86400.0 AS g
    FROM per_customer AS c
    JOIN population AS p USING (customer_id)
)
SELECT
    p.customer_id,
    r.rate AS orders_per_day,
    r.rate * r.g AS expected_orders_since_last_order
FROM population AS p
LEFT JOIN rated AS r USING (customer_id)
