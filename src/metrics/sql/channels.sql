-- sales by channel: per channel its net sales (the line revenue of its sales less its returns in
-- the range), its orders and its share of net sales; by net sales descending, then channel
-- ascending (kpis.md). A channel with only returns in the range is listed too.
WITH sales AS (
  SELECT channel_key, SUM(revenue) AS sales, COUNT(*) AS orders
  FROM revenue_orders
  GROUP BY channel_key
),
returned AS (
  SELECT channel_key, SUM(amount) AS returns
  FROM revenue_returns
  GROUP BY channel_key
),
per_channel AS (
  SELECT
    COALESCE(s.channel_key, r.channel_key) AS channel_key,
    COALESCE(s.sales, 0) - COALESCE(r.returns, 0) AS revenue,
    COALESCE(s.orders, 0) AS orders
  FROM sales s
  FULL OUTER JOIN returned r ON r.channel_key = s.channel_key
)
SELECT
  ch.channel,
  pc.revenue,
  pc.orders,
  COALESCE(CAST(pc.revenue AS DOUBLE) / NULLIF(CAST(SUM(pc.revenue) OVER () AS DOUBLE), 0), 0) AS share
FROM per_channel pc
JOIN dim_channel ch ON ch.channel_key = pc.channel_key
ORDER BY pc.revenue DESC, ch.channel ASC
