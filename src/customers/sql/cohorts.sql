-- Cohort retention (customers.md): per cohort (month of a customer's first purchase day) and
-- every month from the cohort's to the last month with a revenue line, the cohort's customers
-- active that month and their revenue. Reads `revenue_orders` (the filter's, without dates).
-- Parameters: $1 first cohort month, $2 last cohort month (first days; NULL: unbounded).
WITH per_month AS (
  SELECT customer_key, month_start, SUM(revenue) AS revenue
  FROM revenue_orders
  GROUP BY customer_key, month_start
),
members AS (
  SELECT customer_key, MIN(month_start) AS cohort
  FROM per_month
  GROUP BY customer_key
),
chosen AS (
  SELECT customer_key, cohort
  FROM members
  WHERE ($1 IS NULL OR cohort >= $1) AND ($2 IS NULL OR cohort <= $2)
),
sizes AS (
  SELECT cohort, COUNT(*) AS customers FROM chosen GROUP BY cohort
),
activity AS (
  SELECT c.cohort, p.month_start, COUNT(*) AS active, SUM(p.revenue) AS revenue
  FROM chosen c
  JOIN per_month p ON p.customer_key = c.customer_key
  GROUP BY c.cohort, p.month_start
),
grid AS (
  SELECT s.cohort, s.customers,
         unnest(generate_series(s.cohort, l.last_month, INTERVAL '1 month')) AS month_start
  FROM sizes s
  CROSS JOIN (SELECT MAX(month_start) AS last_month FROM per_month) l
)
SELECT
  g.cohort,
  g.customers,
  g.month_start,
  COALESCE(a.active, 0) AS active,
  COALESCE(a.revenue, 0) AS revenue
FROM grid g
LEFT JOIN activity a ON a.cohort = g.cohort AND a.month_start = g.month_start
ORDER BY g.cohort, g.month_start
