-- order frequency: customers by their number of revenue orders, in buckets 1, 2, 3, 4, 5+,
-- each with its share of customers, and the repeat-customer rate (kpis.md).
WITH per_customer AS (
  SELECT customer_key, orders AS n
  FROM revenue_customers
),
buckets (bucket, label) AS (
  VALUES (1, '1'), (2, '2'), (3, '3'), (4, '4'), (5, '5+')
),
per_bucket AS (
  SELECT LEAST(n, 5) AS bucket, COUNT(*) AS customers
  FROM per_customer
  GROUP BY LEAST(n, 5)
),
counted AS (
  SELECT b.bucket, b.label, COALESCE(pb.customers, 0) AS customers
  FROM buckets b
  LEFT JOIN per_bucket pb ON pb.bucket = b.bucket
)
SELECT
  label AS orders,
  customers,
  COALESCE(CAST(customers AS DOUBLE) / NULLIF(CAST(SUM(customers) OVER () AS DOUBLE), 0), 0) AS share,
  COALESCE(CAST(SUM(CASE WHEN bucket >= 2 THEN customers ELSE 0 END) OVER () AS DOUBLE)
           / NULLIF(CAST(SUM(customers) OVER () AS DOUBLE), 0), 0) AS repeat_customer_rate
FROM counted
ORDER BY bucket
