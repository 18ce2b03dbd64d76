-- RFM (customers.md): every customer with an order on or before the as-of day, with recency,
-- frequency, monetary, their NTILE(5) scores and segment (in no order: the caller sorts by id).
-- Parameters: $1 as-of day (date key YYYYMMDD), $2 the same day as a date.
WITH per_customer AS (
  SELECT customer_key, MAX(order_date) AS last_day, COUNT(*) AS frequency, SUM(revenue) AS monetary
  FROM revenue_orders
  WHERE date_key <= $1
  GROUP BY customer_key
),
-- the scores are computed on narrow rows (key, id, the three figures): a window without
-- PARTITION BY sorts everything at once, so it must not carry names along
keyed AS (
  SELECT
    p.customer_key,
    arrow_cast(c.customer_id, 'Utf8') AS customer_id,
    CAST(CAST($2 AS DATE) AS INT) - CAST(p.last_day AS INT) AS recency_days,
    p.frequency,
    p.monetary
  FROM per_customer p
  JOIN dim_customer c ON c.customer_key = p.customer_key
),
scored AS (
  SELECT
    customer_key, customer_id, recency_days, frequency, monetary,
    NTILE(5) OVER (ORDER BY recency_days DESC, customer_id ASC) AS r_score,
    NTILE(5) OVER (ORDER BY frequency ASC, customer_id ASC) AS f_score,
    NTILE(5) OVER (ORDER BY monetary ASC, customer_id ASC) AS m_score
  FROM keyed
)
SELECT
  s.customer_id, c.customer_name, s.recency_days, s.frequency, s.monetary, s.r_score, s.f_score, s.m_score,
  CASE
    WHEN s.r_score <= 2 AND s.f_score <= 2 THEN 'Hibernating'
    WHEN s.r_score <= 2 AND s.f_score <= 4 THEN 'At risk'
    WHEN s.r_score <= 2 THEN 'Can''t lose them'
    WHEN s.r_score = 3 AND s.f_score <= 2 THEN 'About to sleep'
    WHEN s.r_score = 3 AND s.f_score = 3 THEN 'Need attention'
    WHEN s.r_score <= 4 AND s.f_score >= 4 THEN 'Loyal'
    WHEN s.r_score = 4 AND s.f_score = 1 THEN 'Promising'
    WHEN s.r_score = 5 AND s.f_score = 1 THEN 'New'
    WHEN s.f_score <= 3 THEN 'Potential loyalists'
    ELSE 'Champions'
  END AS segment
FROM scored s
JOIN dim_customer c ON c.customer_key = s.customer_key
