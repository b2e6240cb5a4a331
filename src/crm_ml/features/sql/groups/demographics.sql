-- Group demographics: age at the cutoff from the optional birth year.
-- Parameters: $cutoff. Output: customer_id, age_years.
SELECT
    p.customer_id,
    CAST(year($cutoff) - c.birth_year AS DOUBLE) AS age_years
FROM {{ ref('population') }} AS p
JOIN customers AS c USING (customer_id)
