-- (agg_payment_rows.sql: every payment of fact_payment with what the payment-method KPI asks of
-- its order (its status, its line count, its payment methods as in agg_order.sql), in the facts'
-- order. `agg_payment.sql` adds the mark per method over these rows; the import's build computes
-- the same mark in one pass over them (`warehouse::derived`), since an order's payments come
-- together.)
SELECT
  p.date_key,
  p.order_key,
  p.payment_seq,
  p.customer_key,
  p.method_key,
  p.installments,
  p.amount,
  o.status,
  o.line_count,
  m.method_keys,
  o.is_sale,
  o.channel_key
FROM fact_payment p
JOIN fact_order o ON o.date_key = p.date_key AND o.order_key = p.order_key
JOIN order_methods m ON m.date_key = p.date_key AND m.order_key = p.order_key
ORDER BY p.date_key, p.order_key, p.payment_seq
