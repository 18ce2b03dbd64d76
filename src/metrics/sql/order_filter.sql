-- (order_filter.sql: the part of a filter that an order shares with its lines, over `f`, a row of
-- agg_order, agg_line, agg_payment or agg_return: the range, the customer's country, the payment
-- method (a test of the row's own method keys: no join of fact to fact), the sales channel;
-- parameters as in filtered_lines.sql)
f.date_key BETWEEN $1 AND $2
  AND ($4 IS NULL OR f.customer_key IN (
        SELECT c.customer_key FROM dim_customer c WHERE c.country = $4))
  AND ($5 IS NULL OR strpos(f.method_keys, (
        SELECT '|' || CAST(m.method_key AS VARCHAR) || '|'
        FROM dim_payment_method m
        WHERE m.method = $5)) > 0)
  AND ($6 IS NULL OR f.channel_key IN (
        SELECT ch.channel_key FROM dim_channel ch WHERE ch.channel = $6))
