-- (kept_order.sql: an order that a filter without a category keeps, over `f`, a row of agg_order
-- or of agg_payment (for the payment's order): a sale (kpis.md, "Terms"), at least one loaded
-- line, and `order_filter.sql`; parameters as in filtered_lines.sql)
f.is_sale
  AND f.line_count > 0
  AND {order_filter}
