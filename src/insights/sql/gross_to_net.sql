-- Gross to net: the filtered lines (`filtered_lines.sql`: every status), per status: gross
-- merchandise value (quantity * unit_price), discounts, and line revenue. Parameters as in
-- filtered_lines.sql.
WITH filtered_lines AS (
{filtered_lines}
)
SELECT
  f.status,
  SUM(CAST(f.quantity AS DECIMAL(28, 4)) * f.unit_price) AS gross,
  SUM(f.discount) AS discount,
  SUM(f.line_revenue) AS revenue
FROM filtered_lines f
GROUP BY f.status
