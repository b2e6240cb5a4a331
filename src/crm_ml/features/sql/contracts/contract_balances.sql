-- Group contract_balances: the month-end balances of the contract's product, and of all the
-- holder's products (financial services). A balance stamped month m closes at the end of
-- m, so it is known from the start of m + 1: the balances read here are those of months
-- before the cutoff's month. Changes are logs of ratios (a monthly drift). The contract's
-- own columns count months back from its last balance; the holder's columns count calendar
-- months back from the cutoff's month (k = 1 is the month before it), so a product closed
-- months ago adds nothing to "last month". They pool every balance change of the holder in a
-- month, a large withdrawal (a fall below half of the month before) apart: the mean change
-- per month, the recency-weighted mean and sum (weight 0.8 per month back), and counts of
-- withdrawals and of the holder's closed holdings, plain and recency-weighted.
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
steps AS (
    -- each month's log change of each balance, stamped with its month back from the cutoff
    -- (1 = the month before the cutoff's month); a withdrawal is a fall below half
    SELECT
        customer_id,
        date_diff('month', month, $cutoff) AS k,
        CASE WHEN balance > 0 AND previous > 0 THEN ln(balance / previous) END AS step,
        balance < 0.5 * previous AS is_withdrawal
    FROM (
        SELECT
            customer_id,
            month,
            balance,
            lag(balance) OVER (PARTITION BY customer_id, product_id ORDER BY month) AS previous
        FROM balances
        WHERE month < $cutoff AND month >= $cutoff - INTERVAL 400 DAY
    )
),
holder_months AS (
    SELECT
        customer_id,
        k,
        count(step) FILTER (WHERE NOT is_withdrawal) AS n_steps,
        sum(step) FILTER (WHERE NOT is_withdrawal) AS sum_steps,
        count(*) FILTER (WHERE is_withdrawal) AS withdrawals
    FROM steps
    WHERE k BETWEEN 1 AND 12
    GROUP BY customer_id, k
),
holder_steps AS (
    SELECT
        customer_id,
        sum(sum_steps) FILTER (WHERE k = 1) / nullif(sum(n_steps) FILTER (WHERE k = 1), 0)
            AS holder_step_mean_m1,
        sum(sum_steps) FILTER (WHERE k = 2) / nullif(sum(n_steps) FILTER (WHERE k = 2), 0)
            AS holder_step_mean_m2,
        sum(sum_steps) FILTER (WHERE k = 3) / nullif(sum(n_steps) FILTER (WHERE k = 3), 0)
            AS holder_step_mean_m3,
        sum(sum_steps) FILTER (WHERE k <= 3) / nullif(sum(n_steps) FILTER (WHERE k <= 3), 0)
            AS holder_drift_3m,
        sum(sum_steps) FILTER (WHERE k <= 6) / nullif(sum(n_steps) FILTER (WHERE k <= 6), 0)
            AS holder_drift_6m,
        sum(sum_steps) / nullif(sum(n_steps), 0) AS holder_drift_12m,
        sum(sum_steps * pow(0.8, k - 1)) / nullif(sum(n_steps * pow(0.8, k - 1)), 0)
            AS holder_drift_ew,
        sum(n_steps * pow(0.8, k - 1)) AS holder_steps_ew,
        sum(sum_steps * pow(0.8, k - 1)) AS holder_step_sum_ew,
        sum(withdrawals) FILTER (WHERE k = 1) AS holder_withdrawals_1m,
        sum(withdrawals) FILTER (WHERE k <= 3) AS holder_withdrawals_3m,
        sum(withdrawals) FILTER (WHERE k <= 6) AS holder_withdrawals_6m,
        sum(withdrawals * pow(0.8, k - 1)) AS holder_withdrawals_ew,
        sum(withdrawals) AS holder_balance_drops_12m,
        min(k) FILTER (WHERE withdrawals > 0) AS holder_months_since_drop
    FROM holder_months
    GROUP BY customer_id
),
holder_closures AS (
    -- the holder's holdings (contracts of a customer with balances) closed before the cutoff
    SELECT
        s.customer_id,
        count(*) FILTER (WHERE s.end_ts >= $cutoff - INTERVAL 3 MONTH) AS holder_closures_3m,
        count(*) FILTER (WHERE s.end_ts >= $cutoff - INTERVAL 6 MONTH) AS holder_closures_6m,
        sum(pow(0.8, date_diff('month', s.end_ts, $cutoff) - 1)) AS holder_closures_ew
    FROM subscriptions AS s
    WHERE s.end_ts < $cutoff AND s.end_ts >= $cutoff - INTERVAL 12 MONTH
        AND s.customer_id IN (SELECT customer_id FROM holder_months)
    GROUP BY s.customer_id
),
per_holder AS (
    SELECT customer_id, count(*) AS holder_products_with_balance
    FROM per_holding
    GROUP BY customer_id
)
SELECT
    a.subscription_id,
    h.b1 AS balance_last,
    h.log_change_1m AS balance_log_change_1m,
    h.log_change_prior_1m AS balance_log_change_prior_1m,
    h.log_change_m3 AS balance_log_change_m3,
    h.drift_3m AS balance_drift_3m,
    h.drift_6m AS balance_drift_6m,
    h.drift_12m AS balance_drift_12m,
    h.b1 / nullif(h.mean_6m, 0) AS balance_vs_mean_6m,
    coalesce(h.drops_12m, 0) AS balance_drops_12m,
    st.holder_months_since_drop,
    st.holder_drift_3m,
    st.holder_drift_6m,
    st.holder_drift_12m,
    coalesce(st.holder_balance_drops_12m, 0) AS holder_balance_drops_12m,
    coalesce(g.holder_products_with_balance, 0) AS holder_products_with_balance,
    st.holder_step_mean_m1,
    st.holder_step_mean_m2,
    st.holder_step_mean_m3,
    st.holder_drift_ew,
    coalesce(st.holder_steps_ew, 0) AS holder_steps_ew,
    coalesce(st.holder_step_sum_ew, 0) AS holder_step_sum_ew,
    coalesce(st.holder_withdrawals_1m, 0) AS holder_withdrawals_1m,
    coalesce(st.holder_withdrawals_3m, 0) AS holder_withdrawals_3m,
    coalesce(st.holder_withdrawals_6m, 0) AS holder_withdrawals_6m,
    coalesce(st.holder_withdrawals_ew, 0) AS holder_withdrawals_ew,
    coalesce(c.holder_closures_3m, 0) AS holder_closures_3m,
    coalesce(c.holder_closures_6m, 0) AS holder_closures_6m,
    coalesce(c.holder_closures_ew, 0) AS holder_closures_ew
FROM {{ ref('contracts_active') }} AS a
LEFT JOIN changes AS h USING (customer_id, product_id)
LEFT JOIN per_holder AS g USING (customer_id)
LEFT JOIN holder_steps AS st USING (customer_id)
LEFT JOIN holder_closures AS c USING (customer_id)
