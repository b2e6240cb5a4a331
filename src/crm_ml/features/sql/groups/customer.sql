-- Group customer: how long the customer has been with us.
-- Parameters: $cutoff. Output: customer_id, tenure_days.
SELECT
    customer_id,
    (epoch($cutoff) - epoch(signup_ts)) / 86400.0 AS tenure_days
FROM {{ ref('population') }}
