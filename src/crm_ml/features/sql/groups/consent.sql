-- Group consent: the marketing consent flag as it stood at the cutoff.
-- The export holds only the latest flag, so its value is placed in time with
-- consent_updated_ts:
--   * updated before the cutoff      -> the flag already held at the cutoff: use it;
--   * updated at/after the cutoff     -> the earlier value is unknown: NULL (never the
--                                        export's value, which would leak the future);
--   * no update recorded (NULL), and the column exists -> the flag has held since signup;
--   * the column is absent            -> the flag is trusted only when the cutoff is at or
--                                        after the export ($export_as_of), else NULL.
-- Parameters: $cutoff, $export_as_of (NULL if unknown), $consent_ts_recorded (BOOLEAN).
-- Output: customer_id, marketing_consent (1.0 / 0.0 / NULL).
SELECT
    p.customer_id,
    CAST(
        CASE
            WHEN c.consent_updated_ts < $cutoff THEN c.marketing_consent
            WHEN c.consent_updated_ts IS NULL AND $consent_ts_recorded THEN c.marketing_consent
            WHEN NOT $consent_ts_recorded AND $cutoff >= CAST($export_as_of AS TIMESTAMPTZ)
                THEN c.marketing_consent
        END AS DOUBLE
    ) AS marketing_consent
FROM {{ ref('population') }} AS p
JOIN customers AS c USING (customer_id)
