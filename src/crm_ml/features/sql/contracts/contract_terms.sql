-- Group contract_terms: the contract's own terms and where it stands in its renewal cycle.
-- Parameters: $cutoff.
SELECT
    a.subscription_id,
    (epoch($cutoff) - epoch(a.start_ts)) / 86400.0 AS contract_tenure_days,
    CAST(a.term_months IS NULL AS DOUBLE) AS is_month_to_month,
    coalesce(a.term_months, 0) AS term_months,
    a.renewals_done,
    (epoch(a.next_renewal_ts) - epoch($cutoff)) / 86400.0 AS days_to_renewal,
    a.seats,
    p.price AS list_price
FROM {{ ref('contracts_active') }} AS a
LEFT JOIN products AS p USING (product_id)
