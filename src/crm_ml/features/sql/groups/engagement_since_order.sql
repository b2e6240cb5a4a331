-- Group engagement_since_order: is the customer still browsing since the last purchase?
-- Engagement of a customer who has quietly left fades, so silence since the last order is
-- compared with the customer's own background rate before it. Events in the hour before an
-- order are browsing that led to it and do not count towards the background rate. The
-- silence score is the log likelihood ratio "still engaged at the usual rate" against
-- "engagement fading since the last order with time constant $fade_days days":
--   -r g + S / fade + r fade (1 - exp(-g / fade)), with r the background events per day
-- before the last order, g the days since it and S the summed days from the last order to
-- each later event. The rate uses the whole history from signup to the last order (at least
-- a week): engagement before the last order is that of a customer still there.
-- Parameters: $cutoff, $fade_days.
-- event_activity holds the counts relative to the last order and the background events
-- (those that did not lead an order).
WITH rated AS (
    SELECT
        l.customer_id,
        (epoch($cutoff) - epoch(l.last_order_ts)) / 86400.0 AS g,
        coalesce(c.events_after_last_order, 0) AS events_after,
        coalesce(c.visits_after_last_order, 0) AS visits_after,
        coalesce(c.days_after_last_order_sum, 0) AS days_after_sum,
        coalesce(c.background_before_last_order, 0) / greatest(
            (epoch(l.last_order_ts) - epoch(least(p.signup_ts, l.last_order_ts))) / 86400.0,
            7.0
        ) AS rate
    FROM {{ ref('last_order') }} AS l
    JOIN {{ ref('population') }} AS p USING (customer_id)
    LEFT JOIN {{ ref('event_activity') }} AS c USING (customer_id)
)
SELECT
    p.customer_id,
    r.events_after AS events_since_last_order,
    r.visits_after AS visits_since_last_order,
    r.rate AS background_events_per_day,
    r.rate * r.g AS expected_events_since_last_order,
    -r.rate * r.g + r.days_after_sum / $fade_days
        + r.rate * $fade_days * (1 - exp(-r.g / $fade_days)) AS engagement_silence_score
FROM {{ ref('population') }} AS p
LEFT JOIN rated AS r USING (customer_id)
