-- the books (kpis.md): gross sales, discounts, returns, net sales, shipping, taxes, duties, total
-- sales and returned units, each on the day of its sale or refund. Gross sales and discounts are
-- the kept orders' (of the kept lines under a category or product filter); shipping, taxes and duties follow
-- the order-level filters and are none under a category or product filter (revenue_orders.sql), where a
-- refund's shipping and tax drop out of revenue_returns too.
WITH sales AS (
  SELECT
    COALESCE(SUM(gross_sales), 0) AS gross_sales,
    COALESCE(SUM(discounts), 0) AS discounts,
    COALESCE(SUM(revenue), 0) AS revenue,
    SUM(shipping) AS shipping,
    SUM(tax) AS tax,
    SUM(duties) AS duties,
    COUNT(*) AS orders
  FROM revenue_orders
),
returned AS (
  SELECT
    COALESCE(SUM(amount), 0) AS returns,
    COALESCE(SUM(shipping), 0) AS shipping,
    COALESCE(SUM(tax), 0) AS tax,
    COALESCE(SUM(CAST(quantity AS BIGINT)), 0) AS units
  FROM revenue_returns
)
SELECT
  s.gross_sales,
  s.discounts,
  r.returns,
  s.revenue - r.returns AS net_sales,
  CASE WHEN $1 THEN NULL ELSE COALESCE(s.shipping, 0) - r.shipping END AS shipping,
  CASE WHEN $1 THEN NULL ELSE COALESCE(s.tax, 0) - r.tax END AS taxes,
  CASE WHEN $1 THEN NULL ELSE COALESCE(s.duties, 0) END AS duties,
  CASE WHEN $1 THEN NULL
       ELSE s.revenue - r.returns + COALESCE(s.shipping, 0) - r.shipping + COALESCE(s.tax, 0) - r.tax
            + COALESCE(s.duties, 0) END AS total_sales,
  r.units AS returned_units
FROM sales s
CROSS JOIN returned r
