-- The revenue lines a KPI request keeps (kpis.md, "Terms"): order lines of revenue orders,
-- restricted by the filter. Every other KPI query reads this as the table `revenue_lines`.
-- Parameters: $1 first day, $2 last day (both included), $3 category, $4 country,
-- $5 payment method; a NULL text parameter keeps everything.
SELECT
  f.order_key,
  f.customer_key,
  f.product_key,
  d.date AS order_date,
  d.month_start,
  f.quantity,
  f.line_revenue
FROM fact_order_line f
JOIN dim_date d ON d.date_key = f.date_key
JOIN dim_product p ON p.product_key = f.product_key
JOIN dim_customer c ON c.customer_key = f.customer_key
WHERE f.status IN ('processing', 'shipped', 'delivered')
  AND d.date BETWEEN $1 AND $2
  AND ($3 IS NULL OR p.category = $3)
  AND ($4 IS NULL OR c.country = $4)
  AND ($5 IS NULL OR f.order_key IN (
        SELECT pay.order_key
        FROM fact_payment pay
        JOIN dim_payment_method m ON m.method_key = pay.method_key
        WHERE m.method = $5))
