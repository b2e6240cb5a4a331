-- Population: the customers who exist at the cutoff (signed up strictly before it).
-- Parameters: $cutoff (TIMESTAMPTZ). Output: one row per customer.
SELECT customer_id, signup_ts
FROM customers
WHERE signup_ts < $cutoff
