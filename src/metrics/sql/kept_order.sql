-- (kept_order.sql: an order that a filter without a category keeps, over `f`, a row of agg_order
-- or of agg_payment (for the payment's order): a revenue status, at least one loaded line, and
-- `order_filter.sql`; parameters as in filtered_lines.sql)
f.status IN ({revenue_statuses})
  AND f.line_count > 0
  AND {order_filter}
