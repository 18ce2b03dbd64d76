-- The revenue orders a KPI request keeps, with the revenue of the lines it keeps (kpis.md: an
-- order counts when it keeps at least one revenue line). The order-level KPIs read this as the
-- table `revenue_orders`, so "distinct orders" is a row count and no query needs COUNT(DISTINCT):
-- every aggregate is a plain GROUP BY, which can spill.
-- Each order carries its main payment method (agg_order.sql), which `explain` credits it to, its
-- channel and codes, and its books: gross sales and discounts (of the lines kept), and its
-- shipping, tax and duties (none under a category or product filter, where an order's are not the
-- category's or the product's: kpis.md, "the books").
-- Parameters as in filtered_lines.sql. Without a category or product filter every line of a kept order is
-- kept, so the order's revenue is agg_order's order_revenue (the sum of all its lines) and the
-- lines need not be read (the orders are filtered by `order_filter.sql`, the part of the filter
-- an order shares with its lines); with one, the kept lines are summed per order.
SELECT
  f.date_key,
  f.order_key,
  f.customer_key,
  d.date AS order_date,
  d.month_start,
  CAST(f.order_revenue AS DECIMAL(28, 4)) AS revenue,
  f.main_method_key,
  f.channel_key,
  f.discount_codes,
  CAST(f.gross_sales AS DECIMAL(28, 4)) AS gross_sales,
  CAST(f.discounts AS DECIMAL(28, 4)) AS discounts,
  CAST(f.shipping AS DECIMAL(28, 4)) AS shipping,
  CAST(f.tax AS DECIMAL(28, 4)) AS tax,
  CAST(f.duties AS DECIMAL(28, 4)) AS duties
-- the filter first, the days after: the semi-joins of the filter then meet the orders alone, whose
-- statistics let the planner hash the smaller side (the customers of a country) rather than the
-- orders with all their columns
FROM (SELECT * FROM agg_order f WHERE $3 IS NULL AND $7 IS NULL AND {kept_order}) f
JOIN dim_date d ON d.date_key = f.date_key
UNION ALL
SELECT
  date_key,
  order_key,
  customer_key,
  order_date,
  month_start,
  CAST(SUM(line_revenue) AS DECIMAL(28, 4)) AS revenue,
  main_method_key,
  channel_key,
  discount_codes,
  CAST(SUM(gross_sales) AS DECIMAL(28, 4)) AS gross_sales,
  CAST(SUM(discounts) AS DECIMAL(28, 4)) AS discounts,
  CAST(NULL AS DECIMAL(28, 4)) AS shipping,
  CAST(NULL AS DECIMAL(28, 4)) AS tax,
  CAST(NULL AS DECIMAL(28, 4)) AS duties
FROM revenue_lines
WHERE ($3 IS NOT NULL OR $7 IS NOT NULL)
GROUP BY date_key, order_key, customer_key, order_date, month_start, main_method_key, channel_key, discount_codes
