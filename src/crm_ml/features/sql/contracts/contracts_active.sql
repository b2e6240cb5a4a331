-- Spine of the contract table: every subscription active at the cutoff (started before it,
-- not ended before it), with its holder and its position in its renewal cycle.
-- Point in time: the export's status, renewal_ts and an end_ts after the cutoff are values
-- of the export date, so they are never read here; the next renewal is derived from the
-- start and the term (start + k x term months; month to month: every month). A contract's
-- terms (product, term, seats) are taken as fixed for its life: a new plan is a new row.
-- The holder is the account of the customer (B2B) or the customer.
-- Parameters: $cutoff.
WITH active AS (
    SELECT
        s.subscription_id,
        s.customer_id,
        coalesce(c.account_id, s.customer_id) AS holder_id,
        s.product_id,
        s.start_ts,
        s.term_months,
        coalesce(s.term_months, 1) AS cycle_months,
        s.seats,
        s.recurring_amount,
        date_diff('month', s.start_ts, $cutoff)
        - CASE
            WHEN s.start_ts + to_months(date_diff('month', s.start_ts, $cutoff)) > $cutoff
            THEN 1 ELSE 0
        END AS months_elapsed
    FROM subscriptions AS s
    JOIN customers AS c USING (customer_id)
    WHERE s.start_ts < $cutoff AND (s.end_ts IS NULL OR s.end_ts >= $cutoff)
)
SELECT
    *,
    months_elapsed // cycle_months AS renewals_done,
    start_ts + to_months(CAST((months_elapsed // cycle_months + 1) * cycle_months AS INTEGER))
        AS next_renewal_ts
FROM active
