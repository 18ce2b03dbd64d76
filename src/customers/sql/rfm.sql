-- RFM (customers.md): every customer with an order on or before the as-of day, with recency,
-- frequency, monetary, their NTILE(5) scores and segment.
-- Parameters: $1 as-of day (date key YYYYMMDD), $2 the same day as a date.
WITH per_customer AS (
  SELECT customer_key, MAX(order_date) AS last_day, COUNT(*) AS frequency, SUM(revenue) AS monetary
  FROM revenue_orders
  WHERE date_key <= $1
  GROUP BY customer_key
),
named AS (
  SELECT
    c.customer_id,
    c.customer_name,
    CAST(CAST($2 AS DATE) AS INT) - CAST(p.last_day AS INT) AS recency_days,
    p.frequency,
    p.monetary
  FROM per_customer p
  JOIN dim_customer c ON c.customer_key = p.customer_key
),
scored AS (
  SELECT
    customer_id, customer_name, recency_days, frequency, monetary,
    NTILE(5) OVER (ORDER BY recency_days DESC, customer_id ASC) AS r_score,
    NTILE(5) OVER (ORDER BY frequency ASC, customer_id ASC) AS f_score,
    NTILE(5) OVER (ORDER BY monetary ASC, customer_id ASC) AS m_score
  FROM named
)
SELECT
  customer_id, customer_name, recency_days, frequency, monetary, r_score, f_score, m_score,
  CASE
    WHEN r_score <= 2 AND f_score <= 2 THEN 'Hibernating'
    WHEN r_score <= 2 AND f_score <= 4 THEN 'At risk'
    WHEN r_score <= 2 THEN 'Can''t lose them'
    WHEN r_score = 3 AND f_score <= 2 THEN 'About to sleep'
    WHEN r_score = 3 AND f_score = 3 THEN 'Need attention'
    WHEN r_score <= 4 AND f_score >= 4 THEN 'Loyal'
    WHEN r_score = 4 AND f_score = 1 THEN 'Promising'
    WHEN r_score = 5 AND f_score = 1 THEN 'New'
    WHEN f_score <= 3 THEN 'Potential loyalists'
    ELSE 'Champions'
  END AS segment
FROM scored
ORDER BY customer_id
