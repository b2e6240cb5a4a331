-- Group campaign_responses: responses to contacts, counted only when the response happened
-- before the cutoff. The rate is responses / contacts sent in the last 365 days.
-- Parameters: $cutoff.
WITH per_customer AS (
    SELECT
        customer_id,
        max(responded_ts) FILTER (WHERE responded_ts < $cutoff) AS last_response_ts,
        count(*) FILTER (WHERE sent_ts >= $cutoff - INTERVAL 365 DAY) AS contacts_365d,
        count(*) FILTER (
            WHERE sent_ts >= $cutoff - INTERVAL 365 DAY AND responded_ts < $cutoff
        ) AS responses_365d
    FROM contacts
    WHERE sent_ts < $cutoff AND NOT is_control
    GROUP BY customer_id
)
SELECT
    p.customer_id,
    coalesce(c.responses_365d, 0) AS campaign_responses_365d,
    CAST(c.responses_365d AS DOUBLE) / nullif(c.contacts_365d, 0) AS campaign_response_rate_365d,
    (epoch($cutoff) - epoch(c.last_response_ts)) / 86400.0 AS days_since_last_response
FROM {{ ref('population') }} AS p
LEFT JOIN per_customer AS c USING (customer_id)
