-- RFM (customers.md): every customer with an order on or before the as-of day, with recency,
-- frequency and monetary value (in no order). The NTILE(5) scores and the segments are given in
-- `rfm.rs` (three sorts of integers there, where three unpartitioned windows here took 0.6 s of
-- the 1M-order shop's 1.2 s).
-- Parameters: $1 as-of day (date key YYYYMMDD), $2 the same day as a date.
WITH per_customer AS (
  SELECT customer_key, MAX(order_date) AS last_day, COUNT(*) AS frequency, SUM(revenue) AS monetary
  FROM revenue_orders
  WHERE date_key <= $1
  GROUP BY customer_key
)
SELECT
  c.customer_id,
  c.customer_name,
  CAST(CAST($2 AS DATE) AS INT) - CAST(p.last_day AS INT) AS recency_days,
  p.frequency,
  p.monetary
FROM per_customer p
JOIN dim_customer c ON c.customer_key = p.customer_key
