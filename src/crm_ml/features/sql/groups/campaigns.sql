-- Group campaigns: marketing contacts sent before the cutoff. Control-group rows
-- (is_control) were never sent, so they are not contacts.
-- Parameters: $cutoff.
WITH per_customer AS (
    SELECT
        customer_id,
        max(sent_ts) AS last_sent_ts,
        count(*) FILTER (WHERE sent_ts >= $cutoff - INTERVAL 90 DAY) AS contacts_90d,
        count(*) FILTER (WHERE sent_ts >= $cutoff - INTERVAL 365 DAY) AS contacts_365d
    FROM contacts
    WHERE sent_ts < $cutoff AND NOT is_control
    GROUP BY customer_id
)
SELECT
    p.customer_id,
    coalesce(c.contacts_90d, 0) AS campaign_contacts_90d,
    coalesce(c.contacts_365d, 0) AS campaign_contacts_365d,
    (epoch($cutoff) - epoch(c.last_sent_ts)) / 86400.0 AS days_since_last_contact
FROM {{ ref('population') }} AS p
LEFT JOIN per_customer AS c USING (customer_id)
