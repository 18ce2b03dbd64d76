-- (order_filter.sql: the part of a filter that an order shares with its lines, over `f`: the
-- range, the customer's country, the payment method; parameters as in filtered_lines.sql)
f.date_key BETWEEN $1 AND $2
  AND ($4 IS NULL OR f.customer_key IN (
        SELECT c.customer_key FROM dim_customer c WHERE c.country = $4))
  AND ($5 IS NULL OR f.order_key IN (
        SELECT pay.order_key
        FROM fact_payment pay
        JOIN dim_payment_method m ON m.method_key = pay.method_key
        WHERE m.method = $5))
