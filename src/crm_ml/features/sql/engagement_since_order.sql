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
-- Input: population, events, order_headers.
WITH last_order AS (
    SELECT customer_id, max(ts) AS last_order_ts
    FROM order_headers
    WHERE is_purchase
    GROUP BY customer_id
),
-- An event leads an order when a purchase follows it within the hour. Per customer and
-- clock hour, the last purchase in that hour and the first in the next one decide it, so
-- the lookup is an equality join on (customer, hour): no sort of the events table.
purchase_hours AS (
    SELECT
        customer_id,
        hour,
        max(ts) FILTER (WHERE shift = 0) AS last_in_hour,
        min(ts) FILTER (WHERE shift = 1) AS first_in_next_hour
    FROM (
        SELECT customer_id, ts, CAST(floor(epoch(ts) / 3600) AS BIGINT) - shift AS hour, shift
        FROM order_headers, (VALUES (0), (1)) AS shifts(shift)
        WHERE is_purchase
    )
    GROUP BY customer_id, hour
),
tagged AS (
    SELECT
        e.customer_id,
        e.ts,
        e.event_type,
        l.last_order_ts,
        coalesce(o.last_in_hour >= e.ts, false)
            OR coalesce(epoch(o.first_in_next_hour) - epoch(e.ts) <= 3600, false)
            AS leads_an_order
    FROM events AS e
    JOIN last_order AS l USING (customer_id)
    LEFT JOIN purchase_hours AS o
        ON o.customer_id = e.customer_id
        AND o.hour = CAST(floor(epoch(e.ts) / 3600) AS BIGINT)
    WHERE e.ts < $cutoff
),
per_customer AS (
    SELECT
        customer_id,
        any_value(last_order_ts) AS last_order_ts,
        count(*) FILTER (WHERE ts > last_order_ts) AS events_after,
        count(*) FILTER (
            WHERE ts > last_order_ts AND event_type IN ('session', 'app_open')
        ) AS visits_after,
        coalesce(
            sum((epoch(ts) - epoch(last_order_ts)) / 86400.0) FILTER (WHERE ts > last_order_ts),
            0
        ) AS days_after_sum,
        count(*) FILTER (WHERE ts <= last_order_ts AND NOT leads_an_order) AS background_before
    FROM tagged
    GROUP BY customer_id
),
rated AS (
    SELECT
        l.customer_id,
        (epoch($cutoff) - epoch(l.last_order_ts)) / 86400.0 AS g,
        coalesce(c.events_after, 0) AS events_after,
        coalesce(c.visits_after, 0) AS visits_after,
        coalesce(c.days_after_sum, 0) AS days_after_sum,
        coalesce(c.background_before, 0) / greatest(
            (epoch(l.last_order_ts) - epoch(least(p.signup_ts, l.last_order_ts))) / 86400.0,
            7.0
        ) AS rate
    FROM last_order AS l
    JOIN population AS p USING (customer_id)
    LEFT JOIN per_customer AS c USING (customer_id)
)
SELECT
    p.customer_id,
    r.events_after AS events_since_last_order,
    r.visits_after AS visits_since_last_order,
    r.rate AS background_events_per_day,
    r.rate * r.g AS expected_events_since_last_order,
    -r.rate * r.g + r.days_after_sum / $fade_days
        + r.rate * $fade_days * (1 - exp(-r.g / $fade_days)) AS engagement_silence_score
FROM population AS p
LEFT JOIN rated AS r USING (customer_id)
