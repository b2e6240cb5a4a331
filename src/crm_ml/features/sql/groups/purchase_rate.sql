-- Group purchase_rate: how often the customer buys while active, and how many orders that
-- rate would have produced since the last order (a long silence from a frequent buyer says
-- more than the same silence from a rare one).
-- orders_per_day counts orders per day from signup (or the first order if earlier) to the
-- cutoff. repeat_orders_per_day looks only at the active stretch, first to last order, so
-- the silence since does not dilute it; it is shrunk towards the population's typical gap
-- (empirical Bayes: one pseudo-order over the median gap of customers with repeat orders),
-- so a customer with one or two orders gets a sensible rate rather than none or an extreme.
-- order_silence_score is the log chance of no order since the last one for a customer still
-- there, averaged over how uncertain that rate is (a Gamma over rates with k = orders + 1
-- pseudo-order and exposure E = active span + typical gap gives k ln(E / (E + g))).
-- Parameters: $cutoff.
WITH per_customer AS (
    SELECT customer_id, count(*) AS n, max(ts) AS last_ts, min(ts) AS first_ts
    FROM {{ ref('order_headers') }}
    WHERE is_purchase
    GROUP BY customer_id
),
prior AS (
    SELECT coalesce(
        median((epoch(last_ts) - epoch(first_ts)) / 86400.0 / (n - 1)) FILTER (WHERE n > 1),
        30.0
    ) AS gap_days
    FROM per_customer
),
rated AS (
    SELECT
        c.customer_id,
        c.n / greatest(
            (epoch($cutoff) - epoch(least(p.signup_ts, c.first_ts))) / 86400.0, 1.0
        ) AS rate,
        c.n AS k,
        (epoch(c.last_ts) - epoch(c.first_ts)) / 86400.0 + prior.gap_days AS exposure,
        (epoch($cutoff) - epoch(c.last_ts)) / 86400.0 AS g
    FROM per_customer AS c
    JOIN {{ ref('population') }} AS p USING (customer_id)
    CROSS JOIN prior
)
SELECT
    p.customer_id,
    r.rate AS orders_per_day,
    r.k / r.exposure AS repeat_orders_per_day,
    r.k / r.exposure * r.g AS expected_orders_since_last_order,
    r.k * ln(r.exposure / (r.exposure + r.g)) AS order_silence_score
FROM {{ ref('population') }} AS p
LEFT JOIN rated AS r USING (customer_id)
