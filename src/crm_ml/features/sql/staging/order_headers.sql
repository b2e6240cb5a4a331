-- Staging: one row per order placed before the cutoff, rolled up from its order lines.
-- A return is a line with is_return (its amount is negative); an order made only of return
-- lines is a return, not a purchase. Amounts are kept positive: purchase and returned value.
-- Amounts are summed as DECIMAL(18, 4) (money to 1/100 of a cent): the sums are exact, so
-- every feature built on them is the same whatever the row order or thread count (a DOUBLE
-- sum changes in its last bits, and a tree model can split differently on that).
-- Parameters: $cutoff. Output (order_id is the grouping key only, to keep the table small):
-- customer_id, ts, purchase_amount, returned_amount, purchase_lines, purchase_items,
-- is_purchase, channel.
SELECT
    customer_id,
    min(ts) AS ts,
    CAST(coalesce(sum(CAST(amount AS DECIMAL(18, 4))) FILTER (WHERE NOT is_return), 0)
        AS DECIMAL(18, 4)) AS purchase_amount,
    CAST(coalesce(-sum(CAST(amount AS DECIMAL(18, 4))) FILTER (WHERE is_return), 0)
        AS DECIMAL(18, 4)) AS returned_amount,
    count(*) FILTER (WHERE NOT is_return) AS purchase_lines,
    sum(quantity) FILTER (WHERE NOT is_return) AS purchase_items,
    count(*) FILTER (WHERE NOT is_return) > 0 AS is_purchase,
    min(channel) AS channel
FROM orders
WHERE ts < $cutoff
GROUP BY customer_id, order_id
