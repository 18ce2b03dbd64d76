-- Gross to net: the filtered lines (`filtered_lines.sql`: every status), per kind: a sale's lines
-- (kpis.md, "Terms"), or the status of an order that is not one: gross sales (quantity *
-- unit_price, the tax inside taken out), discounts (the line's and its share of the order's), and
-- line revenue. The returns refunded in the range come from `revenue_returns`. Parameters as in
-- filtered_lines.sql.
WITH filtered_lines AS (
{filtered_lines}
)
SELECT
  CASE WHEN f.is_sale THEN 'sale' ELSE f.status END AS status,
  SUM(f.gross_sales) AS gross,
  SUM(f.discounts) AS discount,
  SUM(f.line_revenue) AS revenue
FROM filtered_lines f
GROUP BY 1
