-- agg_payment (derived): every payment of fact_payment with what the payment-method KPI asks of
-- its order (its status, its line count, its payment methods as in agg_order.sql), so that the
-- payments of the orders a filter keeps are found without joining them to those orders, and
-- whether it is the first payment of its order by its method. A filter keeps all of an order's
-- payments or none, so the KPI's orders per method are a plain sum of that mark. The import runs
-- this per month over the month's facts, computing the mark in one pass rather than by this
-- window's sort; a warehouse written before it existed reads it as a view.
SELECT
  *,
  CASE WHEN ROW_NUMBER() OVER (PARTITION BY date_key, order_key, method_key ORDER BY payment_seq) = 1
       THEN 1 ELSE 0 END AS first_of_method
FROM (
{agg_payment_rows}
) r
ORDER BY date_key, order_key, payment_seq
