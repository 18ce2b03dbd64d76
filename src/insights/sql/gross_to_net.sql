-- Gross to net: the filter's order lines of every status (the filter as in revenue_lines.sql,
-- without its status condition), per status: gross merchandise value (quantity * unit_price),
-- discounts, and line revenue. Parameters as in revenue_lines.sql.
SELECT
  f.status,
  SUM(CAST(f.quantity AS DECIMAL(28, 4)) * f.unit_price) AS gross,
  SUM(f.discount) AS discount,
  SUM(f.line_revenue) AS revenue
FROM fact_order_line f
WHERE f.date_key BETWEEN $1 AND $2
  AND ($3 IS NULL OR f.product_key IN (
        SELECT p.product_key FROM dim_product p WHERE p.category = $3))
  AND ($4 IS NULL OR f.customer_key IN (
        SELECT c.customer_key FROM dim_customer c WHERE c.country = $4))
  AND ($5 IS NULL OR f.order_key IN (
        SELECT pay.order_key
        FROM fact_payment pay
        JOIN dim_payment_method m ON m.method_key = pay.method_key
        WHERE m.method = $5))
GROUP BY f.status
