-- Group contract_balances: the month-end balances of the contract's product, and of all the
-- holder's products (financial services). A balance stamped month m closes at the end of
-- m, so it is known from the start of m + 1: the balances read here are those of months
-- before the cutoff's month. Changes are logs of ratios (a monthly drift), averaged over the
-- holder's products for the holder's columns, so a large balance does not outweigh the rest.
-- Parameters: $cutoff.
WITH months AS (
    SELECT
        b.customer_id,
        b.product_id,
        b.balance,
        b.balance < 0.5 * lag(b.balance) OVER w AS is_drop,
        row_number() OVER (PARTITION BY b.customer_id, b.product_id ORDER BY b.month DESC)
            AS back
    FROM balances AS b
    WHERE b.month < $cutoff AND b.month >= $cutoff - INTERVAL 400 DAY
    WINDOW w AS (PARTITION BY b.customer_id, b.product_id ORDER BY b.month)
),
per_holding AS (
    SELECT
        customer_id,
        product_id,
        max(balance) FILTER (WHERE back = 1) AS b1,
        max(balance) FILTER (WHERE back = 2) AS b2,
        max(balance) FILTER (WHERE back = 3) AS b3,
        max(balance) FILTER (WHERE back = 4) AS b4,
        max(balance) FILTER (WHERE back = 7) AS b7,
        max(balance) FILTER (WHERE back = 12) AS b12,
        avg(balance) FILTER (WHERE back <= 6) AS mean_6m,
        count(*) FILTER (WHERE is_drop AND back <= 12) AS drops_12m,
        min(back) FILTER (WHERE is_drop) AS months_since_drop
    FROM months
    WHERE back <= 12
    GROUP BY customer_id, product_id
),
changes AS (
    SELECT
        *,
        CASE WHEN b1 > 0 AND b2 > 0 THEN ln(b1 / b2) END AS log_change_1m,
        CASE WHEN b2 > 0 AND b3 > 0 THEN ln(b2 / b3) END AS log_change_prior_1m,
        CASE WHEN b3 > 0 AND b4 > 0 THEN ln(b3 / b4) END AS log_change_m3,
        CASE WHEN b1 > 0 AND b4 > 0 THEN ln(b1 / b4) / 3 END AS drift_3m,
        CASE WHEN b1 > 0 AND b7 > 0 THEN ln(b1 / b7) / 6 END AS drift_6m,
        CASE WHEN b1 > 0 AND b12 > 0 THEN ln(b1 / b12) / 11 END AS drift_12m
    FROM per_holding
),
per_holder AS (
    SELECT
        customer_id,
        avg(log_change_1m) AS holder_log_change_1m,
        avg(log_change_prior_1m) AS holder_log_change_m2,
        avg(log_change_m3) AS holder_log_change_m3,
        min(months_since_drop) AS holder_months_since_drop,
        avg(drift_3m) AS holder_drift_3m,
        avg(drift_6m) AS holder_drift_6m,
        avg(drift_12m) AS holder_drift_12m,
        sum(drops_12m) AS holder_balance_drops_12m,
        count(*) AS holder_products_with_balance
    FROM changes
    GROUP BY customer_id
)
SELECT
    a.subscription_id,
    h.b1 AS balance_last,
    h.log_change_1m AS balance_log_change_1m,
    h.log_change_prior_1m AS balance_log_change_prior_1m,
    h.drift_3m AS balance_drift_3m,
    h.drift_6m AS balance_drift_6m,
    h.drift_12m AS balance_drift_12m,
    h.b1 / nullif(h.mean_6m, 0) AS balance_vs_mean_6m,
    coalesce(h.drops_12m, 0) AS balance_drops_12m,
    g.holder_log_change_1m,
    g.holder_log_change_m2,
    g.holder_log_change_m3,
    g.holder_months_since_drop,
    g.holder_drift_3m,
    g.holder_drift_6m,
    g.holder_drift_12m,
    coalesce(g.holder_balance_drops_12m, 0) AS holder_balance_drops_12m,
    coalesce(g.holder_products_with_balance, 0) AS holder_products_with_balance
FROM {{ ref('contracts_active') }} AS a
LEFT JOIN changes AS h USING (customer_id, product_id)
LEFT JOIN per_holder AS g USING (customer_id)
