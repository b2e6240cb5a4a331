-- Group campaigns_since_order: campaign contacts the customer left unanswered since the
-- last purchase. An answer to a campaign is an order, so every treated contact sent after
-- the last order went unanswered; a customer who usually answers and now ignores several is
-- likely gone. The response rate counts contacts sent in the year before the last order and
-- answered before it. Control-group contacts received nothing and are ignored.
-- Parameters: $cutoff.
WITH per_customer AS (
    SELECT
        c.customer_id,
        count(*) FILTER (WHERE c.sent_ts > l.last_order_ts) AS contacts_after,
        count(*) FILTER (
            WHERE c.sent_ts <= l.last_order_ts AND c.sent_ts >= l.last_order_ts - INTERVAL 365 DAY
        ) AS contacts_before,
        count(*) FILTER (
            WHERE c.sent_ts <= l.last_order_ts AND c.sent_ts >= l.last_order_ts - INTERVAL 365 DAY
                AND c.responded_ts <= l.last_order_ts
        ) AS answered_before
    FROM contacts AS c
    JOIN {{ ref('last_order') }} AS l USING (customer_id)
    WHERE c.sent_ts < $cutoff AND NOT c.is_control
    GROUP BY c.customer_id
)
SELECT
    p.customer_id,
    CASE WHEN l.last_order_ts IS NOT NULL THEN coalesce(c.contacts_after, 0) END
        AS contacts_unanswered_since_last_order,
    CAST(c.answered_before AS DOUBLE) / nullif(c.contacts_before, 0)
        AS response_rate_before_last_order
FROM {{ ref('population') }} AS p
LEFT JOIN {{ ref('last_order') }} AS l USING (customer_id)
LEFT JOIN per_customer AS c USING (customer_id)
