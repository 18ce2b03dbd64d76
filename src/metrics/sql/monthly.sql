-- monthly trend: per month its net sales (`revenue`: the line revenue of the sales placed in it
-- less the returns refunded in it), the orders and customers of the sales placed in it, their
-- average order value, growth, and the month's books (kpis.md); every month of the span listed
-- (kpis.md, "Ranges and rounding"). A month with returns but no sale counts as a month with data:
-- the span runs over it, so the months add up to the summary.
-- Parameters: $1 first month of the span, $2 last month (first days; NULL: the first or last
-- month with a revenue line or a return), $3 whether a category or product filter is set (shipping, taxes
-- and duties are then none).
WITH per_month AS (
  SELECT
    month_start,
    SUM(revenue) AS sales,
    COUNT(*) AS orders,
    SUM(gross_sales) AS gross_sales,
    SUM(discounts) AS discounts,
    SUM(shipping) AS shipping,
    SUM(tax) AS tax,
    SUM(duties) AS duties
  FROM revenue_orders
  GROUP BY month_start
),
returns_per_month AS (
  SELECT month_start, SUM(amount) AS returns, SUM(shipping) AS shipping, SUM(tax) AS tax
  FROM revenue_returns
  GROUP BY month_start
),
customers_per_month AS (
  SELECT month_start, COUNT(*) AS customers
  FROM (SELECT month_start, customer_key FROM revenue_orders GROUP BY month_start, customer_key) mc
  GROUP BY month_start
),
span AS (
  SELECT COALESCE($1, MIN(month_start)) AS first_month, COALESCE($2, MAX(month_start)) AS last_month
  FROM (SELECT month_start FROM per_month UNION ALL SELECT month_start FROM returns_per_month) m
),
months AS (
  SELECT unnest(generate_series(first_month, last_month, INTERVAL '1 month')) AS month_start
  FROM span
),
filled AS (
  SELECT
    m.month_start,
    COALESCE(p.sales, 0) - COALESCE(r.returns, 0) AS revenue,
    COALESCE(p.sales, 0) AS sales,
    COALESCE(p.orders, 0) AS orders,
    COALESCE(c.customers, 0) AS customers,
    COALESCE(p.gross_sales, 0) AS gross_sales,
    COALESCE(p.discounts, 0) AS discounts,
    COALESCE(r.returns, 0) AS returns,
    COALESCE(p.shipping, 0) - COALESCE(r.shipping, 0) AS shipping,
    COALESCE(p.tax, 0) - COALESCE(r.tax, 0) AS taxes,
    COALESCE(p.duties, 0) AS duties
  FROM months m
  LEFT JOIN per_month p ON p.month_start = m.month_start
  LEFT JOIN returns_per_month r ON r.month_start = m.month_start
  LEFT JOIN customers_per_month c ON c.month_start = m.month_start
)
SELECT
  month_start,
  revenue,
  orders,
  customers,
  CASE WHEN orders = 0 THEN 0 ELSE sales / orders END AS average_order_value,
  CAST(revenue AS DOUBLE)
    / NULLIF(CAST(LAG(revenue) OVER (ORDER BY month_start) AS DOUBLE), 0) - 1 AS growth,
  gross_sales,
  discounts,
  returns,
  CASE WHEN $3 THEN NULL ELSE shipping END AS shipping,
  CASE WHEN $3 THEN NULL ELSE taxes END AS taxes,
  CASE WHEN $3 THEN NULL ELSE duties END AS duties,
  CASE WHEN $3 THEN NULL ELSE revenue + shipping + taxes + duties END AS total_sales
FROM filled
ORDER BY month_start
