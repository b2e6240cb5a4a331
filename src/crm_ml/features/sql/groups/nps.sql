-- Group nps: the latest Net Promoter Score answer before the cutoff and its change from
-- the answer before it (positive = happier). nps_mean averages every answer before the
-- cutoff: single answers are noisy, the mean says how the customer generally feels.
-- Parameters: $cutoff.
WITH ranked AS (
    SELECT
        customer_id,
        ts,
        nps,
        row_number() OVER (PARTITION BY customer_id ORDER BY ts DESC, nps DESC) AS recency_rank
    FROM surveys
    WHERE ts < $cutoff
),
overall AS (
    SELECT customer_id, avg(nps) AS mean_nps, count(*) AS answers
    FROM ranked
    GROUP BY customer_id
),
per_customer AS (
    SELECT
        customer_id,
        max(nps) FILTER (WHERE recency_rank = 1) AS last_nps,
        max(nps) FILTER (WHERE recency_rank = 2) AS previous_nps,
        max(ts) AS last_survey_ts
    FROM ranked
    WHERE recency_rank <= 2
    GROUP BY customer_id
)
SELECT
    p.customer_id,
    CAST(c.last_nps AS DOUBLE) AS nps_last,
    CAST(c.last_nps - c.previous_nps AS DOUBLE) AS nps_change,
    (epoch($cutoff) - epoch(c.last_survey_ts)) / 86400.0 AS days_since_last_survey,
    CAST(a.mean_nps AS DOUBLE) AS nps_mean,
    coalesce(a.answers, 0) AS nps_answers
FROM {{ ref('population') }} AS p
LEFT JOIN per_customer AS c USING (customer_id)
LEFT JOIN overall AS a USING (customer_id)
