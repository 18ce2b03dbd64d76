-- agg_payment (derived): every payment of fact_payment with what the payment-method KPI asks of
-- its order (its status, its line count, its payment methods as in agg_order.sql), so that the
-- payments of the orders a filter keeps are found without joining them to those orders. The
-- import runs this per month over the month's facts; a warehouse written before it existed reads
-- it as a view.
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
  m.method_keys
FROM fact_payment p
JOIN fact_order o ON o.date_key = p.date_key AND o.order_key = p.order_key
JOIN order_methods m ON m.date_key = p.date_key AND m.order_key = p.order_key
ORDER BY p.date_key, p.order_key, p.payment_seq
